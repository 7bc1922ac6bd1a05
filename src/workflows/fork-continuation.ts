import { continuationStateKey, type ArtifactStore } from "../artifacts/store";
import { ConflictError, unwrap } from "../core/errors";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import type { ForkContinuationRef, ForkParams } from "../protocol/fork-params";
import type { JobContext } from "./durable-job";
import type { BranchState, TaskPosition } from "./fork-branching";
import type { ForkSandbox } from "./fork-sandbox";
import type { SnapshotChain } from "./step-snapshots";
import type { BranchMark } from "../objects/orchestrator/branch-store";
import { stepConfig } from "./step-policies";
import { STEP } from "./steps";
import { isMissingRpcMethod } from "../protocol/engine-errors";
import { log } from "../observability/log";

/** The code version that brought continuations (src/protocol/code-version.ts): older runs' forks never continue. */
export const CONTINUATION_VERSION = 2;

/** The code version whose forks store where a budget stop left them (`budget-stop`): older runs' forks are not continued after it. */
export const BUDGET_STOP_VERSION = 3;

/**
 * Where a fork stood when it went on in a new instance: its task's position (as a branch's state:
 * turn, conversation, journal, base commit) and its sandbox — the same one, under the same lease.
 */
export interface ContinuationState extends BranchState {
  leaseKey: string;
  sandboxId: string;
  /** The fork's deadline (ms since the epoch): its time runs from its first sandbox, waits for budget added. */
  deadline: number;
  recoveries: number;
  /** Sandbox seconds of leases released along the way (lost sandboxes). */
  releasedSeconds: number;
  /** Runs with `snapshots: "steps"`: where the chain of step records stood before the boundary it continued at. */
  snapshotChain?: SnapshotChain;
  /**
   * Stored by a budget stop (`budget-stop`): the instance ended and released its sandbox, so the
   * continuation rebuilds it from the journal, and its time runs on for `remainingMs` from its new sandbox.
   */
  rebuild?: { remainingMs: number };
}

/** Thrown by a boundary where the fork went on in `instanceId`: this instance's work ends there, releasing nothing. */
export class ForkContinued extends Error {
  constructor(readonly instanceId: string) {
    super(`The fork goes on in instance ${instanceId}.`);
    this.name = "ForkContinued";
  }
}

export interface ForkContinuationDeps {
  job: JobContext<ForkParams>;
  orchestrator: DurableObjectStub<Orchestrator>;
  store: ArtifactStore;
  sandbox: ForkSandbox;
  /** What the fork's branching carries to the new instance: its step boundaries so far and (snapshots) the chain of step records. */
  carry?: () => { snapshotChain: SnapshotChain; marks: BranchMark[] };
}

/**
 * Cloudflare ends an instance at its `limits.steps` (wrangler.toml), and a long agent loop (maxTurns
 * up to 500, each turn a model step and its tool steps) can need more. At each task boundary
 * (before a model call or a command) a fork whose instance has made FORK_CONTINUE_AFTER_STEPS
 * steps stores where it stands in R2 and, in one step (`continue`), has its Orchestrator point the
 * fork at a new instance `<launch id>-c<k>` and create it (a fixed id: creating it again is
 * harmless). This instance then ends without releasing the sandbox; the new one takes the same
 * lease and goes on from that boundary. Runs that started before continuations (code version 1)
 * never continue: their instances keep the steps they started with.
 */
export class ForkContinuation {
  readonly #d: ForkContinuationDeps;
  /** The run's Orchestrator cannot continue forks (an older version, mid-rollout): this instance carries on. */
  #refused = false;

  constructor(deps: ForkContinuationDeps) {
    this.#d = deps;
  }

  /** A task boundary: goes on in a new instance (throwing ForkContinued) when this one nears its step limit. */
  async at(position: TaskPosition): Promise<void> {
    const { job, orchestrator, store, sandbox } = this.#d;
    const { params: p, config, steps, instanceId } = job;
    if (this.#refused || !job.since(CONTINUATION_VERSION) || job.stepsMade() < config.FORK_CONTINUE_AFTER_STEPS) return;
    const k = (p.continuation?.k ?? 0) + 1;
    const base = p.continuation?.base ?? instanceId;
    const state = this.#state(position);
    const next = await steps.run(STEP.continue, stepConfig("control", config.RETRY_POLICIES), async () => {
      const stateKey = continuationStateKey(p.runId, p.n, k);
      await store.putJson(stateKey, state);
      try {
        return unwrap(await orchestrator.forkContinue(p.n, instanceId, { k, stateKey, base }));
      } catch (err) {
        // An Orchestrator still on a version without continuations (a gradual rollout): carry on here.
        if (isMissingRpcMethod(err)) return { instanceId: null };
        throw err;
      }
    }, { gated: false });
    if (next.instanceId === null) {
      this.#refused = true;
      log("warn", "fork.continue_unsupported", { runId: p.runId, fork: p.n, instanceId, steps: job.stepsMade() });
      return;
    }
    throw new ForkContinued(next.instanceId);
  }

  /**
   * The task stopped for budget and this instance ends (BUDGET_WAIT_SECONDS passed, or a command's
   * gate refused): where the fork stood is stored as its next continuation's state, so a raise of
   * the budget later continues it there in instance `<base>-c<k>` (RunBudget), its sandbox rebuilt.
   * Forks of runs on older versions store nothing (they are not continued). One step, `budget-stop`.
   */
  async stopForBudget(position: TaskPosition): Promise<Omit<ForkContinuationRef, "stateKey"> | undefined> {
    const { job, store } = this.#d;
    const { params: p, config, steps, instanceId } = job;
    if (!job.since(BUDGET_STOP_VERSION)) return undefined;
    const k = (p.continuation?.k ?? 0) + 1;
    const base = p.continuation?.base ?? instanceId;
    const state: ContinuationState = { ...this.#state(position), rebuild: { remainingMs: timeLeftMs(job.steps.remainingMs(), p.timeoutSeconds) } };
    return steps.run(STEP.budgetStop, stepConfig("control", config.RETRY_POLICIES), async () => {
      await store.putJson(continuationStateKey(p.runId, p.n, k), state);
      return { k, base };
    }, { gated: false });
  }

  #state(position: TaskPosition): ContinuationState {
    const { job, sandbox } = this.#d;
    const { history, exchange } = position;
    return {
      parent: job.params.n,
      turn: position.turn,
      baseSha: sandbox.baseSha ?? "",
      journal: sandbox.journal(),
      ...(history?.length ? { history } : {}),
      ...(exchange ? { exchange } : {}),
      leaseKey: sandbox.leaseKey,
      sandboxId: sandbox.sandboxId,
      deadline: Date.now() + job.steps.remainingMs(),
      recoveries: sandbox.recoveries,
      releasedSeconds: sandbox.releasedSeconds,
      ...(this.#d.carry ? this.#d.carry() : {}),
    };
  }
}

/** The fork's time left at a budget stop: none once it passed; all of it before its deadline was known. */
export function timeLeftMs(remainingMs: number, timeoutSeconds: number): number {
  return Number.isFinite(remainingMs) ? Math.max(0, Math.round(remainingMs)) : timeoutSeconds * 1000;
}

/** Where a continuation instance picks up; missing only if the run's artifacts were deleted. */
export async function loadContinuation(store: ArtifactStore, key: string): Promise<ContinuationState> {
  const state = await store.getJson<ContinuationState>(key);
  if (!state) throw new ConflictError("continuation_state_missing", `Where this fork stood when it continued (${key}) is gone.`);
  return state;
}
