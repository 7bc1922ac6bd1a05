import { TERMINAL_FORK_STATUSES, TERMINAL_RUN_STATUSES, type BranchRequest, type BranchResponse } from "../../api/runs";
import { loadConfig } from "../../core/env";
import { branchStateKey } from "../../artifacts/store";
import type { LeaseRequest } from "../pool/pool";
import { ConflictError, InvalidInputError, NotFoundError } from "../../core/errors";
import { forkLeaseRequest } from "../../protocol/fork-params";
import { BranchStore, type BranchMark, type ClaimedBranch } from "./branch-store";
import type { ForkOutcome } from "../../runs/fork-outcome";
import { forkInstanceId, workBranch } from "../../protocol/run-ids";
import type { RunContext } from "./run-context";
import type { ForkRow } from "./run-store";
import { resolveModelFor, stepBranchStart, type StepBranchStart } from "./step-branching";

const isTerminalFork = (fork: ForkRow) => (TERMINAL_FORK_STATUSES as readonly string[]).includes(fork.status);

/**
 * A run's branches (POST …/forks/:n/branch; the forks' side is src/workflows/fork-branching.ts):
 * a branch of a running fork waits until that fork claims it at a step boundary, forks its sandbox
 * and reports it forked; a branch of an ended fork whose sandbox was kept is queued at once, each
 * new fork forking the kept sandbox itself. Forks with a branch waiting are told so at every step.
 */
export class RunBranching {
  readonly #run: RunContext;
  readonly #branches: BranchStore;
  /** Forks with a branch waiting to be taken (loaded at start; their step reports say so). */
  readonly #waiting: Set<number>;

  constructor(run: RunContext, sql: SqlStorage) {
    this.#run = run;
    this.#branches = new BranchStore(sql);
    this.#waiting = new Set(this.#branches.waitingParents());
  }

  /** Whether fork n has a branch waiting for it (told at its step starts and ends). */
  waitingFor(n: number): boolean {
    return this.#waiting.has(n);
  }

  /**
   * Whether fork n's step `step` was told a branch waits when it reported its end: a branch still
   * open that was asked for by then (a step without a recorded end was told nothing).
   */
  waitingAfter(n: number, step: string): boolean {
    const endedAt = this.#run.store.stepEndedAt(n, step);
    return endedAt !== undefined && this.#waiting.has(n) && this.#branches.openAskedBy(n, new Date(endedAt).toISOString());
  }

  /** The run's highest fork number (branches add forks after it). */
  lastFork(): number {
    return this.#branches.lastFork();
  }

  /** Branches asked so far. */
  count(): number {
    return this.#branches.count();
  }

  /** Queued forks branched from a running fork: they hold their forked sandbox already. */
  readyForks(): ForkRow[] {
    return this.#branches.forkedAndQueued().flatMap((n) => this.#run.store.fork(n) ?? []);
  }

