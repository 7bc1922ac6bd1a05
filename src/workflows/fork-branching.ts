import type { Exchange } from "../agent/conversation";
import { branchStateKey, type ArtifactStore } from "../artifacts/store";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import type { Pool } from "../objects/pool/pool";
import type { Config } from "../core/env";
import { ConflictError, unwrap } from "../core/errors";
import { errorFields, log } from "../observability/log";
import type { BranchMark } from "../objects/orchestrator/branch-store";
import type { ForkParams } from "../protocol/fork-params";
import type { ForkSandbox, JournalEntry } from "./fork-sandbox";
import type { BranchRebuild } from "./branch-rebuild";
import { stepConfig } from "./step-policies";
import type { StepRunner } from "./step-runner";
import { isEngineInterruption } from "../protocol/engine-errors";
import { branchStep, STEP } from "./steps";
import { ForkStepSnapshots, type SnapshotChain } from "./step-snapshots";

/** What a branched fork starts from (stored in R2 under branchStateKey): the parent at the branch point. */
export interface BranchState {
  parent: number;
  /** The parent's model calls (agent) or commands done at the branch point. */
  turn: number;
  /** The parent's base commit: the branched fork's diff and a replacement sandbox's clone start there. */
  baseSha: string;
  /** What the parent did to its workspace, replayed into a replacement should the new fork's sandbox be lost. */
  journal: JournalEntry[];
  /** Agent tasks: the exchanges before the current one, and the current one so far. */
  history?: Exchange[];
  exchange?: Exchange;
  /** A branch at an earlier step (`atStep`): rebuilt in a fresh sandbox (branch-rebuild.ts), not forked. */
  stepRebuild?: BranchRebuild;
  /** An ended fork's state: where it stood at each step boundary it passed (for branches at an earlier step). */
  marks?: BranchMark[];
}

/** A branched fork's starting point; missing only if the run's artifacts were deleted. */
export async function loadBranchState(store: ArtifactStore, key: string): Promise<BranchState> {
  const state = await store.getJson<BranchState>(key);
  if (!state) throw new ConflictError("branch_state_missing", `The state this fork was branched from (${key}) is gone.`);
  return state;
}

/** Where the fork's task stands: what a branch taken now starts from. */
export interface TaskPosition {
  turn: number;
  history?: Exchange[];
  exchange?: Exchange;
}

/** How long a fork waits at a boundary for room for its branches' sandboxes, and how often it asks. */
export const BRANCH_ROOM_WAIT_MS = 60_000;
export const BRANCH_ROOM_POLL_MS = 2_000;
/** The code version from which a fork waits at a boundary for room for its branches (protocol/code-version.ts). */
export const BRANCH_ROOM_VERSION = 4;

export interface ForkBranchingDeps {
  /** The instance's plan includes BRANCH_ROOM_VERSION: it waits at a boundary for room for its branches. */
  waitsForRoom: boolean;
  /** A durable sleep of the instance (a Workflow step). */
  sleep: (name: string, ms: number) => Promise<void>;
  params: ForkParams;
  config: Config;
  steps: StepRunner;
  orchestrator: DurableObjectStub<Orchestrator>;
  pool: DurableObjectStub<Pool>;
  sandbox: ForkSandbox;
  store: ArtifactStore;
}

/**
 * Branches of a running fork (POST …/forks/:n/branch), taken at its step boundaries: before each
 * model call or command and when its task ends. A step's end tells the fork that a branch waits;
 * at the next boundary one step (`branch-at-<boundary>`) claims the waiting branches, forks the
 * sandbox under the new forks' leases, stores where the fork stood (R2) and has the Orchestrator
 * launch them. The fork itself carries on unaffected, even if branching fails.
 */
export class ForkBranching {
  readonly #d: ForkBranchingDeps;
  #position: TaskPosition = { turn: 0 };
  /** Where the fork stood at each boundary it passed (stored with its end state). */
  readonly #marks: BranchMark[] = [];
  /** Runs with `snapshots: "steps"`: a record of each boundary in R2, for branches at earlier steps. */
  readonly snapshots: ForkStepSnapshots;

  constructor(deps: ForkBranchingDeps) {
    this.#d = deps;
    this.snapshots = new ForkStepSnapshots(deps);
  }

  /** The task tells where it stands before each boundary. */
  set position(position: TaskPosition) {
    this.#position = position;
  }

  /** Where the task stood at its last boundary (a budget stop stores it: fork-continuation.ts). */
  get position(): TaskPosition {
    return this.#position;
  }

  /** An agent task (its position holds a conversation). */
  get isAgent(): boolean {
    return this.#position.exchange !== undefined;
  }

