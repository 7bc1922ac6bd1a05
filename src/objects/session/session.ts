import { DurableObject } from "cloudflare:workers";
import type { Exchange, ModelTurn, ToolTurn } from "../../agent/conversation";
import type { ToolCall } from "../../agent/tools";
import type { RunSandbox } from "../../api/runs";
import { sessionLinks, type CreateSessionRequest, type SessionStatus, type SessionView, type TranscriptEntry } from "../../api/sessions";
import type { Env } from "../../core/env";
import { loadConfig } from "../../core/env";
import { asResult, BudgetExceededError, ConflictError, NotFoundError, resultOf, unwrap, type Result } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import { sandboxCostUsd } from "../../core/costs";
import { EventHub, eventsAfterOf, eventStreamResponse } from "../shared/event-hub";
import { EventLog } from "../shared/event-log";
import type { SandboxHandle } from "../../sandbox/handle";
import { newSessionId, sessionLeaseKey, setupInstanceId, turnInstanceId } from "../../protocol/session-ids";
import { exportTurns, upsertSessionSummary } from "../../d1-index/session-index";
import { sessionSandboxTtl, type SessionJob, type SetupInfo, type SetupOutcome, type TurnOutcome, type TurnStart } from "../../protocol/session-job";
import { SessionStore, type SessionHistory, type SessionRecord } from "./session-store";
import { RESTART_CHECK_MS } from "../shared/instance-watch";
import { BUDGET_RAISED_EVENT, WAKE_EVENT, POOL_NAME } from "../../protocol/events";
import type { StepReport } from "../../protocol/step-reports";

export interface CreateSessionInput {
  id: string;
  /** The request, normalised: repo validated, model resolved. */
  request: CreateSessionRequest & { model: string };
  sandbox: RunSandbox;
  workBranch: string;
}

/** A new session continuing another one (POST …/fork): its history and a copy of its sandbox. */
export interface ForkedSessionInput {
  record: SessionRecord;
  history: SessionHistory;
}

/** A tool.output event carries at most this much of the output (the transcript has it all). */
const EVENT_OUTPUT_CHARS = 2_000;
/** A turn instance not heard from this long is sent a no-op event (a restarted local runtime leaves it idle). */
const STALE_TURN_MS = 60_000;

/**
 * Session Durable Object, one per session: its record, turns (a queue run in order), transcript,
 * ledger and event log, in SQLite. Each turn runs as its own Workflow instance (the durable agent
 * loop, a step per model and tool call) and reports here. The sandbox is held through the Pool
 * under one lease for the session's life: paused after `idleSeconds` with nothing to do (not
 * billed, files kept), resumed by the next turn's first step. An alarm pauses idle sandboxes and
 * reconciles with the running instance (wakes it after a runtime restart, settles one that died).
 */
