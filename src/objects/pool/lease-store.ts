import { priorityRank, type LeaseRequest, type LeaseRow, type WaiterRow } from "./types";

/**
 * The Pool's leases (sandbox -> holder), the queue of holders waiting for capacity, and its
 * counters: every SQL statement about them, over the object's SqlStorage. No DDL (schema.ts) and
 * no decisions: the Pool's logic decides, this class reads and writes.
 */
export class LeaseStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  get(key: string): LeaseRow | undefined {
    return this.#sql.exec<LeaseRow>("SELECT * FROM leases WHERE key = ?", key).toArray()[0];
  }

  /** The lease holding a sandbox now (not released). */
  ofSandbox(sandboxId: string): LeaseRow | undefined {
    return this.#sql.exec<LeaseRow>("SELECT * FROM leases WHERE sandbox_id = ? AND state != 'released'", sandboxId).toArray()[0];
  }

  /** Leases not released, oldest first. */
  open(): LeaseRow[] {
    return this.#sql.exec<LeaseRow>("SELECT * FROM leases WHERE state != 'released' ORDER BY created_at").toArray();
  }

  /** Keys of a run's leases not released. */
  openKeysOfRun(runId: string): { key: string; fork: number }[] {
    return this.#sql.exec<{ key: string; fork: number }>("SELECT key, fork FROM leases WHERE run_id = ? AND state != 'released'", runId).toArray();
  }

  /** Keys of every lease a fork held (released ones too). */
  keysOfFork(runId: string, fork: number): string[] {
    return this.#sql.exec<{ key: string }>("SELECT key FROM leases WHERE run_id = ? AND fork = ?", runId, fork).toArray().map((r) => r.key);
  }

  /** Leases counting against the cap: being created, running, or released with their kill still pending. */
  liveCount(): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases WHERE state IN ('creating','active') OR kill_pending = 1").one().n;
  }

  /** Reserves capacity for a holder whose sandbox is about to be created. */
  insertCreating(request: LeaseRequest, now: number): void {
    this.#sql.exec(
      "INSERT INTO leases (key, run_id, fork, state, created_at, holder) VALUES (?, ?, ?, 'creating', ?, ?)",
      request.key,
      request.runId,
      request.fork,
      now,
      request.holder ?? "run",
    );
  }

  /** A lease over a sandbox that exists already (a warm one handed out). */
  insertActive(request: LeaseRequest, sandboxId: string, handle: string | null, now: number): void {
    this.#sql.exec(
      "INSERT INTO leases (key, run_id, fork, sandbox_id, state, created_at, acquired_at, handle, holder) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)",
      request.key,
      request.runId,
      request.fork,
      sandboxId,
      now,
      now,
      handle,
      request.holder ?? "run",
    );
  }

  delete(key: string): void {
    this.#sql.exec("DELETE FROM leases WHERE key = ?", key);
  }

  /** Gives up a reservation whose sandbox was not made (only while still `creating`). */
  deleteCreating(key: string): void {
    this.#sql.exec("DELETE FROM leases WHERE key = ? AND state = 'creating'", key);
  }

  activate(key: string, sandboxId: string, handle: string, now: number): void {
    this.#sql.exec("UPDATE leases SET sandbox_id = ?, state = 'active', acquired_at = ?, handle = ? WHERE key = ?", sandboxId, now, handle, key);
  }

  setAcquired(key: string, handle: string, now: number): void {
    this.#sql.exec("UPDATE leases SET acquired_at = ?, handle = ? WHERE key = ?", now, handle, key);
  }

  setHandle(key: string, handle: string): void {
    this.#sql.exec("UPDATE leases SET handle = ? WHERE key = ?", handle, key);
  }

  /** An active lease's sandbox paused; with `keptUntil`, kept for a session to continue until then. */
  pause(key: string, now: number, keptUntil: number | null = null): void {
    this.#sql.exec("UPDATE leases SET state = 'paused', paused_at = ?, kept_until = ? WHERE key = ? AND state = 'active'", now, keptUntil, key);
  }

  /** Moves a lease out of its state (to active after a pause, or released), closing any paused period. */
  leave(key: string, to: "active" | "released", now: number): void {
    this.#sql.exec(
      `UPDATE leases SET state = ?, released_at = CASE WHEN ? = 'released' THEN ? ELSE released_at END,
         paused_ms = paused_ms + (CASE WHEN paused_at IS NULL THEN 0 ELSE ? - paused_at END), paused_at = NULL
       WHERE key = ? AND state != 'released' AND (? = 'released' OR state = 'paused')`,
      to,
      to,
      now,
      now,
      key,
      to,
    );
  }

  /** Released by the reaper (its sandbox killed). */
  markReleased(key: string, now: number): void {
    this.#sql.exec("UPDATE leases SET state = 'released', released_at = ? WHERE key = ?", now, key);
  }

  /** A kept lease handed to a new holder: it takes the holder's key and identity, paused from now. */
  transfer(keptKey: string, holder: LeaseRequest, now: number): void {
    this.#sql.exec(
      "UPDATE leases SET key = ?, run_id = ?, fork = ?, holder = ?, kept_until = NULL, acquired_at = ?, paused_at = ?, paused_ms = 0 WHERE key = ?",
      holder.key,
      holder.runId,
      holder.fork,
      holder.holder ?? "run",
      now,
      now,
      keptKey,
    );
  }

  /** Releases leases stuck in `creating` since before `before`; answers how many. */
  releaseStaleCreating(before: number, now: number): number {
    return this.#sql.exec("UPDATE leases SET state = 'released', released_at = ? WHERE state = 'creating' AND created_at < ?", now, before).rowsWritten;
  }

  /** Leases holding a sandbox (active or paused) acquired before `before`. */
  heldSince(before: number): LeaseRow[] {
    return this.#sql.exec<LeaseRow>("SELECT * FROM leases WHERE state IN ('active','paused') AND sandbox_id IS NOT NULL AND acquired_at < ?", before).toArray();
  }

  setKillPending(key: string, pending: boolean): void {
    this.#sql.exec("UPDATE leases SET kill_pending = ? WHERE key = ?", pending ? 1 : 0, key);
  }

  killPending(): LeaseRow[] {
    return this.#sql.exec<LeaseRow>("SELECT * FROM leases WHERE kill_pending = 1").toArray();
  }

  // The queue of holders waiting for capacity.

  /** Holders queued ahead of a new holder of rank `priority` (every one of its rank or before; all, by default). */
  waiterCount(priority = Number.MAX_SAFE_INTEGER): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters WHERE priority <= ?", priority).one().n;
  }

  waiter(key: string): WaiterRow | undefined {
    return this.#sql.exec<WaiterRow>("SELECT * FROM waiters WHERE key = ?", key).toArray()[0];
  }

  /** How many wait ahead of a queued holder: those of a higher priority, then those of its own that came first. */
  waitersAhead(waiter: Pick<WaiterRow, "seq" | "priority">): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters WHERE priority < ? OR (priority = ? AND seq < ?)", waiter.priority, waiter.priority, waiter.seq).one().n;
  }

  /** The first `limit` waiters, by priority, then arrival. */
  firstWaiters(limit: number): WaiterRow[] {
    return this.#sql.exec<WaiterRow>("SELECT * FROM waiters ORDER BY priority, seq LIMIT ?", limit).toArray();
  }

  enqueue(request: LeaseRequest, workflow: string, now: number): void {
    this.#sql.exec(
      "INSERT INTO waiters (key, run_id, instance_id, enqueued_at, holder, priority) VALUES (?, ?, ?, ?, ?, ?)",
      request.key,
      request.runId,
      request.instanceId ?? null,
      now,
      workflow,
      priorityRank(request.priority),
    );
  }

  /** A queued holder asked again: a new notice is due to this instance when its turn comes. */
  renotifyTo(key: string, instanceId: string): void {
    this.#sql.exec("UPDATE waiters SET notified_at = NULL, instance_id = ? WHERE key = ?", instanceId, key);
  }

  markNotified(key: string, now: number): void {
    this.#sql.exec("UPDATE waiters SET notified_at = ? WHERE key = ?", now, key);
  }

  dequeue(key: string): void {
    this.#sql.exec("DELETE FROM waiters WHERE key = ?", key);
  }

  dequeueRun(runId: string): void {
    this.#sql.exec("DELETE FROM waiters WHERE run_id = ?", runId);
  }

  // Counters.

  countReaped(): void {
    this.#sql.exec("INSERT INTO counters (name, value) VALUES ('reaped', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1");
  }

  reapedTotal(): number {
    return this.#sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'reaped'").toArray()[0]?.value ?? 0;
  }
}
