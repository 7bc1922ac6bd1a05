import { addColumnOnce, type Migration } from "../shared/migrations";

/**
 * The Pool's SQLite schema, in versions (see shared/migrations.ts). Version 1 is the schema as the
 * unversioned builds left it, written idempotently: a deployed Pool or an `npm start` state dir
 * from any earlier build adopts it by running it over what it has (tables it lacks are created,
 * columns added since are added). A change from here on is a new version, never an edit of one.
 */
export const POOL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "leases, waiters, counters and the warm pool as the unversioned builds made them",
    up(sql) {
      sql.exec(`CREATE TABLE IF NOT EXISTS leases (
        key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        fork INTEGER NOT NULL,
        sandbox_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('creating','active','paused','released')),
        created_at INTEGER NOT NULL,
        acquired_at INTEGER,
        released_at INTEGER,
        paused_at INTEGER,
        paused_ms INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS leases_state ON leases (state);
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS leases_run ON leases (run_id);`);
      addColumnOnce(sql, "leases", "kill_pending INTEGER NOT NULL DEFAULT 0");
      addColumnOnce(sql, "leases", "handle TEXT");
      addColumnOnce(sql, "leases", "holder TEXT NOT NULL DEFAULT 'run'");
      addColumnOnce(sql, "leases", "kept_until INTEGER");
      // With leases_state, the live count (state IN … OR kill_pending = 1) reads live leases only.
      sql.exec("CREATE INDEX IF NOT EXISTS leases_kill_pending ON leases (kill_pending)");
      sql.exec("CREATE INDEX IF NOT EXISTS leases_sandbox ON leases (sandbox_id)");
      // Holders waiting for capacity, first come first served across runs (seq = arrival order).
      sql.exec(`CREATE TABLE IF NOT EXISTS waiters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        instance_id TEXT,
        enqueued_at INTEGER NOT NULL,
        notified_at INTEGER
      )`);
      addColumnOnce(sql, "waiters", "holder TEXT NOT NULL DEFAULT 'run'");
      sql.exec(`CREATE TABLE IF NOT EXISTS warm_config (
        template TEXT PRIMARY KEY, min INTEGER NOT NULL, max INTEGER NOT NULL,
        idle_seconds INTEGER NOT NULL, mode TEXT NOT NULL CHECK (mode IN ('running','paused')));
      CREATE TABLE IF NOT EXISTS warm (
        key TEXT PRIMARY KEY, template TEXT NOT NULL, sandbox_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('creating','running','paused')),
        created_at INTEGER NOT NULL, ready_at INTEGER, handle TEXT);
      CREATE INDEX IF NOT EXISTS warm_template ON warm (template, state);
      CREATE TABLE IF NOT EXISTS warm_stats (
        template TEXT PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0, misses INTEGER NOT NULL DEFAULT 0,
        idle_ms INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS acquire_samples (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, template TEXT NOT NULL, kind TEXT NOT NULL,
        ms INTEGER NOT NULL, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS acquire_samples_by ON acquire_samples (template, kind, seq);`);
      addColumnOnce(sql, "warm", "template_id TEXT");
    },
  },
  {
    version: 2,
    description: "waiters get a priority: background holders (an eval's runs) queue behind interactive ones",
    up(sql) {
      addColumnOnce(sql, "waiters", "priority INTEGER NOT NULL DEFAULT 0");
      sql.exec("CREATE INDEX IF NOT EXISTS waiters_order ON waiters (priority, seq)");
    },
  },
];
