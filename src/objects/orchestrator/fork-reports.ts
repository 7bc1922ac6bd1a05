import { TERMINAL_FORK_STATUSES } from "../../api/runs";
import { loadConfig } from "../../core/env";
import { BudgetExceededError, ConflictError, ForkCancelledError } from "../../core/errors";
import { verificationCostKey, sandboxCostUsd } from "../../core/costs";
import { log } from "../../observability/log";
import type { ForkOutcome } from "../../runs/fork-outcome";
import type { StepRecord, StepReport } from "../../protocol/step-reports";
import type { ForkBegun, StepGate } from "../../protocol/roles";
import type { RunBranching } from "./branching";
import type { RunContext } from "./run-context";
import type { StoredForkStatus } from "./run-store";
import type { CostKind } from "../shared/budget-ledger";
import type { ModelCallEstimate } from "../../agent/loop";
import { modelCallStopMessage } from "../../core/budget-message";

/**
 * A gated step's start is written this long after it is reported, in one batch with the others, or
 * with the step's end if that comes first (most steps are shorter): a commit per step, not two.
 */
const START_WRITE_DELAY_MS = 1_000;
/** Sandbox time is booked at step starts and heartbeats, at most this often per fork (a cent's fraction at most). */
const SANDBOX_ACCRUAL_MS = 5_000;

export const isTerminalFork = (status: StoredForkStatus) => (TERMINAL_FORK_STATUSES as readonly string[]).includes(status);

/** An ended fork's kept sandbox (runs with keepSandboxes): its lease, for a session to take over. */
export function keptLease(fork: { n: number; status: StoredForkStatus; outcome: string | null }): { leaseKey: string; until: string } | null {
  if (!isTerminalFork(fork.status)) throw new ConflictError("fork_running", `Fork ${fork.n} has not ended yet (${fork.status}).`);
  const outcome = fork.outcome ? (JSON.parse(fork.outcome) as ForkOutcome) : null;
  return outcome?.kept ?? null;
}

/**
 * The step-report protocol of a run's forks (the Orchestrator's ForkReports role, src/protocol/roles.ts):
 * starts and ends of steps, heartbeats, the budget of model calls, a fork's final outcome. Each
 * report may arrive more than once and is harmless when it does.
 */
