/**
 * A Durable Object's SQL storage (the `SqlStorage` subset Forkyard uses: exec with bindings, a
 * cursor's toArray/one/raw/rowsWritten, transactionSync) over Node's own SQLite, so storage code
 * gets fast unit tests in the node project. The Durable Objects themselves run on workerd's real
 * SQLite in the workers project.
 */
import { DatabaseSync } from "node:sqlite";

type Row = Record<string, SqlStorageValue>;

class Cursor<T extends Row> implements Iterable<T> {
  readonly #rows: T[];
  readonly rowsWritten: number;
  readonly rowsRead: number;
  readonly columnNames: string[];

  constructor(rows: T[], rowsWritten: number) {
    this.#rows = rows;
    this.rowsWritten = rowsWritten;
    this.rowsRead = rows.length;
    this.columnNames = rows[0] ? Object.keys(rows[0]) : [];
  }
  toArray(): T[] {
    return [...this.#rows];
  }
  one(): T {
    if (this.#rows.length !== 1) throw new Error(`Expected exactly one result from SQL query, but got ${this.#rows.length === 0 ? "no results" : "more"}.`);
    return this.#rows[0]!;
  }
  *raw<U extends SqlStorageValue[]>(): IterableIterator<U> {
    for (const row of this.#rows) yield Object.values(row) as U;
  }
  next(): IteratorResult<T, undefined> {
    const row = this.#rows.shift();
    return row ? { value: row, done: false } : { value: undefined, done: true };
  }
  [Symbol.iterator](): Iterator<T> {
    return this.#rows[Symbol.iterator]();
  }
}

/** Splits a script into statements (workerd's exec runs several; node's prepare takes one). */
function statements(query: string): string[] {
  return query.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean);
}

export function sqliteStorage(db = new DatabaseSync(":memory:")): { sql: SqlStorage; transactionSync<T>(fn: () => T): T; db: DatabaseSync } {
  const sql = {
    exec<T extends Row>(query: string, ...bindings: unknown[]) {
      const parts = statements(query);
      let rows: T[] = [];
      let written = 0;
      for (const part of parts) {
        const stmt = db.prepare(part);
        const args = parts.length === 1 ? bindings : [];
        if (/^\s*(SELECT|PRAGMA|WITH)\b/i.test(part) || /\bRETURNING\b/i.test(part)) rows = stmt.all(...(args as never[])) as T[];
        else written += Number(stmt.run(...(args as never[])).changes);
      }
      return new Cursor<T>(rows, written);
    },
    get databaseSize() {
      return 0;
    },
  } as unknown as SqlStorage;
  return {
    sql,
    db,
    transactionSync<T>(fn: () => T): T {
      db.exec("SAVEPOINT tx");
      try {
        const out = fn();
        db.exec("RELEASE tx");
        return out;
      } catch (err) {
        db.exec("ROLLBACK TO tx");
        db.exec("RELEASE tx");
        throw err;
      }
    },
  };
}
