import type { Exchange, ModelTurn, ToolTurn } from "../../agent/conversation";
import type { ToolCall } from "../../agent/tools";
import { asResult, BudgetExceededError, ConflictError, resultOf, type Result } from "../../core/errors";
import { modelCallStopMessage } from "../../core/budget-message";
import type { InstanceWatch } from "../shared/instance-watch";
import type { SessionLease } from "./session-lease";
import type { SessionTurns } from "./session-turns";
import type { SessionForks } from "./session-forks";
import type { SandboxHandle } from "../../sandbox/handle";
import { sessionSandboxTtl, type RebuildPlan, type RebuildReport, type SetupInfo, type SetupOutcome, type TurnContinuationRef, type TurnOutcome, type TurnStart } from "../../protocol/session-job";
import { turnInstanceId } from "../../protocol/session-ids";
import type { SessionRecord, SessionStore } from "./session-store";
import type { StepReport } from "../../protocol/step-reports";
import type { SessionTurnReports, StepGate } from "../../protocol/roles";

/** A tool.output event carries at most this much of the output (the transcript has it all). */
const EVENT_OUTPUT_CHARS = 2_000;

/** The parts of a Session its workflow callbacks work with. */
export interface SessionReportsDeps {
  store: SessionStore;
  watch: InstanceWatch;
  lease: SessionLease;
  turns: SessionTurns;
  forks: SessionForks;
  event: (type: string, turn: number | null, data: Record<string, unknown>) => void;
  /** Starts the next queued turn, settles the status, indexes, arms the alarm. */
  afterChange: () => Promise<void>;
  spentUsd: (r: SessionRecord) => number;
  require: () => SessionRecord;
}

/**
 * The Session's role towards its Workflow instances (SessionTurnReports): what a setup or a turn
 * asks and reports through RPC inside its steps. The Session object's methods of that role
 * delegate here; its public API stays in session.ts.
 */
export class SessionReports implements SessionTurnReports {
  readonly #d: SessionReportsDeps;

  constructor(deps: SessionReportsDeps) {
    this.#d = deps;
  }

  setupInfo(): Result<SetupInfo> {
    return resultOf(() => {
      const r = this.#d.require();
      return { repo: r.repo, branch: r.branch, workBranch: r.workBranch, templateId: r.sandbox.templateId, leaseKey: r.leaseKey, timeoutSeconds: sessionSandboxTtl(r.idleSeconds) };
    });
  }

