import type { Env } from "../../core/env";
import { loadConfig } from "../../core/env";
import { errorFields, log } from "../../observability/log";
import { setupInstanceId, turnInstanceId } from "../../protocol/session-ids";
import { continuationInstanceId } from "../../protocol/instance-ids";
import type { SessionJob, SetupOutcome, TurnContinuationRef, TurnOutcome } from "../../protocol/session-job";
import { ConflictError, NotFoundError, QueueFullError, type Result } from "../../core/errors";
import { ZERO_USAGE } from "../../agent/pricing";
import { poke, type InstanceWatch } from "../shared/instance-watch";
import type { SessionRecord, SessionStore } from "./session-store";
import { createInstanceOnce } from "../../protocol/create-instance";
import { buildCodeVersion } from "../../protocol/code-version";
import { BUDGET_RAISED_EVENT } from "../../protocol/events";

/** A turn instance not heard from this long is sent a no-op event (a restarted local runtime leaves it idle). */
const STALE_TURN_MS = 60_000;

/** Retry-After of a 429 `queue_full`: a hint (a queued turn starts when the one before it ends). */
const QUEUE_FULL_RETRY_SECONDS = 10;

/** Why a message removed from the queue (DELETE …/messages/:n) never ran. */
export const REMOVED_FROM_QUEUE = { code: "removed", message: "The message was removed from the queue before its turn started." };

/** Why a queued turn cancelled before it started (a cancel during the session's setup) never ran. */
export const CANCELLED_BEFORE_START = { code: "cancelled", message: "The turn was cancelled before it started (the session was being set up)." };

/** What the turns use of their Session. */
export interface SessionParts {
  env: Env;
  store: SessionStore;
  watch: InstanceWatch;
  event(type: string, turn: number | null, data: Record<string, unknown>): void;
  setupFinished(outcome: SetupOutcome): Promise<Result<void>>;
  /** Whether a lost sandbox can be rebuilt (by the next turn): a turn that lost it then does not fail the session. */
  rebuildable(): boolean;
}

/**
 * A session's Workflow instances: its setup, then one turn at a time (each its own instance, the
 * durable agent loop): launched once, settled from their outcome (reported, or read from an
 * instance that ended without reporting), woken when silent or after a runtime restart.
 */
export class SessionTurns {
  readonly #s: SessionParts;

  constructor(parts: SessionParts) {
    this.#s = parts;
  }

