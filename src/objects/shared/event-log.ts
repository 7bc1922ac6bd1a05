import type { RunEvent } from "./event-hub";

/** The event log's table, as version 1 of each object's schema creates it. */
export const EVENTS_TABLE = `CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  type TEXT NOT NULL,
  fork INTEGER,
  data TEXT NOT NULL
)`;

/**
 * The append-only event log of a run (or a session) in its Durable Object's SQLite: what the
 * events stream replays from Last-Event-ID. `fork` is the fork (or turn) an event is about.
 */
export class EventLog {
  readonly #sql: SqlStorage;
  #lastSeq: number | undefined;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  append(type: string, fork: number | null, data: Record<string, unknown>, now: string): RunEvent {
    this.#lastSeq ??= this.#sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events").one().seq ?? 0;
    const seq = ++this.#lastSeq;
    this.#sql.exec("INSERT INTO events (seq, at, type, fork, data) VALUES (?, ?, ?, ?, ?)", seq, now, type, fork, JSON.stringify(data));
    return { seq, at: now, type, fork, data };
  }

  /** Events after `seq`, oldest first, read a page at a time. */
  *after(seq: number): Generator<RunEvent> {
    for (let last = seq; ; ) {
      const page = this.#sql
        .exec<{ seq: number; at: string; type: string; fork: number | null; data: string }>("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT 500", last)
        .toArray();
      for (const row of page) yield { seq: row.seq, at: row.at, type: row.type, fork: row.fork, data: JSON.parse(row.data) as Record<string, unknown> };
      if (page.length < 500) return;
      last = page[page.length - 1]!.seq;
    }
  }
}