  setupFinished(outcome: SetupOutcome): Promise<Result<void>> {
    return asResult(async () => {
      const r = this.#d.require();
      this.#d.watch.heard(0);
      if (r.status !== "setting_up") return;
      if (outcome.ok) {
        this.#d.store.update((rec) => {
          rec.sandboxId = outcome.sandboxId;
          rec.baseSha = outcome.baseSha;
          rec.sandboxState = "running";
          rec.runningSince = Date.now();
          rec.status = "idle";
        });
        this.#d.event("session.ready", null, { sandboxId: outcome.sandboxId });
      } else {
        this.#d.turns.fail(outcome.error);
        await this.#d.lease.pool().release(r.leaseKey);
      }
      await this.#d.afterChange();
    });
  }

  /**
   * A turn's first step: resumes the sandbox if it was paused (through the Pool) and answers what
   * the turn works with. Refused for a turn that is not this session's running one.
   */
  beginTurn(n: number, instanceId: string): Promise<Result<TurnStart>> {
    return asResult(async () => {
      const r = this.#d.require();
      const turn = this.#d.store.turn(n);
      if (!turn || turn.status !== "running" || r.cancelling === n) throw new ConflictError("cancelled", `Turn ${n} is not running.`);
      this.#d.watch.heard(0);
      // A lost sandbox: the turn rebuilds it first (session-lease.ts resumeOrRebuild).
      const resumed = await this.#d.lease.resumeOrRebuild(n);
      // A continuation's instance (near the step limit) goes on with a turn that started: `turn.continued` said so.
      if (instanceId === turnInstanceId(r.id, n)) this.#d.event("turn.started", n, { instanceId, model: turn.model });
      const start: TurnStart = { prompt: turn.prompt, model: turn.model, repo: r.repo, baseBranch: r.branch, workBranch: r.workBranch, system: r.system, handle: "handle" in resumed ? resumed.handle : null, startedAt: Date.parse(turn.started_at ?? new Date().toISOString()) };
      if ("rebuild" in resumed) start.rebuild = resumed.rebuild;
      return r.switchBranch ? { ...start, switchBranch: true } : start;
    });
  }

  continueTurn(n: number, from: string, next: TurnContinuationRef): Promise<Result<{ instanceId: string }>> {
    return asResult(() => this.#d.turns.continueTurn(n, from, next));
  }

  /** Tool step `step` of turn n found the sandbox gone: the plan of its rebuild (session-lease.ts lostDuringTurn). */
  rebuildDuringTurn(n: number, step: string): Promise<Result<RebuildPlan>> {
    return asResult(async () => {
      this.#d.require();
      if (this.#d.store.turn(n)?.status !== "running" || this.#d.store.record()?.cancelling === n) throw new ConflictError("cancelled", `Turn ${n} is not running.`);
      this.#d.watch.heard(0);
      return this.#d.lease.lostDuringTurn(n, step);
    });
  }

  /** A rebuild's snapshot step (the turn's sandbox was lost): the last snapshot laid on its new clone. */
  restoreSnapshot(handle: SandboxHandle): Promise<Result<{ files: number; deleted: number; verified: boolean }>> {
    return asResult(() => this.#d.lease.restoreSnapshot(handle));
  }

  /** A rebuild's last step: the new sandbox is the session's (`session.rebuilt`); answers its handle. */
  rebuilt(report: RebuildReport): Promise<Result<SandboxHandle>> {
    return asResult(() => this.#d.lease.rebuilt(report));
  }

  /** The forked session's workspace is on its own work branch now. */
  branchSwitched(): void {
    if (this.#d.store.record()?.switchBranch) this.#d.store.update((r) => delete r.switchBranch);
  }

  /** The conversation before turn n (ended turns), as the agent loop takes it. */
  history(n: number): Result<Exchange[]> {
    return resultOf(() => this.#d.store.history(n - 1));
  }

  stepStarted(turn: number, name: string, attempt: number): StepGate {
    const r = this.#d.store.record();
    this.#d.watch.heard(0);
    if (!r) return { proceed: false, budgetSpent: false };
    this.#d.event("step.started", turn, { step: name, attempt });
    const gate = this.#gate(turn);
    if (gate.proceed) this.#d.turns.stepRunning(turn, name);
    return gate;
  }

  /**
   * A running step's heartbeat: the turn's instance is alive, however long the step. The answer
   * stops the step's command when turn `turn` was cancelled meanwhile or the budget is spent.
   */
  turnAlive(turn?: number): StepGate | void {
    this.#d.watch.heard(0);
    return turn === undefined ? undefined : this.#gate(turn);
  }

  #gate(turn: number): StepGate {
    const r = this.#d.store.record();
    if (!r) return { proceed: false, budgetSpent: false };
    const running = turn === 0 ? r.status === "setting_up" : this.#d.store.turn(turn)?.status === "running" && r.cancelling !== turn;
    return { proceed: running, budgetSpent: r.budgetUsd !== null && this.#d.spentUsd(r) >= r.budgetUsd };
  }

  /** Answers `branch` when new sessions wait for this turn's next step boundary (forkAtBoundary). */
  stepFinished(turn: number, name: string, report: StepReport): { branch?: boolean } {
    this.#d.watch.heard(0);
    this.#d.turns.stepEnded(turn, name);
    const { attempt, ok, durationMs, error } = report;
    this.#d.event("step.finished", turn, { step: name, attempt, ok, durationMs, ...(error ? { error } : {}) });
    return turn > 0 && this.#d.forks.waiting() ? { branch: true } : {};
  }

  /** A step boundary of running turn n: the new sessions asked for meanwhile are made now (`lost`: the sandbox is gone, rebuild it first). */
  forkAtBoundary(n: number): Promise<{ sessions: string[]; lost?: true }> {
    return this.#d.store.turn(n)?.status === "running" ? this.#d.forks.take(n, true) : Promise.resolve({ sessions: [] });
  }

  /** Admits a model call if its expected cost fits the budget (reserved until recorded or released). */
  reserveModelCall(turn: number, key: string, expectedUsd: number, call?: { maxTokens: number; inputTokensEstimate: number }): Result<void> {
    return resultOf(() => {
      const r = this.#d.require();
      if (r.cancelling === turn) throw new ConflictError("cancelled", `Turn ${turn} was cancelled.`);
      const spent = this.#d.spentUsd(r);
      const now = Date.now();
      if (!this.#d.store.ledger.tryReserve(key, turn, expectedUsd, r.budgetUsd ?? Infinity, spent, now)) {
        const message = modelCallStopMessage({ owner: "session", expectedUsd, call, budgetUsd: r.budgetUsd ?? Infinity, spentUsd: spent, reservedUsd: this.#d.store.ledger.reservedUsd(now, key) });
        throw new BudgetExceededError(message, { budgetUsd: r.budgetUsd });
      }
    });
  }

  releaseReservation(key: string): void {
    this.#d.store.ledger.release(key);
  }

  /** A model call's answer and cost (k-th call of the turn), recorded once per ledger key. */
  recordModelCall(turn: number, k: number, key: string, model: ModelTurn, usd: number): void {
    const now = new Date().toISOString();
    this.#d.store.recordModel(turn, k, model, now);
    this.#d.store.ledger.book(key, turn, "llm", usd, now);
    this.#d.event("cost.recorded", turn, { kind: "llm", usd });
  }

  recordToolCall(turn: number, k: number, index: number, call: ToolCall & { id: string }, result: ToolTurn): void {
    this.#d.store.recordTool(turn, k, index, call, result, new Date().toISOString());
    const output = result.content.length > EVENT_OUTPUT_CHARS ? `${result.content.slice(0, EVENT_OUTPUT_CHARS)}…` : result.content;
    this.#d.event("tool.output", turn, { tool: call.name, input: call.input, output, isError: result.isError });
  }

  /** A turn out of budget waits for a raise with its sandbox paused. */
  awaitBudget(turn: number): Promise<Result<void>> {
    return asResult(async () => {
      this.#d.event("turn.awaiting_budget", turn, { budgetUsd: this.#d.require().budgetUsd });
      await this.#d.lease.pause();
    });
  }

  /** Resumes the sandbox for a turn that waited (for budget); answers its handle. */
  resumeForTurn(turn: number): Promise<Result<SandboxHandle>> {
    return asResult(async () => {
      const r = this.#d.require();
      if (r.cancelling === turn || this.#d.store.turn(turn)?.status !== "running") throw new ConflictError("cancelled", `Turn ${turn} is not running.`);
      return this.#d.lease.resume();
    });
  }

  turnFinished(outcome: TurnOutcome): Promise<Result<void>> {
    return asResult(async () => {
      this.#d.require();
      this.#d.turns.applyOutcome(outcome);
      await this.#d.afterChange();
    });
  }

}
