import { DurableObject } from "cloudflare:workers";
import type { Exchange, ModelTurn, ToolTurn } from "../../agent/conversation";
import type { ToolCall } from "../../agent/tools";
import { sessionLinks, type SessionStatus, type SessionView, type TranscriptEntry } from "../../api/sessions";
import { loadConfig, type Env } from "../../core/env";
import { asResult, ConflictError, NotFoundError, resultOf, unwrap, type Result } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import { sandboxCostUsd } from "../../core/costs";
import { EventChannel } from "../shared/event-channel";
import { IndexSync } from "../shared/index-sync";
import { InstanceWatch } from "../shared/instance-watch";
import { migrate } from "../shared/migrations";
import { SESSION_MIGRATIONS } from "./schema";
import { SessionLease } from "./session-lease";
import { SessionTurns } from "./session-turns";
import { SessionForks, type ForkAnswer } from "./session-forks";
import { SessionReports } from "./session-reports";
import { deleteSessionState } from "./session-deletion";
import type { DeleteReason } from "../../d1-index/run-tombstones";
import type { SandboxHandle } from "../../sandbox/handle";
import { setupInstanceId } from "../../protocol/session-ids";
import { exportTurns, upsertSessionSummary } from "../../d1-index/session-index";
import type { RebuildPlan, RebuildReport, SetupInfo, SetupOutcome, TurnContinuationRef, TurnOutcome, TurnStart } from "../../protocol/session-job";
import { SessionStore, type SessionRecord } from "./session-store";
import { newSessionRecord, type CreateSessionInput, type ForkedSessionInput } from "./session-record";
import type { StepReport } from "../../protocol/step-reports";
import type { SessionTurnReports, StepGate } from "../../protocol/roles";

/**
 * Session Durable Object, one per session: its record, turns (a queue run in order), transcript,
 * ledger and event log, in SQLite. Each turn runs as its own Workflow instance (the durable agent
 * loop, a step per model and tool call) and reports here (that role: session-reports.ts). The sandbox is held through the Pool
 * under one lease for the session's life: paused after `idleSeconds` with nothing to do (not
 * billed, files kept), resumed by the next turn's first step. An alarm pauses idle sandboxes and
 * reconciles with the running instance (wakes it after a runtime restart, settles one that died).
 */