  /**
   * Queues a message as the next turn. After a turn fails, is cancelled or runs out of budget, the
   * queued ones still run, in order, each with every earlier turn's recorded exchange in its history
   * (a failed one's too); they are dropped only when the session fails or is destroyed.
   */
  enqueue(prompt: string, model: string | undefined): number {
    const r = this.#require();
    if (r.status === "failed" || r.status === "destroyed") throw new ConflictError(`session_${r.status}`, `The session is ${r.status}: it takes no more messages.`, { status: r.status });
    const limit = loadConfig(this.#s.env).SESSION_QUEUE_LIMIT;
    if (this.#s.store.queuedCount() >= limit) throw new QueueFullError(limit, QUEUE_FULL_RETRY_SECONDS);
    if (model && model !== r.model) this.#s.store.update((rec) => (rec.model = model));
    const turn = this.#s.store.addTurn(prompt, model ?? r.model, new Date().toISOString());
    this.#s.event("turn.queued", turn, { queued: this.#s.store.queuedCount() });
    return turn;
  }

  /** Removes a message still queued: its turn ends `cancelled` (error `removed`) without running. */
  remove(n: number): void {
    const turn = this.#s.store.turn(n);
    if (!turn) throw new NotFoundError("turn", String(n));
    if (turn.status !== "queued") throw new ConflictError("turn_not_queued", `Turn ${n} is ${turn.status}: only a message still queued can be removed.`, { status: turn.status });
    this.#endQueued(n, REMOVED_FROM_QUEUE);
    this.#s.event("turn.removed", n, { queued: this.#s.store.queuedCount() });
  }

  /**
   * Cancels queued turn n before it starts (a cancel while none runs: during the session's setup,
   * the turn it gets ready for). It never runs: like a removed message, it is in no history.
   */
  cancelQueued(n: number): void {
    this.#endQueued(n, CANCELLED_BEFORE_START);
    this.#s.event("turn.finished", n, { status: "cancelled", stopReason: null, costUsd: 0, error: CANCELLED_BEFORE_START });
    log("info", "session.turn_finished", { sessionId: this.#require().id, turn: n, status: "cancelled", errorCode: CANCELLED_BEFORE_START.code });
  }

  /** A queued turn ends `cancelled` without having run: no tokens, no tool calls. */
  #endQueued(n: number, error: { code: string; message: string }): void {
    this.#s.store.finishTurn(n, "cancelled", new Date().toISOString(), { error, tokens: ZERO_USAGE, toolCalls: 0 });
  }

  /** Starts the next queued turn when none runs. */
  async startNext(sessionId: string): Promise<void> {
    const next = this.#s.store.runningTurn() ? undefined : this.#s.store.nextQueued();
    if (!next) return;
    const instanceId = turnInstanceId(sessionId, next.n);
    this.#s.store.startTurn(next.n, instanceId, new Date().toISOString());
    this.#s.watch.heard(0);
    await this.launch(instanceId, { sessionId, kind: "turn", n: next.n });
  }

  /**
   * Turn n's instance `from` nears its step limit (src/workflows/turn-continuation.ts): the turn
   * goes on in instance `<base>-c<k>`, which the Session now watches, cancels and settles. Asked
   * again (a repeated step), the same instance is created again: harmless.
   */
  async continueTurn(n: number, from: string, next: TurnContinuationRef): Promise<{ instanceId: string }> {
    const r = this.#require();
    const turn = this.#s.store.turn(n);
    const id = continuationInstanceId(next.base, next.k);
    if (!turn || turn.status !== "running" || r.cancelling === n) throw new ConflictError("cancelled", `Turn ${n} is not running.`);
    if (!this.#s.store.continueTurnInstance(n, from, id)) throw new ConflictError("turn_relaunched", `Turn ${n} runs as instance ${turn.instance_id ?? "(none)"}, not ${from}.`);
    if (turn.instance_id === from) {
      this.#s.event("turn.continued", n, { instanceId: id, continuation: next.k });
      log("info", "session.turn_continued", { sessionId: r.id, turn: n, instanceId: id });
    }
    this.#s.watch.heard(0);
    await this.launch(id, { sessionId: r.id, kind: "turn", n, continuation: next });
    return { instanceId: id };
  }

  /** Settles a running turn (or setup) whose instance ended without reporting; wakes an idle one (at once after a restart). */
  async reconcile(restarted: boolean): Promise<void> {
    const r = this.#require();
    const running = this.#s.store.runningTurn();
    const instanceId = r.status === "setting_up" ? setupInstanceId(r.id) : running?.instance_id;
    if (!instanceId) return;
    let instance: WorkflowInstance;
    let status: InstanceStatus;
    try {
      instance = await this.instance(instanceId);
      status = await instance.status();
    } catch (err) {
      log("info", "session.instance_unknown", { sessionId: r.id, instanceId, ...errorFields(err) });
      return;
    }
    const output = status.output as TurnOutcome | SetupOutcome | undefined;
    if (status.status === "complete" && output?.kind === "turn") this.applyOutcome(output);
    else if (status.status === "complete" && output?.kind === "setup") await this.#s.setupFinished(output);
    else if (status.status === "errored" || status.status === "terminated") {
      const error = { code: "workflow_failed", message: status.error?.message ?? `The workflow instance ${status.status}.` };
      if (running) this.applyOutcome({ kind: "turn", n: running.n, status: "failed", error });
      else await this.#s.setupFinished({ kind: "setup", ok: false, error });
    } else if (restarted) {
      this.#s.watch.heard(0);
      await poke(instance).catch(() => undefined);
      log("info", "session.turn_woken", { sessionId: r.id, instanceId });
    } else if (Date.now() - this.#s.watch.lastHeardAt(0) > Math.min(STALE_TURN_MS, loadConfig(this.#s.env).STALE_FORK_SECONDS * 1000)) {
      await this.#unstick(instance, running?.n ?? 0, status.status === "paused");
    }
  }

  /**
   * A silent instance: a running step sends heartbeats, so silence inside a step means it is stuck.
   * Poked first; still silent a stale period later, restarted from that step (earlier steps' results
   * are kept: no model call is repeated). Paused between steps (`pause()` lets the running step end
   * first), it is resumed: restarting it from its start would repeat its model calls.
   */
  async #unstick(instance: WorkflowInstance, turn: number, paused: boolean): Promise<void> {
    const sessionId = this.#require().id;
    const step = this.runningStep(turn);
    if (!step && paused) {
      this.#s.watch.heard(0);
      await instance.resume();
      this.#s.event("turn.restarted", turn, { step: null, resumed: true });
      log("warn", "session.turn_resumed", { sessionId, turn, instanceId: instance.id });
      return;
    }
    const nudged = await this.#s.watch.nudge(0, instance, step, paused);
    if (!nudged.restarted) return log("info", "session.turn_woken", { sessionId, turn, instanceId: instance.id });
    this.#s.event("turn.restarted", turn, { step: nudged.from, resumed: false });
    log("warn", "session.turn_restarted", { sessionId, turn, instanceId: instance.id, step: nudged.from });
  }

  /** A gated step of turn n (0: setup) started: it is the step a stuck instance restarts from. */
  stepRunning(turn: number, name: string): void {
    this.#s.store.update((r) => (r.runningStep = { turn, name }));
  }

  /** A step of turn n ended: the instance is between steps. */
  stepEnded(turn: number, name: string): void {
    const current = this.#require().runningStep;
    if (current?.turn === turn && current.name === name) this.#s.store.update((r) => delete r.runningStep);
  }

  /** The step turn n is inside, if it is inside one. */
  runningStep(turn: number): string | null {
    const current = this.#require().runningStep;
    return current?.turn === turn ? current.name : null;
  }

  applyOutcome(outcome: TurnOutcome): void {
    const now = new Date().toISOString();
    const { n, status, stopReason, summary, toolCalls, tokens, error } = outcome;
    if (!this.#s.store.finishTurn(n, status, now, { stopReason, summary, toolCalls, tokens, error })) return;
    this.#s.store.ledger.releaseOwner(n);
    this.#s.store.update((r) => {
      if (r.cancelling === n) delete r.cancelling;
      // A turn that lost its sandbox leaves the session without a workspace.
      if (error?.code === "sandbox_gone") {
        r.sandboxState = "gone";
        r.sandboxMs = this.#s.store.sandboxMs(r, Date.now());
        r.runningSince = null;
      }
    });
    // The next turn rebuilds a sandbox that can be (session-lease.ts); otherwise the session is over.
    if (error?.code === "sandbox_gone" && !this.#s.rebuildable()) this.fail(error);
    this.#s.event("turn.finished", n, { status, stopReason: stopReason ?? null, costUsd: this.#s.store.turn(n)?.cost_usd ?? 0, ...(error ? { error } : {}) });
    log("info", "session.turn_finished", { sessionId: this.#require().id, turn: n, status, errorCode: error?.code });
  }

  fail(error: { code: string; message: string }): void {
    const now = new Date().toISOString();
    this.#s.store.update((r) => {
      r.status = "failed";
      r.error = error;
    });
    this.#s.store.dropQueued("cancelled", now, { code: "session_failed", message: `The session failed: ${error.message}` });
    this.#s.event("session.failed", null, { error });
  }

  async launch(id: string, params: SessionJob): Promise<void> {
    // Launched before (a repeated call): the instance exists and runs. It keeps the steps of the code it starts on.
    await createInstanceOnce(this.#s.env.SESSION_WORKFLOW, id, { ...params, codeVersion: buildCodeVersion(loadConfig(this.#s.env).CODE_VERSION) });
  }

  /**
   * Wakes a turn waiting for budget (the budget was raised, or the turn cancelled: its resume step
   * then stops it). A turn not waiting keeps the event for a later wait, whose resume step decides.
   */
  async wake(instanceId: string, payload: Record<string, unknown>): Promise<void> {
    await this.instance(instanceId)
      .then((i) => i.sendEvent({ type: BUDGET_RAISED_EVENT, payload }))
      .catch((err) => log("info", "session.budget_event_skipped", { sessionId: this.#require().id, instanceId, ...errorFields(err) }));
  }

  instance(id: string): Promise<WorkflowInstance> {
    return this.#s.env.SESSION_WORKFLOW.get(id);
  }

  #require(): SessionRecord {
    return this.#s.store.record()!;
  }
}
