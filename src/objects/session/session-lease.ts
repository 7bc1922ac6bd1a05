import type { Env } from "../../core/env";
import type { SessionView } from "../../api/sessions";
import { ConflictError, unwrap } from "../../core/errors";
import { log } from "../../observability/log";
import { POOL_NAME } from "../../protocol/events";
import { newSessionId, sessionLeaseKey, sessionWorkBranch } from "../../protocol/session-ids";
import { sessionSandboxTtl } from "../../protocol/session-job";
import type { SandboxHandle } from "../../sandbox/handle";
import type { SessionRecord, SessionStore } from "./session-store";

/**
 * A session's sandbox, held through the Pool under one lease for the session's life: paused when
 * idle (not billed, files kept), resumed by the next turn, forked, released. Operations run one at
 * a time (a pause from the alarm and a turn's resume never interleave). (Not the envd client a
 * step talks to the sandbox with: that is SandboxSession, src/sandbox/session.ts.)
 */
export class SessionLease {
  readonly #env: Env;
  readonly #store: SessionStore;
  readonly #event: (type: string, turn: number | null, data: Record<string, unknown>) => void;
  #ops: Promise<unknown> = Promise.resolve();

  constructor(env: Env, store: SessionStore, event: (type: string, turn: number | null, data: Record<string, unknown>) => void) {
    this.#env = env;
    this.#store = store;
    this.#event = event;
  }

  pool() {
    return this.#env.POOL.getByName(POOL_NAME);
  }

  /** Runs `op` after the operations before it. */
  serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#ops.then(op, op);
    this.#ops = next.catch(() => undefined);
    return next;
  }

  async pause(): Promise<void> {
    await this.serial(async () => {
      const r = this.#record();
      if (r.sandboxState !== "running") return;
      unwrap(await this.pool().suspend(r.leaseKey));
      this.#store.update((rec) => {
        rec.sandboxMs = this.#store.sandboxMs(rec, Date.now());
        rec.runningSince = null;
        rec.sandboxState = "paused";
      });
      this.#event("sandbox.paused", null, { sandboxId: r.sandboxId });
      log("info", "session.sandbox_paused", { sessionId: r.id, sandboxId: r.sandboxId });
    });
  }

  async resume(): Promise<SandboxHandle> {
    return this.serial(async () => {
      const r = this.#record();
      const resumed = await this.pool().resume(r.leaseKey, sessionSandboxTtl(r.idleSeconds));
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

  /**
   * Forks the session into one new session per title (E2B's sandbox fork, through the Pool): each
   * gets the history up to the last ended turn, its copy of the workspace, its own work branch, its
   * title and its budget.
   */
  async forkSession(r: SessionRecord, children: { titles: string[]; budgets: (number | null)[] }): Promise<{ ids: string[]; upTo: number; views: SessionView[] }> {
    const upTo = this.#store.lastFinishedTurn();
    const ids = children.titles.map(() => newSessionId());
    const ttl = sessionSandboxTtl(r.idleSeconds);
    const leases = ids.map((id) => ({ key: sessionLeaseKey(id), runId: id, fork: 0, template: r.sandbox.templateId, timeoutSeconds: ttl, holder: "session" as const }));
    const forked = await this.serial(async () => unwrap(await this.pool().forkSandbox(r.leaseKey, leases)));
    const history = this.#store.exportHistory(upTo);
    const now = new Date().toISOString();
    const views = await Promise.all(
      ids.map(async (id, i) => {
        const record: SessionRecord = {
          ...structuredClone(r),
          id,
          title: children.titles[i]!,
          status: "idle",
          // Its own branch, checked out (the workspace as it is) by its next turn's first steps.
          workBranch: sessionWorkBranch(id),
          switchBranch: true,
          budgetUsd: children.budgets[i]!,
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
          return unwrap(await this.#env.SESSION.getByName(id).createFork({ record, history }));
        } catch (err) {
          // Its sandbox was forked for a session that does not exist: it must not live on (a
          // session's lease is never reaped for age).
          await this.pool().release(record.leaseKey);
          throw err;
        }
      }),
    );
    return { ids, upTo, views };
  }

  #record(): SessionRecord {
    return this.#store.record()!;
  }
}
