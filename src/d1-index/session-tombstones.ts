import type { DeleteReason } from "./run-tombstones";

/** Records that session `id` is deleted (before its state goes); repeating it changes nothing. */
export async function recordSessionTombstone(db: D1Database, id: string, reason: DeleteReason, at: string): Promise<void> {
  await db.prepare("INSERT OR IGNORE INTO session_tombstones (id, reason, deleted_at) VALUES (?, ?, ?)").bind(id, reason, at).run();
}

/** When session `id` was deleted, or null when it never was. */
export async function sessionTombstoneOf(db: D1Database, id: string): Promise<{ reason: DeleteReason; deletedAt: string } | null> {
  const row = await db.prepare("SELECT reason, deleted_at FROM session_tombstones WHERE id = ?").bind(id).first<{ reason: DeleteReason; deleted_at: string }>();
  return row ? { reason: row.reason, deletedAt: row.deleted_at } : null;
}

/** The session's row in the cross-session index (GET /v1/sessions); its turn metrics (session_turns) stay, as counters. */
export async function deleteSessionRow(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM sessions WHERE id = ?").bind(id).run();
}

/**
 * The statuses SESSION_RETENTION_DAYS may delete: nothing running, nothing queued (a queued turn
 * makes a session `running`), not setting up. An idle session's sandbox is released first.
 */
export const PRUNABLE_SESSION_STATUSES = ["idle", "paused", "destroyed", "failed"] as const;

/** Sessions in a prunable status whose last change is older than `before` (ISO), oldest first, at most `limit`. */
export async function expiredSessions(db: D1Database, before: string, limit: number): Promise<string[]> {
  const marks = PRUNABLE_SESSION_STATUSES.map(() => "?").join(", ");
  const rows = await db
    .prepare(`SELECT id FROM sessions WHERE status IN (${marks}) AND updated_at < ? ORDER BY updated_at LIMIT ?`)
    .bind(...PRUNABLE_SESSION_STATUSES, before, limit)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}
