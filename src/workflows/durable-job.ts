import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { ModelTurn } from "../agent/conversation";
import type { ModelRequest } from "../agent/loop";
import { callModel } from "../agent/model-client";
import type { Config, Env } from "../core/env";
import { loadConfig } from "../core/env";
import { runJob, type JobPlan } from "./job-plan";
import { StepRunner, type StepRunnerContext, type StepTracker } from "./step-runner";
import { limitStepResults, StepCounter } from "./step-limits";
import { pinCodeVersion, type JobVersion } from "./code-version-pin";

/** Where a job's steps are reported, and what its log lines and errors call it. */
export type JobTracking = Omit<StepRunnerContext, "heartbeatMs" | "tracker"> & {
  /** Its owner's step reports and heartbeats; none: steps are not reported (a job no object watches). */
  tracker?: StepTracker;
};

/** The Messages API as a job's model calls make it (the one place its client is set up). */
export type ModelCaller = (request: ModelRequest) => Promise<ModelTurn>;

export function modelCaller(config: Config): ModelCaller {
  return (request) => callModel({ apiKey: config.ANTHROPIC_API_KEY ?? "", baseURL: config.ANTHROPIC_BASE_URL }, request);
}

/** What a job's plan works with; `since(v)`: whether its instance's plan includes version v's steps (code-version-pin.ts). */
export interface JobContext<P> extends JobVersion {
  env: Env;
  config: Config;
  params: P;
  instanceId: string;
  step: WorkflowStep;
  /** Its steps, reported to its tracker, with heartbeats while one runs. */
  steps: StepRunner;
  callModel: ModelCaller;
  /** The steps this instance has made so far (the same at this point of every replay): against `limits.steps`. */
  stepsMade(): number;
}

/** Steps nobody is told of: every gate opens. */
const UNTRACKED: StepTracker = {
  stepStarted: async () => ({ proceed: true, budgetSpent: false }),
  stepFinished: async () => undefined,
};

/**
 * The base of Forkyard's Workflows: builds the job's StepRunner on its tracker (heartbeats well
 * within STALE_FORK_SECONDS, so silence means a stuck instance) on the engine's steps with their
 * results' size limit enforced, pins the plan's code version (code-version-pin.ts), runs its plan's work, and then its
 * final report whatever happened — except when the engine interrupted the instance, which is left
 * to replay (job-plan.ts).
 */
export abstract class DurableJob<P, O, R = O> extends WorkflowEntrypoint<Env, P> {
  /** Who the job reports its steps to. */
  protected abstract tracking(params: P): JobTracking;

  protected abstract plan(job: JobContext<P>): JobPlan<O, R>;

  override async run(event: Readonly<WorkflowEvent<P>>, engineStep: WorkflowStep): Promise<R> {
    // Cloudflare's 1 MiB per step result, enforced here too (step-limits.ts): every step passes by it.
    const counter = new StepCounter();
    const step = limitStepResults(engineStep, undefined, counter);
    const config = loadConfig(this.env);
    const params = event.payload;
    const { tracker = UNTRACKED, ...named } = this.tracking(params);
    // The plan the instance started on, whatever build resumes it (deploys do not version running instances).
    const { version, since } = await pinCodeVersion(step, params, config.CODE_VERSION);
    const steps = new StepRunner(step, { ...named, tracker, heartbeatMs: (config.STALE_FORK_SECONDS * 1000) / 3 });
    return runJob(this.plan({ env: this.env, config, params, instanceId: event.instanceId, step, steps, callModel: modelCaller(config), version, since, stepsMade: () => counter.made }));
  }
}