  /** Adds `count` forks that start from fork n as it is now. An ended run runs again for them. */
  async request(n: number, request: BranchRequest, idempotencyKey?: string): Promise<BranchResponse> {
    const { store } = this.#run;
    const run = this.#run.run();
    const earlier = idempotencyKey ? this.#branches.byKey(idempotencyKey) : undefined;
    if (earlier) {
      const model = request.model !== undefined ? resolveModelFor(request.model) : undefined;
      if (earlier.parent !== n || earlier.count !== request.count || earlier.prompt !== (request.prompt ?? null) || earlier.atStep !== request.atStep || earlier.model !== model) {
        throw new ConflictError("idempotency_key_reused", "This Idempotency-Key was already used with a different branch request.");
      }
      return { runId: run.id, forks: earlier.forks };
    }
    const fork = store.fork(n);
    if (!fork) throw new NotFoundError("fork", `${run.id}/${n}`);
    if (request.prompt !== undefined && !("prompt" in run.request.task)) {
      throw new InvalidInputError("prompt: a commands task has no prompt; its branches run the rest of its commands.", { field: "prompt" });
    }
    const last = this.#branches.lastFork();
    const max = loadConfig(this.#run.env).MAX_FORKS_PER_RUN;
    if (last + request.count > max) throw new InvalidInputError(`count: a run holds at most ${max} forks (MAX_FORKS_PER_RUN; this one has ${last}).`, { field: "count" });
    if (run.status === "cancelled") throw new ConflictError("run_finished", "The run was cancelled.");
    let kept: { turn: number; stateKey: string; sourceLeaseKey?: string } | StepBranchStart | undefined;
    if (request.model !== undefined && request.atStep === undefined) throw new InvalidInputError("model: another model is for a branch at an earlier step (atStep).", { field: "model" });
    // At an earlier step: rebuilt from what fork n stored (its sandbox, running or gone, plays no part).
    if (request.atStep !== undefined) kept = await stepBranchStart(this.#run, fork, { ...request, atStep: request.atStep });
    else if (isTerminalFork(fork)) {
      const outcome = outcomeOf(fork);
      if (!outcome?.kept || Date.parse(outcome.kept.until) <= Date.now()) {
        throw new ConflictError("fork_ended", `Fork ${n} ended (${fork.status}) and its sandbox is not kept: branch a running fork, or start the run with keepSandboxes: true.`);
      }
      kept = { turn: this.#finalTurn(n, outcome), stateKey: branchStateKey(run.id, n, 0), sourceLeaseKey: outcome.kept.leaseKey };
    }
    const added = this.#branches.add(n, request.count, request.prompt, (m) => workBranch(run.id, m, run.request.branchPrefix), new Date().toISOString(), kept, idempotencyKey);
    this.#run.event("fork.branch_requested", n, { branch: added.k, forks: added.forks });
    if (!kept) this.#waiting.add(n);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) await this.#run.setStatus("running");
    await this.#run.afterForkChange();
    await this.#run.armAlarm();
    return { runId: run.id, forks: added.forks };
  }

  /** Fork n at a step boundary takes its waiting branches: their new forks' leases, to fork its sandbox under. */
  claim(n: number, mark: BranchMark): (ClaimedBranch & { leases: LeaseRequest[] })[] {
    const runId = this.#run.run().id;
    return this.#branches.claim(n, mark).map((branch) => ({
      ...branch,
      leases: branch.forks.flatMap((m) => {
        const fork = this.#run.store.fork(m);
        return fork?.status === "branch_wait" ? [forkLeaseRequest(this.#run.forkParams(fork), forkInstanceId(runId, m, 1))] : [];
      }),
    }));
  }

  /** No room for the branch's sandboxes now: the parent takes it again at its next boundary. */
  deferred(k: number): void {
    const branch = this.#branches.get(k);
    if (!branch) return;
    this.#branches.defer(k);
    this.#run.event("fork.branch_deferred", branch.parent, { branch: k, reason: "capacity" });
  }

  /** The branch's sandboxes are forked and its state stored: its forks launch. Idempotent. */
  async forked(k: number, turn: number, stateKey: string): Promise<void> {
    const branch = this.#branches.get(k);
    const forks = this.#branches.forked(k, turn, stateKey);
    if (!branch || forks.length === 0) return;
    this.#taken(branch.parent);
    this.#run.event("fork.branched", branch.parent, { branch: k, turn, forks });
    await this.#run.afterForkChange();
  }

  /** The branch cannot be made (the backend cannot fork, …): its forks fail with that error. */
  async failed(k: number, error: { code: string; message: string }): Promise<void> {
    this.#fail(k, error);
    await this.#run.afterForkChange();
  }

  /**
   * Branches whose parent ended before taking them: from its kept sandbox (keepSandboxes), or
   * failed with `branch_not_taken`.
   */
  settleEndedParents(): void {
    for (const n of [...this.#waiting]) {
      const fork = this.#run.store.fork(n);
      if (fork && !isTerminalFork(fork)) continue;
      this.#waiting.delete(n);
      const outcome = fork ? outcomeOf(fork) : null;
      for (const branch of this.#branches.open(n)) {
        if (outcome?.kept) this.#branches.fromKept(branch.k, this.#finalTurn(n, outcome), branchStateKey(this.#run.run().id, n, 0), outcome.kept.leaseKey);
        else this.#fail(branch.k, { code: "branch_not_taken", message: `Fork ${n} ended (${fork?.status}) before reaching a step boundary, and its sandbox was not kept.` });
      }
    }
  }

  /** An ended fork's position: its model calls, or the commands it ran. */
  #finalTurn(n: number, outcome: ForkOutcome): number {
    return outcome.agent?.turns ?? this.#run.store.commandCount(n);
  }

  /** A fork whose branches were all taken (or failed) is told of none at its step ends. */
  #taken(parent: number): void {
    if (this.#branches.open(parent).length === 0) this.#waiting.delete(parent);
  }

  #fail(k: number, error: { code: string; message: string }): void {
    const branch = this.#branches.get(k);
    const now = new Date().toISOString();
    const forks = this.#branches.fail(k);
    for (const m of forks) {
      if (this.#run.store.finishFork(m, "failed", now, error)) this.#run.event("fork.finished", m, { status: "failed", error });
    }
    if (branch) this.#taken(branch.parent);
    // Sandboxes a lost branch step forked for them (never handed out) go too.
    if (forks.length > 0) this.#run.waitUntil(Promise.all(forks.map((m) => this.#run.releaseLease(m))));
  }
}

function outcomeOf(fork: ForkRow): ForkOutcome | null {
  return fork.outcome ? (JSON.parse(fork.outcome) as ForkOutcome) : null;
}
