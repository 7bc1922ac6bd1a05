import type { NetworkPolicy } from "../api/network-policy";
import type { WorkflowStep, WorkflowStepConfig } from "cloudflare:workers";
import type { PreparedView } from "../api/runs";
import type { LeaseRequest, Pool } from "../objects/pool/pool";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import { fromWireError, unwrap } from "../core/errors";
import { ForkSandbox } from "./fork-sandbox";
import { DurableJob, type JobContext, type JobTracking } from "./durable-job";
import type { JobPlan } from "./job-plan";
import { stepConfig } from "./step-policies";
import type { StepRunner, StepTracker } from "./step-runner";
import { PREPARE_STEP, STEP } from "./steps";
import { POOL_NAME } from "../protocol/events";
import type { StepReport } from "../protocol/step-reports";
import { prepareLeaseKey } from "../protocol/instance-ids";

export interface PrepareParams {
  runId: string;
}

/** What the prepare Workflow gets from the Orchestrator (its `prepare-info` step). */
export interface PrepareInfo {
  repo: string;
  branch: string;
  /** The run's `commit`: the prepared clone starts there. */
  commit?: string;
  templateId: string;
  commands: string[];
  timeoutSeconds: number;
  /** The prepared sandbox's lease. */
  leaseKey: string;
  /** Each fork's lease: its sandbox is forked from the prepared one under it. */
  forks: LeaseRequest[];
  /** The run's outbound network rules, defaults added (runs with `network`): the forks inherit them. */
  network?: NetworkPolicy;
}

/** One round of forking: the leases forked, or why none were (the cap is full; the backend cannot fork). */
interface ForkRound {
  forked: string[];
  full: boolean;
  unsupported: boolean;
}

/** Between fork rounds while the live cap is full. */
const CAPACITY_RETRY_MS = 2_000;

/** The prepare's steps, reported to the run's Orchestrator (as fork 0). */
function prepareTracker(orchestrator: DurableObjectStub<Orchestrator>): StepTracker {
  return {
    stepStarted: async (name, attempt) => orchestrator.prepareStepStarted(name, attempt),
    stepFinished: async (name, report: StepReport) => orchestrator.prepareStepFinished(name, report),
  };
}

/**
 * A run's prepare, once: one sandbox clones the repo and runs the prepare commands, then is forked
 * N ways through the Pool (each child under its fork's lease, within the live cap and the creation
 * rate; rounds wait for capacity), then released. A backend that cannot fork (404/501) makes the
 * run fall back to preparing in each fork. The Orchestrator launches the forks when told.
 */
export class PrepareWorkflow extends DurableJob<PrepareParams, PreparedView> {
  protected tracking({ runId }: PrepareParams): JobTracking {
    return { runId, n: 0, tracker: prepareTracker(this.env.ORCHESTRATOR.getByName(runId)) };
  }

  protected plan(job: JobContext<PrepareParams>): JobPlan<PreparedView> {
    const { runId } = job.params;
    const { config, steps, step, instanceId } = job;
    const orchestrator = job.env.ORCHESTRATOR.getByName(runId);
    const pool = job.env.POOL.getByName(POOL_NAME);
    const control = stepConfig("control", config.RETRY_POLICIES);
    let sandbox: ForkSandbox | undefined;
    const work = async (): Promise<PreparedView> => {
      const info = await steps.run(PREPARE_STEP.info, control, async () => unwrap(await orchestrator.prepareInfo()), { gated: false });
      const prepared = new ForkSandbox({
        params: { runId, n: 0, leaseKey: info.leaseKey, repo: info.repo, baseBranch: info.branch, ...(info.commit ? { commit: info.commit } : {}), workBranch: `forkyard/${runId}/prepare`, template: info.templateId, timeoutSeconds: info.timeoutSeconds, workflow: "prepare", ...(info.network ? { network: info.network } : {}) },
        config,
        step,
        steps,
        pool,
        instanceId,
        taskEnv: { FORKYARD_RUN_ID: runId, FORKYARD_PREPARE: "1" },
      });
      sandbox = prepared;
      const { acquiredAt } = await prepared.acquire();
      steps.setDeadline(acquiredAt + info.timeoutSeconds * 1000, info.timeoutSeconds);
      await prepared.health();
      const { baseSha } = await prepared.clone(info.timeoutSeconds * 1000);
      await prepared.prepare(info.commands, info.timeoutSeconds * 1000);
      const forked = await forkAll(step, steps, pool, prepared.leaseKey, info.forks, control);
      return forked ? { status: "forked", baseSha } : { status: "per_fork", baseSha };
    };
    const finish = async (outcome: PreparedView): Promise<PreparedView> => {
      const leaseKey = sandbox?.leaseKey ?? prepareLeaseKey(runId);
      const released = await steps.run(STEP.releaseSandbox, stepConfig("cleanup", config.RETRY_POLICIES), async () => unwrap(await pool.release(leaseKey)), { gated: false });
      const seconds = released.aliveSeconds + (sandbox?.releasedSeconds ?? 0);
      await steps.run(PREPARE_STEP.done, control, async () => unwrap(await orchestrator.prepared(outcome, seconds)), { gated: false });
      return outcome;
    };
    return { work, failed: (error) => ({ status: "failed", error }), finish };
  }
}

/** Forks the prepared sandbox for every fork, in rounds as capacity allows. False when the backend cannot fork. */
async function forkAll(step: WorkflowStep, steps: StepRunner, pool: DurableObjectStub<Pool>, sourceKey: string, forks: LeaseRequest[], control: WorkflowStepConfig): Promise<boolean> {
  let remaining = forks;
  for (let round = 1; remaining.length > 0; round++) {
    const result = await steps.run(
      PREPARE_STEP.forkSandboxes(round),
      control,
      async (): Promise<ForkRound> => {
        const answer = await pool.forkSandbox(sourceKey, remaining, { partial: true });
        if (answer.ok) return { forked: answer.value.map((c) => c.key), full: false, unsupported: false };
        if (answer.error.code === "rate_limited") return { forked: [], full: true, unsupported: false };
        if (answer.error.code === "fork_unsupported") return { forked: [], full: false, unsupported: true };
        throw fromWireError(answer.error);
      },
      { gated: true, budget: false },
    );
    if (result.unsupported) return false;
    const done = new Set(result.forked);
    remaining = remaining.filter((f) => !done.has(f.key));
    if (result.full && remaining.length > 0) await step.sleep(PREPARE_STEP.waitForCapacity(round), CAPACITY_RETRY_MS);
  }
  return true;
}
