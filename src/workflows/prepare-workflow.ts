import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { PreparedView } from "../api/runs";
import type { LeaseRequest, Pool } from "../objects/pool/pool";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import type { Env } from "../core/env";
import { loadConfig } from "../core/env";
import { decodeStepError, fromWireError, unwrap } from "../core/errors";
import { ForkSandbox } from "./fork-sandbox";
import { stepConfig } from "./retry-policies";
import { isEngineInterruption, StepRunner, type StepTracker } from "./step-runner";
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
  templateId: string;
  commands: string[];
  timeoutSeconds: number;
  /** The prepared sandbox's lease. */
  leaseKey: string;
  /** Each fork's lease: its sandbox is forked from the prepared one under it. */
  forks: LeaseRequest[];
}

/** One round of forking: the leases forked, or why none were (the cap is full; the backend cannot fork). */
interface ForkRound {
  forked: string[];
  full: boolean;
  unsupported: boolean;
}

const CONTROL_STEP_TIMEOUT_MS = 2 * 60_000;
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
export class PrepareWorkflow extends WorkflowEntrypoint<Env, PrepareParams> {
  override async run(event: Readonly<WorkflowEvent<PrepareParams>>, step: WorkflowStep): Promise<PreparedView> {
    const { runId } = event.payload;
    const config = loadConfig(this.env);
    const retries = config.RETRY_POLICIES;
    const orchestrator = this.env.ORCHESTRATOR.getByName(runId);
    const pool = this.env.POOL.getByName(POOL_NAME);
    const steps = new StepRunner(step, { runId, n: 0, tracker: prepareTracker(orchestrator), heartbeatMs: (config.STALE_FORK_SECONDS * 1000) / 3 });
    const control = stepConfig("report", retries, CONTROL_STEP_TIMEOUT_MS);
    let outcome: PreparedView;
    let sandbox: ForkSandbox | undefined;
    try {
      const info = await steps.run(PREPARE_STEP.info, control, async () => unwrap(await orchestrator.prepareInfo()), { gated: false });
      sandbox = new ForkSandbox({
        params: { runId, n: 0, leaseKey: info.leaseKey, repo: info.repo, baseBranch: info.branch, workBranch: `forkyard/${runId}/prepare`, template: info.templateId, timeoutSeconds: info.timeoutSeconds, workflow: "prepare" },
        config,
        step,
        steps,
        pool,
        instanceId: event.instanceId,
        taskEnv: { FORKYARD_RUN_ID: runId, FORKYARD_PREPARE: "1" },
      });
      const prepared = sandbox;
      const { acquiredAt } = await prepared.acquire();
      steps.setDeadline(acquiredAt + info.timeoutSeconds * 1000, info.timeoutSeconds);
      await prepared.health();
      const { baseSha } = await prepared.clone(info.timeoutSeconds * 1000);
      await prepared.prepare(info.commands, info.timeoutSeconds * 1000);
      const forked = await this.#forkAll(step, steps, pool, prepared.leaseKey, info.forks, control);
      outcome = forked ? { status: "forked", baseSha } : { status: "per_fork", baseSha };
    } catch (err) {
      if (isEngineInterruption(err)) throw err;
      outcome = { status: "failed", error: decodeStepError(err) };
    }
    const leaseKey = sandbox?.leaseKey ?? prepareLeaseKey(runId);
    const released = await steps.run(STEP.releaseSandbox, stepConfig("cleanup", retries, CONTROL_STEP_TIMEOUT_MS), async () => unwrap(await pool.release(leaseKey)), { gated: false });
    const seconds = released.aliveSeconds + (sandbox?.releasedSeconds ?? 0);
    await steps.run(PREPARE_STEP.done, control, async () => unwrap(await orchestrator.prepared(outcome, seconds)), { gated: false });
    return outcome;
  }

  /** Forks the prepared sandbox for every fork, in rounds as capacity allows. False when the backend cannot fork. */
  async #forkAll(step: WorkflowStep, steps: StepRunner, pool: DurableObjectStub<Pool>, sourceKey: string, forks: LeaseRequest[], control: ReturnType<typeof stepConfig>): Promise<boolean> {
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
}
