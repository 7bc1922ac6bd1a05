/**
 * The cost ledger of a run or a session, in its Durable Object's SQLite, and the reservations of
 * model calls in flight. The same class serves both objects; only the column naming whom an entry
 * is for differs (a run's `fork`, a session's `turn`).
 *
 * - Costs are keyed so that a retried step cannot count twice: a final booking (`book`) under a
 *   key counts once; a cost that accrues (`accrue`, e.g. sandbox time so far) only grows until a
 *   booking settles it.
 * - Reservations hold the expected cost of model calls in flight, so that concurrent calls cannot
 *   all spend the last dollar. They live in SQLite (`reservations`), so an object restarted while
 *   calls are in flight still counts them. A reservation ends when its cost is booked, when it is
 *   released (the call failed), when its owner ends (`releaseOwner`), or — a call whose caller
 *   vanished — after RESERVATION_TTL_MS.
 *
 * Tables (created by each object's migrations: orchestrator/schema.ts, session/schema.ts):
 *   ledger (key PRIMARY KEY, <owner>, kind, usd, at, settled)
 *   reservations (key PRIMARY KEY, usd, owner, at)
 */
export type CostKind = "sandbox" | "llm";

/** A reservation older than this no longer holds budget: no model call runs that long. */
export const RESERVATION_TTL_MS = 15 * 60_000;

export class BudgetLedger {
  readonly #sql: SqlStorage;
  readonly #owner: "fork" | "turn";
  /** The ledger's sum, cached: the object is the only writer of its storage. */
  #spentUsd: number | undefined;

  constructor(sql: SqlStorage, owner: "fork" | "turn") {
    this.#sql = sql;
    this.#owner = owner;
  }

  /** Books a final cost under `key`, once: a repeated or later booking changes nothing; it replaces an accrual and ends the key's reservation. */
  book(key: string, owner: number, kind: CostKind, usd: number, now: string): boolean {
    const changed = this.#write(
      key,
      `INSERT INTO ledger (key, ${this.#owner}, kind, usd, at, settled) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (key) DO UPDATE SET usd = excluded.usd, at = excluded.at, settled = 1 WHERE settled = 0`,
      owner,
      kind,
      usd,
      now,
    );
    this.release(key);
    return changed;
  }

  /** A cost so far under `key` (e.g. sandbox time): it only grows, until `book` settles it. */
  accrue(key: string, owner: number, kind: CostKind, usd: number, now: string): void {
    this.#write(
      key,
      `INSERT INTO ledger (key, ${this.#owner}, kind, usd, at, settled) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (key) DO UPDATE SET usd = excluded.usd, at = excluded.at WHERE settled = 0 AND excluded.usd > usd`,
      owner,
      kind,
      usd,
      now,
    );
  }

  /** One upsert of the entry `key`, keeping the cached sum in step; returns whether it changed. */
  #write(key: string, upsert: string, owner: number, kind: CostKind, usd: number, now: string): boolean {
    const spent = this.spentUsd();
    const before = this.#sql.exec<{ usd: number }>("SELECT usd FROM ledger WHERE key = ?", key).toArray()[0]?.usd ?? 0;
    // A write that happens sets the entry to `usd`.
    const changed = this.#sql.exec(upsert, key, owner, kind, usd, now).rowsWritten > 0;
    if (changed) this.#spentUsd = spent + usd - before;
    return changed;
  }

  /** Everything booked or accrued. */
  spentUsd(): number {
    this.#spentUsd ??= this.#sql.exec<{ s: number | null }>("SELECT SUM(usd) AS s FROM ledger").one().s ?? 0;
    return this.#spentUsd;
  }

  /** What one kind of cost came to, for one owner or in all. */
  spentOn(kind: CostKind, owner?: number): number {
    const row =
      owner === undefined
        ? this.#sql.exec<{ s: number | null }>("SELECT SUM(usd) AS s FROM ledger WHERE kind = ?", kind).one()
        : this.#sql.exec<{ s: number | null }>(`SELECT SUM(usd) AS s FROM ledger WHERE kind = ? AND ${this.#owner} = ?`, kind, owner).one();
    return row.s ?? 0;
  }

  /** Costs by kind (for one owner, or in all). */
  byKind(owner?: number): Record<CostKind, number> {
    const costs = { sandbox: 0, llm: 0 };
    const where = owner === undefined ? "" : `WHERE ${this.#owner} = ?`;
    for (const row of this.#sql.exec<{ kind: CostKind; usd: number }>(`SELECT kind, SUM(usd) AS usd FROM ledger ${where} GROUP BY kind`, ...(owner === undefined ? [] : [owner]))) {
      costs[row.kind] = row.usd;
    }
    return costs;
  }

  /** Costs by owner and kind (`only`: one owner). */
  byOwner(only?: number): Map<number, Record<CostKind, number>> {
    const out = new Map<number, Record<CostKind, number>>();
    const where = only === undefined ? "" : `WHERE ${this.#owner} = ?`;
    for (const row of this.#sql.exec<{ owner: number; kind: CostKind; usd: number }>(
      `SELECT ${this.#owner} AS owner, kind, SUM(usd) AS usd FROM ledger ${where} GROUP BY ${this.#owner}, kind`,
      ...(only === undefined ? [] : [only]),
    )) {
      const cost = out.get(row.owner) ?? { sandbox: 0, llm: 0 };
      cost[row.kind] = row.usd;
      out.set(row.owner, cost);
    }
    return out;
  }

  /**
   * Reserves `expectedUsd` under `key` when it fits `budgetUsd` beside `spentUsd` and what other
   * calls hold (a key reserved again replaces its own reservation); false, reserving nothing, when
   * it does not fit.
   */
  tryReserve(key: string, owner: number, expectedUsd: number, budgetUsd: number, spentUsd: number, now: number): boolean {
    if (spentUsd + this.reservedUsd(now, key) + expectedUsd > budgetUsd) return false;
    this.#sql.exec(
      "INSERT INTO reservations (key, usd, owner, at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET usd = excluded.usd, owner = excluded.owner, at = excluded.at",
      key,
      expectedUsd,
      owner,
      now,
    );
    return true;
  }

  /** A model call that failed (or never happened) gives its reservation back. */
  release(key: string): void {
    this.#sql.exec("DELETE FROM reservations WHERE key = ?", key);
  }

  /** An owner that ended (a fork, a turn) holds no reservation any more. */
  releaseOwner(owner: number): void {
    this.#sql.exec("DELETE FROM reservations WHERE owner = ?", owner);
  }

  /** What calls in flight hold (all but `except`), expired reservations dropped. */
  reservedUsd(now: number, except?: string): number {
    this.#sql.exec("DELETE FROM reservations WHERE at < ?", now - RESERVATION_TTL_MS);
    return this.#sql.exec<{ s: number | null }>("SELECT SUM(usd) AS s FROM reservations WHERE key IS NOT ?", except ?? null).one().s ?? 0;
  }
}
