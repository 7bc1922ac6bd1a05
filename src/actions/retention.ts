import { errorFields, log } from "../observability/log";

/** The most runs or sessions one cron run deletes (the rest wait for the next run). */
export const PRUNE_BATCH = 50;

/**
 * Retention on the cron (RUN_RETENTION_DAYS, SESSION_RETENTION_DAYS; 0: off): what `expired` lists
 * as last changed before the cut-off is deleted by `remove` (as its DELETE would), oldest first,
 * PRUNE_BATCH per run; one that cannot be deleted now is logged and tried again next time.
 */
export async function pruneOlderThan(
  what: "runs" | "sessions",
  days: number,
  now: number,
  expired: (before: string, limit: number) => Promise<string[]>,
  remove: (id: string) => Promise<unknown>,
): Promise<{ deleted: string[] }> {
  if (days === 0) return { deleted: [] };
  const before = new Date(now - days * 86_400_000).toISOString();
  const deleted: string[] = [];
  for (const id of await expired(before, PRUNE_BATCH)) {
    try {
      await remove(id);
      deleted.push(id);
    } catch (err) {
      log("warn", `${what}.prune_failed`, { [what === "runs" ? "runId" : "sessionId"]: id, ...errorFields(err) });
    }
  }
  if (deleted.length > 0) log("info", `${what}.pruned`, { deleted: deleted.length, days });
  return { deleted };
}
