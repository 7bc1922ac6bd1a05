import type { WorkflowStep } from "cloudflare:workers";
import type { EnvdClient } from "../sandbox/envd-client";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import type { Pool } from "../objects/pool/pool";
import type { Config } from "../core/env";
import type { ArtifactStore } from "../artifacts/store";
import type { ForkParams } from "../protocol/fork-params";
import type { StepRunner } from "./step-runner";
import type { ModelCaller } from "./durable-job";
import type { ForkSandbox } from "./fork-sandbox";
import type { BranchState, ForkBranching } from "./fork-branching";
import type { ForkContinuation } from "./fork-continuation";

/** What a fork's task steps work with once its sandbox is ready. */
export interface ForkContext {
  params: ForkParams;
  config: Config;
  step: WorkflowStep;
  steps: StepRunner;
  orchestrator: DurableObjectStub<Orchestrator>;
  pool: DurableObjectStub<Pool>;
  /** The fork's sandbox: steps that use it run through `sandbox.step` (replaced if lost) and record what they changed. */
  sandbox: ForkSandbox;
  /** A client of the fork's current sandbox, built from the handle its acquire step returned (no control-plane call). */
  envd(): Promise<EnvdClient>;
  /** The ARTIFACTS bucket (patches, files, a kept agent's transcript). */
  store: ArtifactStore;
  /** What a command may want to know about its fork (e.g. to pick a test shard). */
  taskEnv: Record<string, string>;
  /** Branches of this fork, taken at the task's step boundaries (the task tells where it stands). */
  branching: ForkBranching;
  /** The Messages API (the job's model client). */
  callModel: ModelCaller;
  /** A branched fork: where its parent stood (the task continues from there); a continuation: where the fork itself stood. */
  branchState?: BranchState;
  /** Going on in a new instance near the step limit, at the task's boundaries (fork-continuation.ts). */
  continuation: ForkContinuation;
  /** This instance continues the fork (its task's turns so far are its own). */
  continued?: boolean;
}
