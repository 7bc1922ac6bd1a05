import type { SessionView } from "../../api/sessions";
import { toWireError } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import { newSessionId } from "../../protocol/session-ids";
import { childBudgets, forkTitles, remainingUsd } from "./fork-plan";
import type { SessionLease } from "./session-lease";
import type { PendingFork, SessionRecord, SessionStore } from "./session-store";

/** POST …/fork's answer: the new sessions, or (while a turn runs) the ones that will be made at its next step boundary. */
export type ForkAnswer = { sessions: SessionView[] } | { sessions: []; pending: PendingFork[]; turn: number };

/**
 * A session's forks (POST …/fork). With no turn running, the new sessions are made at once from the
 * ended turns. While a turn runs, they are made at its next step boundary — before its next model
 * or tool call, or when it ends — so that each gets the history and the workspace of the same moment:
 * the running turn as far as it got, and the files as its last finished step left them.
 */
export class SessionForks {
  readonly #store: SessionStore;
  readonly #lease: SessionLease;
  readonly #event: (type: string, turn: number | null, data: Record<string, unknown>) => void;

  constructor(store: SessionStore, lease: SessionLease, event: (type: string, turn: number | null, data: Record<string, unknown>) => void) {
    this.#store = store;
    this.#lease = lease;
    this.#event = event;
  }

  async request(r: SessionRecord, count: number, spentUsd: number, options: { title?: string; budgetUsd?: number | number[] }): Promise<ForkAnswer> {
    const titles = forkTitles(r.title, options.title, count);
    const budgets = childBudgets(remainingUsd(r.budgetUsd, spentUsd), count, options.budgetUsd);
    const children = titles.map((title, i): PendingFork => ({ id: newSessionId(), title, budgetUsd: budgets[i]! }));
    const running = this.#store.runningTurn();
    if (running) {
      this.#store.update((rec) => (rec.pendingForks = [...(rec.pendingForks ?? []), ...children]));
      this.#event("session.fork_pending", running.n, { sessions: children.map((c) => c.id) });
      return { sessions: [], pending: children, turn: running.n };
    }
    const upTo = this.#store.lastFinishedTurn();
    const sessions = await this.#lease.forkSession(r, children, upTo);
    this.#event("session.forked", null, { sessions: children.map((c) => c.id), turn: upTo });
    return { sessions };
  }

  /** Whether new sessions wait for the running turn's next step boundary. */
  waiting(): boolean {
    return (this.#store.record()?.pendingForks?.length ?? 0) > 0;
  }

  /**
   * Makes the waiting new sessions now, with turns 1..upTo (the running turn at a step boundary, or
   * the turn that just ended). Repeatable (same ids); a fork that fails is reported, never thrown.
   * `lost`: the session's own sandbox is gone (a step boundary of a running turn): the new sessions
   * still wait, for the turn to rebuild the sandbox and ask again.
   */
  async take(upTo: number, duringTurn = false): Promise<{ sessions: string[]; lost?: true }> {
    const r = this.#store.record();
    const pending = r?.pendingForks ?? [];
    if (!r || pending.length === 0) return { sessions: [] };
    const ids = pending.map((p) => p.id);
    try {
      await this.#lease.forkSession(r, pending, upTo);
      this.#event("session.forked", upTo, { sessions: ids, turn: upTo });
    } catch (err) {
      if (duringTurn && (await this.#lease.lost())) return { sessions: [], lost: true };
      const { code, message } = toWireError(err);
      this.#event("session.fork_failed", upTo, { sessions: ids, error: { code, message } });
      log("warn", "session.fork_failed", { sessionId: r.id, turn: upTo, ...errorFields(err) });
    }
    this.#forget(ids);
    return { sessions: ids };
  }

  /** The session ended (failed or destroyed) with new sessions still waiting: they are never made. */
  drop(reason: { code: string; message: string }): void {
    const pending = this.#store.record()?.pendingForks ?? [];
    if (pending.length === 0) return;
    this.#event("session.fork_failed", null, { sessions: pending.map((p) => p.id), error: reason });
    this.#forget(pending.map((p) => p.id));
  }

  /** Only the ones taken: more may have been asked for meanwhile. */
  #forget(ids: string[]): void {
    this.#store.update((rec) => {
      const left = (rec.pendingForks ?? []).filter((p) => !ids.includes(p.id));
      if (left.length > 0) rec.pendingForks = left;
      else delete rec.pendingForks;
    });
  }
}