export class Session extends DurableObject<Env> implements SessionTurnReports {
  readonly #store: SessionStore;
  readonly #events: EventChannel;
  /** The running instance (one at a time: key 0): alarm, heartbeats, wake after a restart. */
  readonly #watch: InstanceWatch;
  readonly #index: IndexSync;
  readonly #lease: SessionLease;
  readonly #turns: SessionTurns;
  readonly #forks: SessionForks;
  readonly #reports: SessionReports;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, SESSION_MIGRATIONS);
    this.#store = new SessionStore(ctx.storage.sql);
    this.#events = new EventChannel(ctx.storage.sql, "session");
    this.#watch = new InstanceWatch(ctx.storage, () => loadConfig(env).RECONCILE_INTERVAL_SECONDS * 1000);
    this.#index = new IndexSync(() => this.#writeIndex(), (err) => log("warn", "session.index_failed", { sessionId: this.#store.record()?.id, ...errorFields(err) }));
    const event = (type: string, turn: number | null, data: Record<string, unknown>) => this.#event(type, turn, data);
    this.#lease = new SessionLease(env, this.#store, event);
    this.#forks = new SessionForks(this.#store, this.#lease, event);
    this.#turns = new SessionTurns({ env, store: this.#store, watch: this.#watch, event, setupFinished: (outcome) => this.setupFinished(outcome), rebuildable: () => this.#lease.rebuildable() });
    this.#reports = new SessionReports({
      store: this.#store,
      watch: this.#watch,
      lease: this.#lease,
      turns: this.#turns,
      forks: this.#forks,
      event,
      afterChange: () => this.#afterChange(),
      spentUsd: (r) => this.#spentUsd(r),
      require: () => this.#require(),
    });
  }

  // ---- API ------------------------------------------------------------------------------------

  create(input: CreateSessionInput): Promise<Result<SessionView>> {
    return asResult(async () => {
      if (this.#store.record()) return this.#view();
      const req = input.request;
      this.#store.save(newSessionRecord(input));
      this.#event("session.created", null, { repo: req.repo, branch: req.branch });
      await this.#turns.launch(setupInstanceId(input.id), { sessionId: input.id, kind: "setup" });
      await this.#afterChange();
      return this.#view();
    });
  }

  /** Sets up a fork of another session: its history, and the sandbox forked for it (already leased). */
  createFork(input: ForkedSessionInput): Promise<Result<SessionView>> {
    return asResult(async () => {
      if (this.#store.record()) return this.#view();
      this.#store.importHistory(input.history);
      this.#store.save(input.record);
      this.#event("session.created", null, { parent: input.record.parent ?? null });
      await this.#afterChange();
      return this.#view();
    });
  }

  view(): SessionView | null {
    return this.#store.record() ? this.#view() : null;
  }

  /** Its work against the base (GET …/patch, …/pick): session-work.ts. */
  work(): Promise<Result<{ session: SessionView; work: NonNullable<SessionRecord["work"]> | null }>> {
    return asResult(async () => (this.#require(), { work: await this.#lease.work(), session: this.#view() }));
  }

  transcript(after: number, limit: number): Result<TranscriptEntry[]> {
    return resultOf(() => (this.#require(), this.#store.transcript(after, limit)));
  }

  /** Queues a turn; it runs when the turns before it have ended (429 `queue_full` past SESSION_QUEUE_LIMIT). */
  send(prompt: string, model?: string): Promise<Result<{ turn: number }>> {
    return asResult(async () => {
      this.#require();
      const turn = this.#turns.enqueue(prompt, model);
      await this.#afterChange();
      return { turn };
    });
  }

  /** Removes message n while it is still queued (404 unknown, 409 `turn_not_queued` once it started). */
  removeMessage(n: number): Promise<Result<SessionView>> {
    return asResult(async () => {
      this.#require();
      this.#turns.remove(n);
      await this.#afterChange();
      return this.#view();
    });
  }

  update(change: { title?: string; budgetUsd?: number }): Promise<Result<SessionView>> {
    return asResult(async () => {
      this.#require();
      this.#store.update((r) => {
        if (change.title !== undefined) r.title = change.title;
        if (change.budgetUsd !== undefined) r.budgetUsd = change.budgetUsd;
      });
      const running = this.#store.runningTurn();
      // A turn waiting for budget continues.
      if (change.budgetUsd !== undefined && running?.instance_id) await this.#turns.wake(running.instance_id, { budgetUsd: change.budgetUsd });
      await this.#afterChange();
      return this.#view();
    });
  }

  /** Pauses the sandbox now (nothing is billed while paused); refused while a turn runs. */
  pause(): Promise<Result<SessionView>> {
    return asResult(async () => {
      const r = this.#require();
      if (this.#store.runningTurn()) throw new ConflictError("turn_running", "A turn is running; cancel it or wait for it to end before pausing.");
      if (r.status === "setting_up" || r.status === "failed" || r.status === "destroyed") throw new ConflictError(`session_${r.status}`, `The session is ${r.status}.`, { status: r.status });
      await this.#lease.pause();
      await this.#afterChange();
      return this.#view();
    });
  }

  /**
   * Stops the turn under way: the running one at its next step, or, while none runs (the session is
   * set up), the first queued one, the turn the session gets ready for, before it starts. The
   * messages queued behind it stay queued. 409 `nothing_to_cancel` when no turn runs or is queued.
   */
  cancel(): Promise<Result<SessionView>> {
    return asResult(async () => {
      const r = this.#require();
      const running = this.#store.runningTurn();
      if (running) {
        this.#store.update((rec) => (rec.cancelling = running.n));
        // A turn waiting for budget has no next step until it is woken: its resume step then sees the cancel.
        if (running.instance_id) await this.#turns.wake(running.instance_id, { cancelled: true });
        return this.#view();
      }
      const next = this.#store.nextQueued();
      if (!next) throw new ConflictError("nothing_to_cancel", `No turn is running or queued (the session is ${r.status}).`, { status: r.status });
      this.#turns.cancelQueued(next.n);
      await this.#afterChange();
      return this.#view();
    });
  }

  /** Kills the sandbox; the transcript stays readable. Idempotent. */
  destroy(): Promise<Result<SessionView>> {
    return asResult(async () => {
      const r = this.#require();
      if (r.status === "destroyed") return this.#view();
      const now = Date.now();
      const running = this.#store.runningTurn();
      const ended = { code: "session_destroyed", message: "The session was destroyed." };
      this.#store.update((rec) => {
        rec.status = "destroyed";
        rec.sandboxMs = this.#store.sandboxMs(rec, now);
        rec.runningSince = null;
        rec.sandboxState = rec.sandboxId ? "gone" : null;
      });
      if (running) {
        this.#store.finishTurn(running.n, "cancelled", new Date(now).toISOString(), { error: ended });
        if (running.instance_id) await this.#turns.instance(running.instance_id).then((i) => i.terminate()).catch(() => undefined);
      }
      this.#store.dropQueued("cancelled", new Date(now).toISOString(), ended);
      this.#forks.drop(ended);
      if (r.status === "setting_up") await this.#turns.instance(setupInstanceId(r.id)).then((i) => i.terminate()).catch(() => undefined);
      await this.#lease.serial(async () => unwrap(await this.#lease.pool().release(r.leaseKey)));
      await this.#lease.dropWorkspace();
      this.#event("session.destroyed", null, {});
      await this.#afterChange();
      this.#events.closeAll();
      return this.#view();
    });
  }

  /** Deletes the session for good (destroyed first when needed; refused while a turn runs or is queued): session-deletion.ts. */
  deleteState(id: string, reason: DeleteReason): Promise<Result<{ wiped: boolean; tombstoned: boolean }>> {
    const deps = { ctx: this.ctx, db: this.env.DB, store: this.#store, index: this.#index, events: this.#events, destroy: () => this.destroy() };
    return asResult(() => deleteSessionState(deps, id, reason));
  }

  /**
   * Forks the session `count` ways: each new session has the history, a copy of the workspace (E2B's
   * sandbox fork, through the Pool), its own work branch, a distinct title and its budget (by
   * default an even share of what is left of this one's). Independent afterwards. While a turn
   * runs, they are made at its next step boundary (session-forks.ts).
   */
  fork(count: number, options: { title?: string; budgetUsd?: number | number[] } = {}): Promise<Result<ForkAnswer>> {
    return asResult(async () => {
      const r = this.#require();
      if (r.status === "setting_up" || r.status === "failed" || r.status === "destroyed" || !r.sandboxId) {
        throw new ConflictError("session_not_forkable", `A session that is ${r.status} cannot be forked.`, { status: r.status });
      }
      return this.#forks.request(r, count, this.#spentUsd(r), options);
    });
  }

  // ---- From the session's Workflow instances (session-reports.ts) ----------------------------

  setupInfo(): Result<SetupInfo> {
    return this.#reports.setupInfo();
  }
  setupFinished(outcome: SetupOutcome): Promise<Result<void>> {
    return this.#reports.setupFinished(outcome);
  }
  beginTurn(n: number, instanceId: string): Promise<Result<TurnStart>> {
    return this.#reports.beginTurn(n, instanceId);
  }
  rebuildDuringTurn(n: number, step: string): Promise<Result<RebuildPlan>> {
    return this.#reports.rebuildDuringTurn(n, step);
  }
  continueTurn(n: number, from: string, next: TurnContinuationRef): Promise<Result<{ instanceId: string }>> {
    return this.#reports.continueTurn(n, from, next);
  }
  restoreSnapshot(handle: SandboxHandle): Promise<Result<{ files: number; deleted: number; verified: boolean }>> {
    return this.#reports.restoreSnapshot(handle);
  }
  rebuilt(report: RebuildReport): Promise<Result<SandboxHandle>> {
    return this.#reports.rebuilt(report);
  }
  branchSwitched(): void {
    return this.#reports.branchSwitched();
  }
  history(n: number): Result<Exchange[]> {
    return this.#reports.history(n);
  }
  stepStarted(turn: number, name: string, attempt: number): { proceed: boolean; budgetSpent: boolean } {
    return this.#reports.stepStarted(turn, name, attempt);
  }
  turnAlive(turn?: number): StepGate | void {
    return this.#reports.turnAlive(turn);
  }
  stepFinished(turn: number, name: string, report: StepReport): { branch?: boolean } {
    return this.#reports.stepFinished(turn, name, report);
  }
  forkAtBoundary(n: number): Promise<{ sessions: string[]; lost?: true }> {
    return this.#reports.forkAtBoundary(n);
  }
  reserveModelCall(turn: number, key: string, expectedUsd: number, call?: { maxTokens: number; inputTokensEstimate: number }): Result<void> {
    return this.#reports.reserveModelCall(turn, key, expectedUsd, call);
  }
  releaseReservation(key: string): void {
    return this.#reports.releaseReservation(key);
  }
  recordModelCall(turn: number, k: number, key: string, model: ModelTurn, usd: number): void {
    return this.#reports.recordModelCall(turn, k, key, model, usd);
  }
  recordToolCall(turn: number, k: number, index: number, call: ToolCall & { id: string }, result: ToolTurn): void {
    return this.#reports.recordToolCall(turn, k, index, call, result);
  }
  awaitBudget(turn: number): Promise<Result<void>> {
    return this.#reports.awaitBudget(turn);
  }
  resumeForTurn(turn: number): Promise<Result<SandboxHandle>> {
    return this.#reports.resumeForTurn(turn);
  }
  turnFinished(outcome: TurnOutcome): Promise<Result<void>> {
    return this.#reports.turnFinished(outcome);
  }

  // ---- Alarm: idle pause and reconciliation ---------------------------------------------------

  override async alarm(): Promise<void> {
    const r = this.#store.record();
    if (!r || r.status === "destroyed" || r.status === "failed") return;
    try {
      const { restarted, reconcile } = this.#watch.tick();
      if (reconcile) await this.#turns.reconcile(restarted);
      const now = Date.now();
      const current = this.#store.record()!;
      if (current.status === "idle" && current.sandboxState === "running" && current.idleSince !== null && now >= current.idleSince + current.idleSeconds * 1000) {
        await this.#lease.pause();
      }
      await this.#afterChange();
    } catch (err) {
      log("warn", "session.alarm_failed", { sessionId: r.id, ...errorFields(err) });
      await this.ctx.storage.setAlarm(Date.now() + 5_000);
    }
  }

  // ---- Internals ------------------------------------------------------------------------------

  /** Starts the next queued turn when nothing runs, settles the status, indexes it, arms the alarm. */
  async #afterChange(): Promise<void> {
    let r = this.#require();
    const before = r.status;
    if (r.status === "failed") this.#forks.drop({ code: "session_failed", message: "The session failed before it could be forked." });
    if (r.status !== "failed" && r.status !== "destroyed" && r.status !== "setting_up") {
      // New sessions asked for during a turn that has ended: made before the next turn starts.
      if (!this.#store.runningTurn() && this.#forks.waiting()) await this.#forks.take(this.#store.lastFinishedTurn());
      await this.#turns.startNext(r.id);
      const status: SessionStatus = this.#store.runningTurn() ? "running" : r.sandboxState === "paused" ? "paused" : "idle";
      r = this.#store.update((rec) => {
        rec.status = status;
        rec.idleSince = status === "idle" ? (rec.idleSince ?? Date.now()) : null;
      });
    }
    if (r.status !== before) this.#event("session.status", null, { status: r.status, from: before });
    // The index row changes with the status, the title and the turns (not on every alarm).
    const view = this.#view();
    await this.#index.now(`${view.status}|${view.title}|${view.turns.map((t) => t.status).join(",")}`);
    await this.#armAlarm();
  }

  async #writeIndex(): Promise<void> {
    const ended = this.#store.unexportedTurns();
    await Promise.all([upsertSessionSummary(this.env.DB, this.#view()), exportTurns(this.env.DB, this.#require().id, ended)]);
    this.#store.markExported(ended.map((t) => t.n));
  }

  async #armAlarm(): Promise<void> {
    const r = this.#require();
    if (r.status === "setting_up" || r.status === "running") await this.#watch.armActive();
    else if (r.status === "idle" && r.sandboxState === "running") await this.#watch.armBy((r.idleSince ?? Date.now()) + r.idleSeconds * 1000);
  }

  #spentUsd(r: SessionRecord): number {
    return this.#store.llmUsd() + this.#sandboxUsd(r);
  }

  #sandboxUsd(r: SessionRecord): number {
    return sandboxCostUsd(loadConfig(this.env), this.#store.sandboxMs(r, Date.now()) / 1000, r.sandbox);
  }

  #event(type: string, turn: number | null, data: Record<string, unknown>): void {
    this.#events.emit(type, turn, data);
  }

  #require(): SessionRecord {
    const r = this.#store.record();
    if (!r) throw new NotFoundError("session", "");
    return r;
  }

  #view(): SessionView {
    const r = this.#require();
    return this.#store.view(this.#sandboxUsd(r), sessionLinks(r.id));
  }

  /** GET /events: the session's event log from after Last-Event-ID, then live events until it is destroyed. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const r = this.#store.record();
    if (request.method !== "GET" || url.pathname !== "/events" || !r) return new Response("not found", { status: 404 });
    return this.#events.response(request, r.status !== "destroyed");
  }
}
