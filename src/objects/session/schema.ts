import { EVENTS_TABLE } from "../shared/event-log";
import type { Migration } from "../shared/migrations";

/**
 * The Session's SQLite schema, versioned (src/objects/shared/migrations.ts); the object's
 * constructor runs `migrate(ctx.storage, SESSION_MIGRATIONS)` once per wake, and its stores run no DDL.
 *
 * How existing state adopts version 1: a session stored by a build before versioning (a deployed
 * object, or a `npm start` state dir) has no `_schema_version` table, so it is at version 0 and runs
 * version 1 over what it has. Version 1 is the schema those builds created, written idempotently
 * (CREATE … IF NOT EXISTS), so it creates nothing a session already has, keeps every row, and
 * records version 1. Later versions run once.
 */
export const SESSION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "the session record, its turns, transcript, ledger, reservations and event log (the schema before versioning)",
    up(sql) {
      sql.exec(`
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
  n INTEGER PRIMARY KEY,
  prompt TEXT NOT NULL,
  model TEXT NOT NULL,
  status TEXT NOT NULL,
  stop_reason TEXT,
  summary TEXT,
  tool_calls INTEGER NOT NULL DEFAULT 0,
  tokens TEXT,
  error TEXT,
  instance_id TEXT,
  cost_usd REAL,
  exported INTEGER NOT NULL DEFAULT 0,
  queued_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE TABLE IF NOT EXISTS transcript (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  turn INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transcript_turn ON transcript (turn, seq);
CREATE TABLE IF NOT EXISTS ledger (key TEXT PRIMARY KEY, turn INTEGER NOT NULL, kind TEXT NOT NULL, usd REAL NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (key TEXT PRIMARY KEY, usd REAL NOT NULL);`);
      sql.exec(EVENTS_TABLE);
    },
  },
  {
    version: 2,
    description: "the run's ledger (BudgetLedger): entries that accrue until settled, reservations with their owner and time (they expire)",
    up(sql) {
      sql.exec("ALTER TABLE ledger ADD COLUMN settled INTEGER NOT NULL DEFAULT 1");
      // A reservation from before has no time: it counts as expired (its call books its cost anyway).
      sql.exec("ALTER TABLE reservations ADD COLUMN owner INTEGER NOT NULL DEFAULT 0");
      sql.exec("ALTER TABLE reservations ADD COLUMN at INTEGER NOT NULL DEFAULT 0");
      sql.exec("CREATE INDEX reservations_owner ON reservations (owner)");
    },
  },
  {
    version: 3,
    description: "the transcript in turn order: a queued turn's prompt is written when the turn starts, and the rows are renumbered by (turn, seq)",
    up(sql) {
      // Prompts written when their turn was queued, before the answers of the turns ahead of them.
      sql.exec("DELETE FROM transcript WHERE kind = 'prompt' AND turn IN (SELECT n FROM turns WHERE status = 'queued')");
      sql.exec(`
CREATE TABLE transcript_v3 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  turn INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  at TEXT NOT NULL
);
INSERT INTO transcript_v3 (seq, key, turn, kind, data, at) SELECT ROW_NUMBER() OVER (ORDER BY turn, seq), key, turn, kind, data, at FROM transcript;
DROP TABLE transcript;
ALTER TABLE transcript_v3 RENAME TO transcript;
CREATE INDEX transcript_turn ON transcript (turn, seq);`);
    },
  },
];
