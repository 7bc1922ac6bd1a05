import { EVENTS_TABLE } from "../shared/event-log";
import { addColumnOnce, type Migration } from "../shared/migrations";

/** Version 1's tables as the builds before versioning created them (the columns they added later follow). */
const V1_TABLES = `
CREATE TABLE IF NOT EXISTS run (
  id TEXT PRIMARY KEY,
  request TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  idempotency_key TEXT,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forks (
  n INTEGER PRIMARY KEY,
  status TEXT NOT NULL,
  branch TEXT NOT NULL,
  instance_id TEXT,
  launches INTEGER NOT NULL DEFAULT 0,
  launched_at INTEGER,
  sandbox_id TEXT,
  started_at TEXT,
  finished_at TEXT,
  outcome TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS forks_status ON forks (status);
CREATE TABLE IF NOT EXISTS steps (
  fork INTEGER NOT NULL,
  name TEXT NOT NULL,
  seq INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  duration_ms INTEGER,
  PRIMARY KEY (fork, name)
);
CREATE TABLE IF NOT EXISTS commands (
  fork INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (fork, idx)
);
CREATE TABLE IF NOT EXISTS ledger (
  key TEXT PRIMARY KEY,
  fork INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('sandbox','llm')),
  usd REAL NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS branches (
  k INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL,
  forks TEXT NOT NULL,
  prompt TEXT,
  status TEXT NOT NULL,
  mark TEXT,
  requested_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS branches_parent ON branches (parent, status);
CREATE TABLE IF NOT EXISTS scores (judging INTEGER NOT NULL, n INTEGER NOT NULL, score REAL, reason TEXT NOT NULL, PRIMARY KEY (judging, n));`;

/**
 * The Orchestrator's SQLite schema, versioned (src/objects/shared/migrations.ts); the object's
 * constructor runs `migrate(ctx.storage, RUN_MIGRATIONS)` once per wake, and the stores run no DDL.
 *
 * How existing state adopts version 1: a run stored by a build before versioning (a deployed
 * object, or a `npm start` state dir) has no `_schema_version` table, so it is at version 0 and runs
 * version 1 over what it has. Version 1 is the schema those builds created, written idempotently
 * (CREATE … IF NOT EXISTS; each column a later build added is added only when missing), so it
 * creates nothing a run already has, keeps every row, and records version 1. Later versions run once.
 */
export const RUN_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "the run, its forks, steps, commands, event log, ledger, judging scores and branches (the schema before versioning)",
    up(sql) {
      sql.exec(V1_TABLES);
      sql.exec(EVENTS_TABLE);
      addColumnOnce(sql, "forks", "exported INTEGER NOT NULL DEFAULT 0");
      // Sandbox time as it accrues: since the sandbox was acquired, less time paused for budget.
      addColumnOnce(sql, "forks", "sandbox_at INTEGER");
      addColumnOnce(sql, "forks", "paused_at INTEGER");
      addColumnOnce(sql, "forks", "paused_ms INTEGER NOT NULL DEFAULT 0");
      // A branched fork's parent and where it stood (branch-store.ts).
      addColumnOnce(sql, "forks", "parent INTEGER");
      addColumnOnce(sql, "forks", "parent_turn INTEGER");
      addColumnOnce(sql, "forks", "branched_from TEXT");
      // A settled entry is final; an unsettled one (sandbox time so far) only grows until settled.
      addColumnOnce(sql, "ledger", "settled INTEGER NOT NULL DEFAULT 1");
      // A cancelled run whose sandboxes are still to be stopped (done in the background, retried by alarm).
      addColumnOnce(sql, "run", "stop_pending INTEGER NOT NULL DEFAULT 0");
      addColumnOnce(sql, "run", "winner INTEGER");
      // The latest LLM judging ({ k, status, model, error? }); its scores are in `scores`.
      addColumnOnce(sql, "run", "judging TEXT");
      addColumnOnce(sql, "run", "prepared TEXT");
      addColumnOnce(sql, "run", "sandbox TEXT");
      addColumnOnce(sql, "run", "picked TEXT");
      // An Idempotency-Key (or a /refork comment's id): the same key answers the same branch.
      addColumnOnce(sql, "branches", "idempotency_key TEXT");
    },
  },
  {
    version: 2,
    description: "reservations of model calls in flight, persisted (they were kept in memory: a restarted object forgot them)",
    up(sql) {
      sql.exec("CREATE TABLE reservations (key TEXT PRIMARY KEY, usd REAL NOT NULL, owner INTEGER NOT NULL, at INTEGER NOT NULL)");
      sql.exec("CREATE INDEX reservations_owner ON reservations (owner)");
    },
  },
  {
    version: 3,
    description: "agent forks' transcripts: one row per prompt, model call and tool call, keyed by the step that recorded it (fork-transcript-store.ts)",
    up(sql) {
      sql.exec(`
CREATE TABLE fork_transcript (
  fork INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  turn INTEGER NOT NULL,
  data TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (fork, seq),
  UNIQUE (fork, key)
)`);
    },
  },
  {
    version: 4,
    description: "the code version the run started on ({ code, deployment? }, src/protocol/code-version.ts); absent: a run from before (version 1)",
    up(sql) {
      // A nullable column: a build that predates it reads and writes the run as before (two versions run against it).
      sql.exec("ALTER TABLE run ADD COLUMN code_version TEXT");
    },
  },
  {
    version: 5,
    description: "adaptive runs' waves: how many were launched, why the search stopped, the judging of a wave (waves.ts)",
    up(sql) {
      sql.exec("ALTER TABLE run ADD COLUMN waves TEXT");
    },
  },
  {
    version: 6,
    description: "when each step started (its first attempt) and ended, epoch ms: the run page draws every fork's steps on the run's clock",
    up(sql) {
      sql.exec("ALTER TABLE steps ADD COLUMN started_at INTEGER");
      sql.exec("ALTER TABLE steps ADD COLUMN ended_at INTEGER");
    },
  },
  {
    version: 7,
    description: "merge forks (POST …/merge): what each combines ({ forks, prompt?, model?, idempotencyKey? }, merging.ts); null for any other fork",
    up(sql) {
      sql.exec("ALTER TABLE forks ADD COLUMN merged_from TEXT");
    },
  },
  {
    version: 8,
    description: "how many times a budget raise continued a fork after a budget stop ended it (run-budget.ts): each such life books its sandbox time under its own key",
    up(sql) {
      // With a default: a build that predates it inserts forks as before (two versions run against it).
      sql.exec("ALTER TABLE forks ADD COLUMN budget_resumes INTEGER NOT NULL DEFAULT 0");
    },
  },
];