export class ForkReporting {
  readonly #run: RunContext;
  readonly #branching: RunBranching;
  /** When each fork's sandbox time was last booked (at most every SANDBOX_ACCRUAL_MS). */
  readonly #accruedAt = new Map<number, number>();
  /** Forks whose last step left them in the Pool's queue (memory only: a new object asks them as usual). */
  readonly #queued = new Set<number>();
  /** Step starts reported but not yet written (see START_WRITE_DELAY_MS): a fork runs one step at a time. */
  readonly #unwrittenStarts = new Map<number, { name: string; attempt: number; at: number }>();
  #startsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(run: RunContext, branching: RunBranching) {
    this.#run = run;
    this.#branching = branching;
  }

  /** Whether fork n's last step left it waiting in the Pool's queue (quiet by design). */
  isQueued(n: number): boolean {
    return this.#queued.has(n);
  }

  /** The budget step: may this fork start? Returns the fork's stable start time. */
  forkBegin(n: number, instanceId: string, step?: StepRecord, withTask?: boolean): ForkBegun {
    const { store } = this.#run;
    const run = this.#run.run();
    const fork = store.fork(n);
    if (!fork || fork.status === "cancelled" || run.status === "cancelled") throw new ForkCancelledError();
    const budget = run.request.budgetUsd;
    if (budget !== undefined && store.ledger.spentUsd() >= budget) {
      throw new BudgetExceededError(`The run's budget of $${budget} is spent.`, { budgetUsd: budget });
    }
    const now = new Date();
    store.markStarted(n, now.toISOString());
    this.#run.watch.heard(n, now.getTime());
    this.#run.event("fork.started", n, { instanceId });
    if (step) this.#recordStepEnd(n, step);
    const startedAt = store.fork(n)?.started_at ?? now.toISOString();
    return { startedAt: Date.parse(startedAt), ...(withTask ? { task: run.request.task } : {}) };
  }

  /**
   * Records a step attempt and books the fork's sandbox time so far. `proceed` is false once the
   * fork or its run was cancelled; `budgetSpent` once the run's budget is (sandbox time included).
   */
  stepStarted(n: number, name: string, attempt: number): StepGate & { branch?: boolean } {
    const { store } = this.#run;
    const run = store.run();
    const fork = store.fork(n);
    if (!run || !fork) return { proceed: false, budgetSpent: false };
    const now = Date.now();
    this.#run.watch.heard(n, now);
    this.#queued.delete(n);
    this.writeStart(n);
    this.#unwrittenStarts.set(n, { name, attempt, at: now });
    this.#startsTimer ??= setTimeout(() => this.writeStarts(), START_WRITE_DELAY_MS);
    return { ...this.#gate(n, now), ...(this.#branching.waitingFor(n) ? { branch: true } : {}) };
  }

  /**
   * A running step's heartbeat: the fork is alive, its sandbox time so far is booked, and the
   * answer tells the step to stop its command now when the fork was cancelled or the budget is spent.
   */
  forkAlive(n: number): StepGate {
    const now = Date.now();
    this.#run.watch.heard(n, now);
    return this.#gate(n, now);
  }

  /** Books fork n's sandbox time (at most every SANDBOX_ACCRUAL_MS); may it go on? */
  #gate(n: number, now: number): StepGate {
    const { store } = this.#run;
    const run = store.run();
    const fork = store.fork(n);
    if (!run || !fork) return { proceed: false, budgetSpent: false };
    if (!isTerminalFork(fork.status) && now - (this.#accruedAt.get(n) ?? 0) >= SANDBOX_ACCRUAL_MS) {
      const usd = sandboxCostUsd(loadConfig(this.#run.env), store.sandboxSeconds(fork, now), run.sandbox);
      if (usd > 0) {
        store.ledger.accrue(store.sandboxCostKey(n), n, "sandbox", usd, new Date(now).toISOString());
        this.#accruedAt.set(n, now);
      }
    }
    const budget = run.request.budgetUsd;
    return {
      proceed: fork.status !== "cancelled" && run.status !== "cancelled",
      budgetSpent: budget !== undefined && store.ledger.spentUsd() >= budget,
    };
  }

  stepFinished(n: number, name: string, report: StepReport): { branch?: boolean } {
    const { store } = this.#run;
    const now = Date.now();
    this.#run.watch.heard(n, now);
    const { findings = [], startedAt, ...step } = report;
    this.writeStart(n);
    // An ungated step's start, or one whose report this object lost (it was restarted meanwhile).
    if (startedAt !== undefined && !store.stepRunning(n, name, step.attempt)) this.#recordStepStart(n, name, step.attempt, startedAt);
    for (const finding of findings) {
      if (finding.kind === "sandbox") {
        store.setSandbox(n, finding.sandboxId, now);
      } else if (finding.kind === "queued") {
        this.#queued.add(n);
        this.#run.event("fork.queued", n, { position: finding.position });
      } else {
        const { index, result } = finding;
        store.saveCommand(n, index, result);
        // The output itself is stored once, with the fork (GET /v1/runs/:id), not in the event log.
        this.#run.event("command.finished", n, { index, command: result.command, exitCode: result.exitCode, durationMs: result.durationMs });
      }
    }
    // A command that exited non-zero ends its fork (command_failed): its step failed, though its body returned.
    const failed = findings.find((f) => f.kind === "command" && f.result.exitCode !== 0);
    const ok = step.ok && !failed;
    const error = step.error ?? (failed?.kind === "command" ? { code: "command_failed", message: `Command exited with code ${failed.result.exitCode}: ${failed.result.command}` } : undefined);
    store.stepFinished(n, name, step.attempt, ok, step.durationMs, now);
    this.#run.event("step.finished", n, { step: name, ...step, ok, ...(error ? { error } : {}) });
    return this.#branching.waitingFor(n) ? { branch: true } : {};
  }

  /** A successful step whose body's own call to this object records it (StepBodyContext.record). */
  #recordStepEnd(n: number, step: StepRecord): void {
    this.stepFinished(n, step.name, { attempt: step.attempt, ok: true, durationMs: Date.now() - step.startedAt, startedAt: step.startedAt });
  }

  /** Writes fork n's reported step start, if it is not written yet. */
  writeStart(n: number): void {
    const start = this.#unwrittenStarts.get(n);
    if (!start) return;
    this.#unwrittenStarts.delete(n);
    this.#recordStepStart(n, start.name, start.attempt, start.at);
  }

  /** Writes every reported step start (steps still running after START_WRITE_DELAY_MS), in one commit. */
  writeStarts(): void {
    if (this.#startsTimer) clearTimeout(this.#startsTimer);
    this.#startsTimer = undefined;
    for (const n of [...this.#unwrittenStarts.keys()]) this.writeStart(n);
  }

  #recordStepStart(n: number, name: string, attempt: number, at: number): void {
    this.#run.store.stepStarted(n, name, attempt, at);
    this.#run.event("step.started", n, { step: name, attempt }, at);
  }

  /**
   * Before each model call: does its expected cost fit the budget? Calls in flight hold a
   * reservation (persisted: a restarted object still counts them), so concurrent forks cannot all
   * spend the last dollar. Throws BudgetExceededError.
   */
  reserveModelCall(n: number, key: string, expectedUsd: number, call?: ModelCallEstimate): void {
    const { ledger } = this.#run.store;
    const budget = this.#run.run().request.budgetUsd;
    if (budget === undefined) return;
    const spent = ledger.spentUsd();
    const now = Date.now();
    if (!ledger.tryReserve(key, n, expectedUsd, budget, spent, now)) {
      const message = modelCallStopMessage({ owner: "run", expectedUsd, call, budgetUsd: budget, spentUsd: spent, reservedUsd: ledger.reservedUsd(now, key) });
      throw new BudgetExceededError(message, { budgetUsd: budget, spentUsd: spent, reservedUsd: expectedUsd, fork: n, ...(call && { maxTokens: call.maxTokens }) });
    }
  }

  /** A model call's real cost, once per key (fork, step, attempt); it settles the reservation. */
  recordModelCost(n: number, key: string, usd: number): void {
    this.#run.addCost(key, n, "llm", usd);
    this.#run.watch.heard(n, Date.now());
  }

  /** The report step: the fork's final outcome (and the step's own record, when given). */
  async forkFinished(outcome: ForkOutcome, step?: StepRecord): Promise<void> {
    this.writeStart(outcome.n);
    if (step) this.#recordStepEnd(outcome.n, step);
    this.applyOutcome(outcome);
    await this.#run.afterForkChange();
  }

  /** Records a cost once per key (a re-run step cannot count twice) and announces it. */
  addCost(key: string, n: number, kind: CostKind, usd: number): void {
    const { ledger } = this.#run.store;
    if (ledger.book(key, n, kind, usd, new Date().toISOString())) this.#run.event("cost.recorded", n, { kind, usd, spentUsd: ledger.spentUsd() });
  }

  /** A fork's final outcome: its results, its sandbox time, its end (once), the run's winner. */
  applyOutcome(outcome: ForkOutcome): void {
    const { store } = this.#run;
    const now = new Date().toISOString();
    store.saveOutcome(outcome);
    store.ledger.releaseOwner(outcome.n);
    this.#run.addCost(store.sandboxCostKey(outcome.n), outcome.n, "sandbox", outcome.costUsd.sandbox);
    if (outcome.costUsd.verification) this.#run.addCost(verificationCostKey(outcome.n), outcome.n, "sandbox", outcome.costUsd.verification);
    if (store.finishFork(outcome.n, outcome.status, now, outcome.error)) {
      this.#run.event("fork.finished", outcome.n, { status: outcome.status, costUsd: outcome.costUsd });
      const stopWhen = this.#run.run().request.stopWhen;
      if (stopWhen === "first_check_pass" && outcome.status === "succeeded" && outcome.check?.passed && store.setWinner(outcome.n)) {
        this.#run.event("run.winner", outcome.n, { stopWhen });
      }
      log("info", "fork.finished", { runId: this.#run.run().id, fork: outcome.n, status: outcome.status, sandboxId: outcome.sandboxId, errorCode: outcome.error?.code });
    }
  }
}
