import type { WorkflowStep } from "cloudflare:workers";
import type { SandboxSession } from "../sandbox/session";
import type { Orchestrator } from "../durable-objects/orchestrator";
import type { Pool } from "../durable-objects/pool";
import type { Config } from "../env";
import type { ForkParams } from "./fork-params";
import type { StepRunner } from "./step-runner";

/** What a fork's task steps work with once its sandbox is ready. */
export interface ForkContext {
  params: ForkParams;
  config: Config;
  step: WorkflowStep;
  steps: StepRunner;
  orchestrator: DurableObjectStub<Orchestrator>;
  pool: DurableObjectStub<Pool>;
  sandboxId: string;
  /** A client of the fork's sandbox, built from the handle the acquire step returned (no control-plane call). */
  session(): Promise<SandboxSession>;
  /** What a command may want to know about its fork (e.g. to pick a test shard). */
  taskEnv: Record<string, string>;
}