  /** What a continuation instance carries over: the boundaries passed, the chain of step snapshots. */
  carried(): { snapshotChain: SnapshotChain; marks: BranchMark[] } {
    return { snapshotChain: this.snapshots.resumeChain, marks: [...this.#marks] };
  }

  /** A continuation instance goes on with what its earlier instance carried. */
  resume(carried: { snapshotChain?: SnapshotChain; marks?: BranchMark[] }): void {
    if (carried.snapshotChain) this.snapshots.resume(carried.snapshotChain);
    this.#marks.push(...(carried.marks ?? []));
  }

  /** A step boundary: takes the waiting branches, if a step since the last boundary was told of any. */
  async at(boundary: string): Promise<void> {
    const { steps, orchestrator, pool, sandbox, store, params: p, config } = this.#d;
    if (boundary !== "end") {
      // A boundary taken again (a continuation instance starts at the one it continued at) replaces its mark.
      if (this.#marks[this.#marks.length - 1]?.tag === boundary) this.#marks.pop();
      this.#marks.push({ tag: boundary, turn: this.#position.turn, journal: sandbox.journalLength });
      await this.snapshots.at(boundary, this.#position);
    }
    if (!(await steps.takeBranchSignal(async (replayed) => unwrap(await orchestrator.branchWaiting(p.n, replayed))))) return;
    const mark: BranchMark = { tag: boundary, turn: this.#position.turn, journal: sandbox.journalLength };
    // No room under the live cap for a branch's sandboxes: the fork waits at this boundary for room
    // (a few seconds at a time, within BRANCH_ROOM_WAIT_MS), then, still without, goes on and takes
    // it at its next boundary (before code version 4, at once).
    const name = branchStep(boundary);
    for (let round = 1; ; round++) {
      const deferred = await this.#take(round === 1 ? name : `${name}-${round}`, mark);
      // Taken: what earlier rounds' reports said (a branch waits) is stale; a later branch is told by the next step.
      if (!deferred) return void (round > 1 && (await steps.takeBranchSignal()));
      if (!this.#d.waitsForRoom || round * BRANCH_ROOM_POLL_MS >= BRANCH_ROOM_WAIT_MS) return;
      await this.#d.sleep(`${name}-room-${round}`, BRANCH_ROOM_POLL_MS);
    }
  }

  /** One `branch-at-…` step: claims the waiting branches and forks them; whether one found no room (deferred). */
  async #take(name: string, mark: BranchMark): Promise<boolean> {
    const { steps, orchestrator, pool, sandbox, store, params: p, config } = this.#d;
    try {
      const taken = await steps.run(
        name,
        stepConfig("cleanup", config.RETRY_POLICIES),
        async () => {
          const claimed = unwrap(await orchestrator.branchClaim(p.n, mark));
          const deferred: number[] = [];
          for (const branch of claimed) {
            const forked = await pool.forkSandbox(sandbox.leaseKey, branch.leases);
            if (!forked.ok) {
              // No room under the live cap now: taken again later.
              if (forked.error.code === "rate_limited") {
                await orchestrator.branchDeferred(branch.k);
                deferred.push(branch.k);
              } else await orchestrator.branchFailed(branch.k, { code: forked.error.code, message: forked.error.message });
              continue;
            }
            // Forks made by an earlier claim whose step was lost hold that boundary's workspace.
            const at = branch.previous && !forked.value.some((c) => c.forkedNow) ? branch.previous : mark;
            const stateKey = branchStateKey(p.runId, p.n, branch.k);
            await store.putJson(stateKey, this.#state(at));
            unwrap(await orchestrator.branchForked(branch.k, at.turn, stateKey));
          }
          return { branches: claimed.map((b) => b.k), deferred };
        },
        { gated: false },
      );
      // A step recorded before code version 4 holds no `deferred`.
      return (taken.deferred?.length ?? 0) > 0;
    } catch (err) {
      if (isEngineInterruption(err)) throw err;
      // Left claimed: taken again at the next boundary, or settled when the fork ends.
      log("warn", "fork.branch_failed", { runId: p.runId, fork: p.n, boundary: mark.tag, ...errorFields(err) });
      return false;
    }
  }

  /** A kept fork's state at its end, for branches of it once it has ended (branch 0). */
  async storeEndState(): Promise<void> {
    const { steps, store, params: p, config, sandbox } = this.#d;
    const mark: BranchMark = { tag: "end", turn: this.#position.turn, journal: sandbox.journalLength };
    await steps.run(STEP.branchState, stepConfig("collect", config.RETRY_POLICIES), async () => {
      await store.putJson(branchStateKey(p.runId, p.n, 0), this.#state(mark));
      return { stored: true };
    }, { gated: false });
  }

  /** Where the fork stood at `mark` (the position now holds at least as much). */
  #state(mark: BranchMark): BranchState {
    const { sandbox, params: p } = this.#d;
    const { history, exchange } = this.#position;
    return {
      parent: p.n,
      turn: mark.turn,
      baseSha: sandbox.baseSha ?? "",
      journal: sandbox.journal(mark.journal),
      ...(history?.length ? { history } : {}),
      ...(exchange ? { exchange: { prompt: exchange.prompt, turns: exchange.turns.slice(0, mark.turn) } } : {}),
      ...(mark.tag === "end" && this.#marks.length > 0 ? { marks: [...this.#marks] } : {}),
    };
  }
}
