import { ConflictError, unwrap, type Result } from "../../core/errors";
import type { DeleteReason } from "../../d1-index/run-tombstones";
import { recordSessionTombstone, sessionTombstoneOf } from "../../d1-index/session-tombstones";
import { log } from "../../observability/log";
import type { EventChannel } from "../shared/event-channel";
import type { IndexSync } from "../shared/index-sync";
import { migrate } from "../shared/migrations";
import { SESSION_MIGRATIONS } from "./schema";
import type { SessionStore } from "./session-store";

/** What the Session object needs to delete itself. */
export interface SessionDeletionDeps {
  ctx: DurableObjectState;
  db: D1Database;
  store: SessionStore;
  index: IndexSync;
  events: EventChannel;
  /** Session.destroy: ends the session (its sandbox released, its workspace snapshot dropped). */
  destroy(): Promise<Result<unknown>>;
}

/**
 * Deleting a session's state (DELETE /v1/sessions/:id?purge=true, SESSION_RETENTION_DAYS): refused
 * while a turn runs or is queued, or while it is set up; otherwise it is destroyed first when it was
 * not (its sandbox's lease released), then the tombstone goes to D1 and every row of the object and
 * its alarm are deleted. src/actions/delete-session.ts then deletes its R2 objects and index row.
 * An object that holds no session answers `{ wiped: false }` (tombstoned: a repeat; else unknown).
 */
export async function deleteSessionState(deps: SessionDeletionDeps, id: string, reason: DeleteReason): Promise<{ wiped: boolean; tombstoned: boolean }> {
  const r = deps.store.record();
  if (!r) return { wiped: false, tombstoned: (await sessionTombstoneOf(deps.db, id)) !== null };
  if (r.status === "running" || r.status === "setting_up" || deps.store.runningTurn() || deps.store.queuedCount() > 0) {
    throw new ConflictError("session_busy", `The session is ${r.status}; cancel its turn (and remove queued messages) or wait for it to end, then delete it.`, { status: r.status });
  }
  if (r.status !== "destroyed") unwrap(await deps.destroy());
  // Nothing else runs in this object meanwhile (a message sent now would start a turn).
  const wiped = await deps.ctx.blockConcurrencyWhile(async () => {
    const current = deps.store.record();
    if (!current || current.status !== "destroyed") return false;
    await recordSessionTombstone(deps.db, id, reason, new Date().toISOString());
    deps.index.stop();
    await deps.ctx.storage.deleteAlarm();
    await deps.ctx.storage.deleteAll();
    // The object stays usable (it answers not_found from now on) with an empty schema.
    migrate(deps.ctx.storage, SESSION_MIGRATIONS);
    deps.store.forget();
    deps.events.closeAll();
    return true;
  });
  if (!wiped) throw new ConflictError("session_busy", "The session changed while it was being deleted; try again.");
  log("info", "session.deleted", { sessionId: id, reason });
  return { wiped: true, tombstoned: true };
}
