import { TERMINAL_RUN_STATUSES } from "../api/runs";

/** Why a run was deleted: asked for (DELETE /v1/runs/:id) or by RUN_RETENTION_DAYS. */
export type DeleteReason = "deleted" | "retention";

/** Records that run `id` is deleted (before its state goes, so nothing can recreate it meanwhile); repeating it changes nothing. */
export async function recordTombstone(db: D1Database, id: string, reason: DeleteReason, at: string): Promise<void> {
  await db.prepare("INSERT OR IGNORE INTO run_tombstones (id, reason, deleted_at) VALUES (?, ?, ?)").bind(id, reason, at).run();
}

/** When run `id` was deleted, or null when it never was. */
export async function tombstoneOf(db: D1Database, id: string): Promise<{ reason: DeleteReason; deletedAt: string } | null> {
  const row = await db.prepare("SELECT reason, deleted_at FROM run_tombstones WHERE id = ?").bind(id).first<{ reason: DeleteReason; deleted_at: string }>();
  return row ? { reason: row.reason, deletedAt: row.deleted_at } : null;
}

/** The run's row in the cross-run index (GET /v1/runs); the metrics rows (fork_results, fork_steps) stay, as counters. */
export async function deleteIndexRow(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM runs WHERE id = ?").bind(id).run();
}

const ENDED = TERMINAL_RUN_STATUSES;

/**
 * Ended runs whose last change is older than `before` (ISO), oldest first, at most `limit`:
 * what RUN_RETENTION_DAYS deletes. A run stopped over budget is not ended (its budget can be raised);
 * an eval's runs are kept while the eval lists them (eval_runs).
 */
export async function expiredRuns(db: D1Database, before: string, limit: number): Promise<string[]> {
  const marks = ENDED.map(() => "?").join(", ");
  const rows = await db
    .prepare(`SELECT id FROM runs WHERE status IN (${marks}) AND updated_at < ? AND id NOT IN (SELECT run_id FROM eval_runs) ORDER BY updated_at LIMIT ?`)
    .bind(...ENDED, before, limit)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}
