/**
 * Versioned schema migrations for a Durable Object's SQLite (the pattern of cloudflare/agents): each
 * object lists its migrations in order, and its constructor calls `migrate` once per wake. The
 * version reached is stored in the object's own database, so an object that is current runs no DDL
 * at all, and one a newer build wakes runs only what is new, in one transaction.
 *
 * Version 1 of every object is its schema as it stood before versioning, written idempotently
 * (CREATE … IF NOT EXISTS, columns added only when missing): an object from any earlier build — a
 * deployed one, or a `npm start` state dir — adopts version 1 by running it over what it has.
 * Later versions are plain DDL that runs exactly once. A migration is never edited once released:
 * a change is a new version.
 */

export interface Migration {
  version: number;
  /** What the version changes, for the log and the reader. */
  description: string;
  up(sql: SqlStorage): void;
}

/** The storage a migration needs: the object's SQL and its synchronous transaction. */
export type MigratableStorage = Pick<DurableObjectStorage, "sql" | "transactionSync">;

const VERSION_TABLE = "_schema_version";

/** The version an object's database is at (0: never migrated). */
export function schemaVersion(sql: SqlStorage): number {
  const exists = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", VERSION_TABLE).one().n > 0;
  if (!exists) return 0;
  return sql.exec<{ version: number }>(`SELECT version FROM ${VERSION_TABLE} WHERE id = 1`).toArray()[0]?.version ?? 0;
}

/**
 * Brings the database up to the last migration: runs those above its version, in order, with the
 * new version recorded in the same transaction (a migration that throws leaves the version as it
 * was). A database newer than this build knows (a rolled-back deploy) is left alone.
 */
export function migrate(storage: MigratableStorage, migrations: readonly Migration[]): { from: number; to: number } {
  assertOrdered(migrations);
  const sql = storage.sql;
  const from = schemaVersion(sql);
  const pending = migrations.filter((m) => m.version > from);
  if (pending.length === 0) return { from, to: from };
  storage.transactionSync(() => {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`);
    for (const migration of pending) migration.up(sql);
    sql.exec(`INSERT INTO ${VERSION_TABLE} (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version`, pending.at(-1)!.version);
  });
  return { from, to: pending.at(-1)!.version };
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3… in order; found version ${m.version} at position ${i + 1}`);
  });
}

/** Adds a column to a table an older schema created (SQLite has no ADD COLUMN IF NOT EXISTS): for version 1's adoption of older state. */
export function addColumnOnce(sql: SqlStorage, table: string, definition: string): void {
  const column = definition.split(" ")[0]!;
  const exists = sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().some((c) => c.name === column);
  if (!exists) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${definition}`);
}