export class Session extends DurableObject<Env> {
  readonly #store: SessionStore;
  readonly #log: EventLog;
  readonly #events = new EventHub();
  /** Pausing, resuming and forking the sandbox, one at a time. */
  #sandboxOps: Promise<unknown> = Promise.resolve();
  #lastHeard = Date.now();
  /** False until this object's first alarm: a new object may follow a runtime restart, which leaves instances idle. */
  #awake = false;
  #nextReconcileAt = 0;
  /** What the D1 index row was last written with. */
  #indexed = "";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new SessionStore(ctx.storage.sql);
    this.#log = new EventLog(ctx.storage.sql);
  }

  // ---- API ------------------------------------------------------------------------------------

  create(input: CreateSessionInput): Promise<Result<SessionView>> {
    return asResult(async () => {
      if (this.#store.record()) return this.#view();
      const { request: req } = input;
      const now = new Date().toISOString();
      this.#store.save({
        id: input.id,
        title: req.title ?? `Session on ${req.repo.split("/").pop() ?? req.repo}`,
        status: "setting_up",
        repo: req.repo,
        branch: req.branch,
        workBranch: input.workBranch,
        model: req.model,
        system: req.system ?? null,
        idleSeconds: req.idleSeconds,
        budgetUsd: req.budgetUsd ?? null,
        sandbox: input.sandbox,
        leaseKey: sessionLeaseKey(input.id),
        sandboxId: null,
        sandboxState: null,
        sandboxMs: 0,
        runningSince: null,
        idleSince: null,
        baseSha: null,
        createdAt: now,
        updatedAt: now,
      });
      this.#event("session.created", null, { repo: req.repo, branch: req.branch });
      await this.#launch(setupInstanceId(input.id), { sessionId: input.id, kind: "setup" });
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

  transcript(after: number, limit: number): Result<TranscriptEntry[]> {
    return resultOf(() => {
      this.#require();
      return this.#store.transcript(after, limit);
    });
  }

  /** Queues a turn; it runs when the turns before it have ended. */
  send(prompt: string, model?: string): Promise<Result<{ turn: number }>> {
    return asResult(async () => {
      const r = this.#require();
      if (r.status === "failed" || r.status === "destroyed") throw new ConflictError(`session_${r.status}`, `The session is ${r.status}: it takes no more messages.`, { status: r.status });
      if (model && model !== r.model) this.#store.update((rec) => (rec.model = model));
      const turn = this.#store.addTurn(prompt, model ?? r.model, new Date().toISOString());
      this.#event("turn.queued", turn, { queued: this.#store.queuedCount() });
      await this.#afterChange();
      return { turn };
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
      if (change.budgetUsd !== undefined && running?.instance_id) {
        // A turn waiting for budget continues (the event is ignored by one that is not waiting).
        await this.#instance(running.instance_id)
          .then((i) => i.sendEvent({ type: BUDGET_RAISED_EVENT, payload: { budgetUsd: change.budgetUsd } }))
          .catch((err) => log("info", "session.budget_event_skipped", { sessionId: this.#require().id, ...errorFields(err) }));
      }
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
      await this.#pauseSandbox();
      await this.#afterChange();
      return this.#view();
    });
  }

  /** Stops the running turn at its next step; queued messages stay queued. */
  cancel(): Promise<Result<SessionView>> {
    return asResult(async () => {
      this.#require();
      const running = this.#store.runningTurn();
      if (running) this.#store.update((r) => (r.cancelling = running.n));
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
        if (running.instance_id) await this.#instance(running.instance_id).then((i) => i.terminate()).catch(() => undefined);
      }
      this.#store.dropQueued("cancelled", new Date(now).toISOString(), ended);
      if (r.status === "setting_up") await this.#instance(setupInstanceId(r.id)).then((i) => i.terminate()).catch(() => undefined);
      await this.#serial(async () => unwrap(await this.#pool().release(r.leaseKey)));
      this.#event("session.destroyed", null, {});
      await this.#afterChange();
      this.#events.closeAll();
      return this.#view();
    });
  }

  /**
   * Forks the session `count` ways: each new session has the history up to the last ended turn
   * and a copy of the workspace (E2B's sandbox fork, through the Pool). Independent afterwards.
   */
  fork(count: number, title?: string): Promise<Result<SessionView[]>> {
    return asResult(async () => {
      const r = this.#require();
      if (r.status === "setting_up" || r.status === "failed" || r.status === "destroyed" || !r.sandboxId) {
        throw new ConflictError("session_not_forkable", `A session that is ${r.status} cannot be forked.`, { status: r.status });
      }
      const upTo = this.#store.lastFinishedTurn();
      const ids = Array.from({ length: count }, () => newSessionId());
      const ttl = sessionSandboxTtl(r.idleSeconds);
      const leases = ids.map((id) => ({ key: sessionLeaseKey(id), runId: id, fork: 0, template: r.sandbox.templateId, timeoutSeconds: ttl, holder: "session" as const }));
      const forked = await this.#serial(async () => unwrap(await this.#pool().forkSandbox(r.leaseKey, leases)));
      const history = this.#store.exportHistory(upTo);
      const now = new Date().toISOString();
      const views = await Promise.all(
        ids.map(async (id, i) => {
          const record: SessionRecord = {
            ...structuredClone(r),
            id,
            title: title ?? `${r.title} (fork)`,
            status: "idle",
            leaseKey: leases[i]!.key,
            sandboxId: forked[i]!.sandboxId,
            sandboxState: "running",
            sandboxMs: 0,
            runningSince: Date.now(),
            idleSince: Date.now(),
            parent: { sessionId: r.id, turn: upTo },
            createdAt: now,
            updatedAt: now,
          };
          delete record.error;
          delete record.cancelling;
          try {
            return unwrap(await this.env.SESSION.getByName(id).createFork({ record, history }));
          } catch (err) {
            // Its sandbox was forked for a session that does not exist: it must not live on (a
            // session's lease is never reaped for age).
            await this.#pool().release(record.leaseKey);
            throw err;
          }
        }),
      );
      this.#event("session.forked", null, { sessions: ids, turn: upTo });
      return views;
    });
  }

  // ---- From the session's Workflow instances --------------------------------------------------

  setupInfo(): Result<SetupInfo> {
    return resultOf(() => {
      const r = this.#require();
      return { repo: r.repo, branch: r.branch, workBranch: r.workBranch, templateId: r.sandbox.templateId, leaseKey: r.leaseKey, timeoutSeconds: sessionSandboxTtl(r.idleSeconds) };
    });
  }

  setupFinished(outcome: SetupOutcome): Promise<Result<void>> {
    return asResult(async () => {
      const r = this.#require();
      this.#lastHeard = Date.now();
      if (r.status !== "setting_up") return;
      if (outcome.ok) {
        this.#store.update((rec) => {
          rec.sandboxId = outcome.sandboxId;
          rec.baseSha = outcome.baseSha;
          rec.sandboxState = "running";
          rec.runningSince = Date.now();
          rec.status = "idle";
        });
        this.#event("session.ready", null, { sandboxId: outcome.sandboxId });
      } else {
        this.#fail(outcome.error);
        await this.#pool().release(r.leaseKey);
      }
      await this.#afterChange();
    });
  }

  /**
   * A turn's first step: resumes the sandbox if it was paused (through the Pool) and answers what
   * the turn works with. Refused for a turn that is not this session's running one.
   */
  beginTurn(n: number, instanceId: string): Promise<Result<TurnStart>> {
    return asResult(async () => {
      const r = this.#require();
      const turn = this.#store.turn(n);
      if (!turn || turn.status !== "running" || r.cancelling === n) throw new ConflictError("cancelled", `Turn ${n} is not running.`);
      this.#lastHeard = Date.now();
      const handle = await this.#resumeSandbox();
      this.#event("turn.started", n, { instanceId, model: turn.model });
      return { prompt: turn.prompt, model: turn.model, repo: r.repo, baseBranch: r.branch, workBranch: r.workBranch, system: r.system, handle, startedAt: Date.parse(turn.started_at ?? new Date().toISOString()) };
    });
  }

  /** The conversation before turn n (ended turns), as the agent loop takes it. */
  history(n: number): Result<Exchange[]> {
    return resultOf(() => this.#store.history(n - 1));
  }

  stepStarted(turn: number, name: string, attempt: number): { proceed: boolean; budgetSpent: boolean } {
    const r = this.#store.record();
    this.#lastHeard = Date.now();
    if (!r) return { proceed: false, budgetSpent: false };
    this.#event("step.started", turn, { step: name, attempt });
    const running = turn === 0 ? r.status === "setting_up" : this.#store.turn(turn)?.status === "running" && r.cancelling !== turn;
    return { proceed: running, budgetSpent: r.budgetUsd !== null && this.#spentUsd(r) >= r.budgetUsd };
  }

  stepFinished(turn: number, name: string, report: StepReport): void {
    this.#lastHeard = Date.now();
    const { attempt, ok, durationMs, error } = report;
    this.#event("step.finished", turn, { step: name, attempt, ok, durationMs, ...(error ? { error } : {}) });
  }

  /** Admits a model call if its expected cost fits the budget (reserved until recorded or released). */
  reserveModelCall(turn: number, key: string, expectedUsd: number): Result<void> {
    return resultOf(() => {
      const r = this.#require();
      if (r.cancelling === turn) throw new ConflictError("cancelled", `Turn ${turn} was cancelled.`);
      if (r.budgetUsd !== null && this.#spentUsd(r) + this.#store.reservedUsd() + expectedUsd > r.budgetUsd) {
        throw new BudgetExceededError(`The session's budget of $${r.budgetUsd} does not cover the next model call (~$${expectedUsd.toFixed(4)}); raise it with PATCH budgetUsd.`, { budgetUsd: r.budgetUsd });
      }
      this.#store.reserve(key, expectedUsd);
    });
  }

  releaseReservation(key: string): void {
    this.#store.releaseReservation(key);
  }

  /** A model call's answer and cost (k-th call of the turn), recorded once per ledger key. */
  recordModelCall(turn: number, k: number, key: string, model: ModelTurn, usd: number): void {
    const now = new Date().toISOString();
    this.#store.recordModel(turn, k, model, now);
    this.#store.addCost(key, turn, "llm", usd, now);
    this.#event("cost.recorded", turn, { kind: "llm", usd });
  }

  recordToolCall(turn: number, k: number, index: number, call: ToolCall & { id: string }, result: ToolTurn): void {
    this.#store.recordTool(turn, k, index, call, result, new Date().toISOString());
    const output = result.content.length > EVENT_OUTPUT_CHARS ? `${result.content.slice(0, EVENT_OUTPUT_CHARS)}…` : result.content;
    this.#event("tool.output", turn, { tool: call.name, input: call.input, output, isError: result.isError });
  }

  /** A turn out of budget waits for a raise with its sandbox paused. */
  awaitBudget(turn: number): Promise<Result<void>> {
    return asResult(async () => {
      this.#event("turn.awaiting_budget", turn, { budgetUsd: this.#require().budgetUsd });
      await this.#pauseSandbox();
    });
  }

  /** Resumes the sandbox for a turn that waited (for budget); answers its handle. */
  resumeForTurn(turn: number): Promise<Result<SandboxHandle>> {
    return asResult(async () => {
      const r = this.#require();
      if (r.cancelling === turn || this.#store.turn(turn)?.status !== "running") throw new ConflictError("cancelled", `Turn ${turn} is not running.`);
      return this.#resumeSandbox();
    });
  }

  turnFinished(outcome: TurnOutcome): Promise<Result<void>> {
    return asResult(async () => {
      this.#require();
      this.#applyTurnOutcome(outcome);
      await this.#afterChange();
    });
  }

  // ---- Alarm: idle pause and reconciliation ---------------------------------------------------

  override async alarm(): Promise<void> {
    const r = this.#store.record();
    if (!r || r.status === "destroyed" || r.status === "failed") return;
    try {
      const config = loadConfig(this.env);
      if (!this.#awake || Date.now() >= this.#nextReconcileAt) {
        this.#nextReconcileAt = Date.now() + config.RECONCILE_INTERVAL_SECONDS * 1000;
        await this.#reconcile(!this.#awake);
        this.#awake = true;
      }
      const now = Date.now();
      const current = this.#store.record()!;
      if (current.status === "idle" && current.sandboxState === "running" && current.idleSince !== null && now >= current.idleSince + current.idleSeconds * 1000) {
        await this.#pauseSandbox();
      }
      await this.#afterChange();
    } catch (err) {
      log("warn", "session.alarm_failed", { sessionId: r.id, ...errorFields(err) });
      await this.ctx.storage.setAlarm(Date.now() + 5_000);
    }
  }

  /** Settles a running turn (or setup) whose instance ended without reporting; wakes an idle one (at once after a restart). */
  async #reconcile(restarted: boolean): Promise<void> {
    const r = this.#require();
    const running = this.#store.runningTurn();
    const instanceId = r.status === "setting_up" ? setupInstanceId(r.id) : running?.instance_id;
    if (!instanceId) return;
    let instance: WorkflowInstance;
    let status: InstanceStatus;
    try {
      instance = await this.#instance(instanceId);
      status = await instance.status();
    } catch (err) {
      log("info", "session.instance_unknown", { sessionId: r.id, instanceId, ...errorFields(err) });
      return;
    }
    const output = status.output as TurnOutcome | SetupOutcome | undefined;
    if (status.status === "complete" && output?.kind === "turn") this.#applyTurnOutcome(output);
    else if (status.status === "complete" && output?.kind === "setup") await this.setupFinished(output);
    else if (status.status === "errored" || status.status === "terminated") {
      const error = { code: "workflow_failed", message: status.error?.message ?? `The workflow instance ${status.status}.` };
      if (running) this.#applyTurnOutcome({ kind: "turn", n: running.n, status: "failed", error });
      else await this.setupFinished({ kind: "setup", ok: false, error });
    } else if (restarted || Date.now() - this.#lastHeard > Math.min(STALE_TURN_MS, loadConfig(this.env).STALE_FORK_SECONDS * 1000)) {
      this.#lastHeard = Date.now();
      await instance.sendEvent({ type: WAKE_EVENT, payload: {} }).catch(() => undefined);
      log("info", "session.turn_woken", { sessionId: r.id, instanceId });
    }
  }

  // ---- Internals ------------------------------------------------------------------------------

  #applyTurnOutcome(outcome: TurnOutcome): void {
    const now = new Date().toISOString();
    const { n, status, stopReason, summary, toolCalls, tokens, error } = outcome;
    if (!this.#store.finishTurn(n, status, now, { stopReason, summary, toolCalls, tokens, error })) return;
    this.#store.update((r) => {
      if (r.cancelling === n) delete r.cancelling;
      // A turn that lost its sandbox leaves the session without a workspace.
      if (error?.code === "sandbox_gone") {
        r.sandboxState = "gone";
        r.sandboxMs = this.#store.sandboxMs(r, Date.now());
        r.runningSince = null;
      }
    });
    if (error?.code === "sandbox_gone") this.#fail(error);
    this.#event("turn.finished", n, { status, stopReason: stopReason ?? null, costUsd: this.#store.turn(n)?.cost_usd ?? 0, ...(error ? { error } : {}) });
    log("info", "session.turn_finished", { sessionId: this.#require().id, turn: n, status, errorCode: error?.code });
  }

  #fail(error: { code: string; message: string }): void {
    const now = new Date().toISOString();
    this.#store.update((r) => {
      r.status = "failed";
      r.error = error;
    });
    this.#store.dropQueued("cancelled", now, { code: "session_failed", message: `The session failed: ${error.message}` });
    this.#event("session.failed", null, { error });
  }

  /** Starts the next queued turn when nothing runs, settles the status, indexes it, arms the alarm. */
  async #afterChange(): Promise<void> {
    let r = this.#require();
    const before = r.status;
    if (r.status !== "failed" && r.status !== "destroyed" && r.status !== "setting_up") {
      const next = this.#store.runningTurn() ? undefined : this.#store.nextQueued();
      if (next) {
        const instanceId = turnInstanceId(r.id, next.n);
        this.#store.startTurn(next.n, instanceId, new Date().toISOString());
        this.#lastHeard = Date.now();
        await this.#launch(instanceId, { sessionId: r.id, kind: "turn", n: next.n });
      }
      const status: SessionStatus = this.#store.runningTurn() ? "running" : r.sandboxState === "paused" ? "paused" : "idle";
      r = this.#store.update((rec) => {
        rec.status = status;
        rec.idleSince = status === "idle" ? (rec.idleSince ?? Date.now()) : null;
      });
    }
    if (r.status !== before) this.#event("session.status", null, { status: r.status, from: before });
    // The index row changes with the status, the title and the turns (not on every alarm).
    const view = this.#view();
    const indexed = `${view.status}|${view.title}|${view.turns.map((t) => t.status).join(",")}`;
    if (indexed !== this.#indexed) {
      const ended = this.#store.unexportedTurns();
      await Promise.all([upsertSessionSummary(this.env.DB, view), exportTurns(this.env.DB, r.id, ended)])
        .then(() => {
          this.#indexed = indexed;
          this.#store.markExported(ended.map((t) => t.n));
        })
        .catch((err) => log("warn", "session.index_failed", { sessionId: r.id, ...errorFields(err) }));
    }
    await this.#armAlarm();
  }

  async #armAlarm(): Promise<void> {
    const r = this.#require();
    const config = loadConfig(this.env);
    let at: number | null = null;
    if (r.status === "setting_up" || r.status === "running") at = Date.now() + Math.min(config.RECONCILE_INTERVAL_SECONDS * 1000, RESTART_CHECK_MS);
    else if (r.status === "idle" && r.sandboxState === "running") at = (r.idleSince ?? Date.now()) + r.idleSeconds * 1000;
    if (at === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Runs sandbox operations one at a time (a pause from the alarm and a turn's resume never interleave). */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#sandboxOps.then(op, op);
    this.#sandboxOps = next.catch(() => undefined);
    return next;
  }

  async #pauseSandbox(): Promise<void> {
    await this.#serial(async () => {
      const r = this.#require();
      if (r.sandboxState !== "running") return;
      unwrap(await this.#pool().suspend(r.leaseKey));
      this.#store.update((rec) => {
        rec.sandboxMs = this.#store.sandboxMs(rec, Date.now());
        rec.runningSince = null;
        rec.sandboxState = "paused";
      });
      this.#event("sandbox.paused", null, { sandboxId: r.sandboxId });
      log("info", "session.sandbox_paused", { sessionId: r.id, sandboxId: r.sandboxId });
    });
  }

  async #resumeSandbox(): Promise<SandboxHandle> {
    return this.#serial(async () => {
      const r = this.#require();
      const resumed = await this.#pool().resume(r.leaseKey, sessionSandboxTtl(r.idleSeconds));
      if (!resumed.ok && resumed.error.code === "lease_not_active") {
        this.#store.update((rec) => (rec.sandboxState = "gone"));
        throw new ConflictError("sandbox_gone", "The session's sandbox no longer exists.");
      }
      const { handle } = unwrap(resumed);
      if (r.sandboxState === "paused") {
        this.#store.update((rec) => {
          rec.sandboxState = "running";
          rec.runningSince = Date.now();
        });
        this.#event("sandbox.resumed", null, { sandboxId: r.sandboxId });
      }
      return handle;
    });
  }

  async #launch(id: string, params: SessionJob): Promise<void> {
    try {
      await this.env.SESSION_WORKFLOW.create({ id, params });
    } catch (err) {
      // Launched before (a repeated call): the instance exists and runs.
      if (!/already exists|duplicate/i.test(String(err))) throw err;
    }
  }

  #instance(id: string): Promise<WorkflowInstance> {
    return this.env.SESSION_WORKFLOW.get(id);
  }

  #pool() {
    return this.env.POOL.getByName(POOL_NAME);
  }

  #spentUsd(r: SessionRecord): number {
    return this.#store.llmUsd() + this.#sandboxUsd(r);
  }

  #sandboxUsd(r: SessionRecord): number {
    return sandboxCostUsd(loadConfig(this.env), this.#store.sandboxMs(r, Date.now()) / 1000, r.sandbox);
  }

  #event(type: string, turn: number | null, data: Record<string, unknown>): void {
    this.#events.publish(this.#log.append(type, turn, data, new Date().toISOString()));
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
    return eventStreamResponse(this.#events, this.#log.after(eventsAfterOf(request)), r.status !== "destroyed", "session");
  }
}
