import { describe, expect, it } from "vitest";
import { migrate, schemaVersion, type Migration } from "../../src/objects/shared/migrations";
import { sqliteStorage } from "./support/sqlite-storage";
import { addColumnOnce } from "../../src/objects/shared/migrations";

const v1: Migration = {
  version: 1,
  description: "notes, adopting a table an unversioned build made",
  up(sql) {
    sql.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    addColumnOnce(sql, "notes", "pinned INTEGER NOT NULL DEFAULT 0");
  },
};
const v2: Migration = { version: 2, description: "tags", up: (sql) => void sql.exec("ALTER TABLE notes ADD COLUMN tags TEXT") };

const columns = (storage: ReturnType<typeof sqliteStorage>) => storage.sql.exec<{ name: string }>("PRAGMA table_info(notes)").toArray().map((c) => c.name);

describe("versioned migrations", () => {
  it("brings a new database to the last version and records it", () => {
    const storage = sqliteStorage();
    expect(migrate(storage, [v1, v2])).toEqual({ from: 0, to: 2 });
    expect(schemaVersion(storage.sql)).toBe(2);
    expect(columns(storage)).toEqual(["id", "body", "pinned", "tags"]);
  });

  it("runs no DDL once current: a migration that would fail is never run again", () => {
    const storage = sqliteStorage();
    migrate(storage, [v1, v2]);
    // v2 is not idempotent (ADD COLUMN twice throws): running it again would fail.
    expect(migrate(storage, [v1, v2])).toEqual({ from: 2, to: 2 });
  });

  it("adopts an unversioned database as version 1 and keeps its rows", () => {
    const storage = sqliteStorage();
    storage.sql.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    storage.sql.exec("INSERT INTO notes (id, body) VALUES (1, 'kept')");
    expect(migrate(storage, [v1])).toEqual({ from: 0, to: 1 });
    expect(storage.sql.exec("SELECT id, body, pinned FROM notes").toArray()).toEqual([{ id: 1, body: "kept", pinned: 0 }]);
  });

  it("runs only what is new when a newer build wakes the object", () => {
    const storage = sqliteStorage();
    migrate(storage, [v1]);
    expect(migrate(storage, [v1, v2])).toEqual({ from: 1, to: 2 });
    expect(columns(storage)).toContain("tags");
  });

  it("leaves the version as it was when a migration throws", () => {
    const storage = sqliteStorage();
    migrate(storage, [v1]);
    const broken: Migration = { version: 2, description: "broken", up: (sql) => void sql.exec("ALTER TABLE missing ADD COLUMN x TEXT") };
    expect(() => migrate(storage, [v1, broken])).toThrow(/missing/);
    expect(schemaVersion(storage.sql)).toBe(1);
  });

  it("refuses migrations out of order", () => {
    expect(() => migrate(sqliteStorage(), [v2, v1])).toThrow(/numbered 1, 2, 3/);
  });

  it("leaves a database newer than this build alone (a rolled-back deploy)", () => {
    const storage = sqliteStorage();
    migrate(storage, [v1, v2]);
    expect(migrate(storage, [v1])).toEqual({ from: 2, to: 2 });
  });
});
