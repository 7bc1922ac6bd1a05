/** Adds a column to a table created by an older version of a schema (SQLite has no IF NOT EXISTS for it). */
export function addColumnOnce(sql: SqlStorage, table: string, definition: string): void {
  const column = definition.split(" ")[0]!;
  const exists = sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().some((c) => c.name === column);
  if (!exists) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${definition}`);
}
