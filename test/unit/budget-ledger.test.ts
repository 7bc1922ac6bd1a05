import { describe, expect, it } from "vitest";
import { BudgetLedger, RESERVATION_TTL_MS } from "../../src/objects/shared/budget-ledger";
import { migrate } from "../../src/objects/shared/migrations";
import { RUN_MIGRATIONS } from "../../src/objects/orchestrator/schema";
import { SESSION_MIGRATIONS } from "../../src/objects/session/schema";
import { sqliteStorage } from "./support/sqlite-storage";

const AT = "2026-01-01T00:00:00.000Z";
/** The time the ledger is asked at: a fixed instant, no clock. */
const NOW_MS = Date.parse(AT);

function runDb() {
  const storage = sqliteStorage();
  migrate(storage, RUN_MIGRATIONS);
  return storage;
}

describe("the budget ledger", () => {
  it("counts a key booked twice once (a retried step cannot count twice)", () => {
    const ledger = new BudgetLedger(runDb().sql, "fork");
    expect(ledger.book("fork:1:model-1:1", 1, "llm", 0.5, AT)).toBe(true);
    expect(ledger.book("fork:1:model-1:1", 1, "llm", 0.7, AT)).toBe(false);
    expect(ledger.spentUsd()).toBe(0.5);
    expect(ledger.byKind()).toEqual({ sandbox: 0, llm: 0.5 });
  });

  it("lets an accrual grow until a booking settles it", () => {
    const ledger = new BudgetLedger(runDb().sql, "fork");
    ledger.accrue("sandbox:1", 1, "sandbox", 0.1, AT);
    ledger.accrue("sandbox:1", 1, "sandbox", 0.05, AT);
    expect(ledger.spentUsd()).toBeCloseTo(0.1);
    ledger.accrue("sandbox:1", 1, "sandbox", 0.2, AT);
    expect(ledger.book("sandbox:1", 1, "sandbox", 0.25, AT)).toBe(true);
    ledger.accrue("sandbox:1", 1, "sandbox", 0.9, AT);
    expect(ledger.spentUsd()).toBeCloseTo(0.25);
    expect(ledger.byOwner().get(1)).toEqual({ sandbox: 0.25, llm: 0 });
  });

  it("keeps reservations across a new ledger on the same database (a restarted object still counts calls in flight)", () => {
    const storage = runDb();
    const now = NOW_MS;
    expect(new BudgetLedger(storage.sql, "fork").tryReserve("a", 1, 0.6, 1, 0, now)).toBe(true);
    const restarted = new BudgetLedger(storage.sql, "fork");
    expect(restarted.reservedUsd(now)).toBeCloseTo(0.6);
    expect(restarted.tryReserve("b", 2, 0.6, 1, 0, now)).toBe(false);
    expect(restarted.tryReserve("b", 2, 0.3, 1, 0, now)).toBe(true);
  });

  it("releases a reservation when its cost is booked, when released and when its owner ends", () => {
    const ledger = new BudgetLedger(runDb().sql, "fork");
    const now = NOW_MS;
    ledger.tryReserve("a", 1, 0.2, 10, 0, now);
    ledger.tryReserve("b", 1, 0.3, 10, 0, now);
    ledger.tryReserve("c", 2, 0.4, 10, 0, now);
    ledger.book("a", 1, "llm", 0.25, AT);
    expect(ledger.reservedUsd(now)).toBeCloseTo(0.7);
    ledger.release("c");
    expect(ledger.reservedUsd(now)).toBeCloseTo(0.3);
    ledger.releaseOwner(1);
    expect(ledger.reservedUsd(now)).toBe(0);
  });

  it("does not count a key's own reservation against it, and drops reservations past their time", () => {
    const ledger = new BudgetLedger(runDb().sql, "fork");
    const now = NOW_MS;
    expect(ledger.tryReserve("a", 1, 0.8, 1, 0, now)).toBe(true);
    // The same call asked again (its step re-ran): it replaces its own reservation.
    expect(ledger.tryReserve("a", 1, 0.8, 1, 0, now)).toBe(true);
    expect(ledger.tryReserve("b", 1, 0.8, 1, 0, now)).toBe(false);
    expect(ledger.tryReserve("b", 1, 0.8, 1, 0, now + RESERVATION_TTL_MS + 1)).toBe(true);
  });

  it("serves a session's ledger (entries by turn) the same way", () => {
    const storage = sqliteStorage();
    migrate(storage, SESSION_MIGRATIONS);
    const ledger = new BudgetLedger(storage.sql, "turn");
    ledger.book("turn:1:model-1:1", 1, "llm", 0.1, AT);
    ledger.book("turn:2:model-1:1", 2, "llm", 0.2, AT);
    expect(ledger.spentOn("llm")).toBeCloseTo(0.3);
    expect(ledger.spentOn("llm", 2)).toBeCloseTo(0.2);
    expect(ledger.tryReserve("turn:3:model-1:1", 3, 0.5, 1, ledger.spentOn("llm"), NOW_MS)).toBe(true);
    expect(new BudgetLedger(storage.sql, "turn").reservedUsd(NOW_MS)).toBeCloseTo(0.5);
  });
});

describe("the objects' schemas", () => {
  it("adopts a session stored before versioning: its rows kept, its reservations given an owner and a time", () => {
    const storage = sqliteStorage();
    storage.sql.exec("CREATE TABLE ledger (key TEXT PRIMARY KEY, turn INTEGER NOT NULL, kind TEXT NOT NULL, usd REAL NOT NULL, at TEXT NOT NULL)");
    storage.sql.exec("CREATE TABLE reservations (key TEXT PRIMARY KEY, usd REAL NOT NULL)");
    storage.sql.exec("INSERT INTO ledger VALUES ('k', 1, 'llm', 0.4, ?)", AT);
    storage.sql.exec("INSERT INTO reservations VALUES ('old', 0.3)");
    expect(migrate(storage, SESSION_MIGRATIONS)).toEqual({ from: 0, to: 3 });
    const ledger = new BudgetLedger(storage.sql, "turn");
    expect(ledger.spentUsd()).toBeCloseTo(0.4);
    expect(ledger.book("k", 1, "llm", 9, AT)).toBe(false);
    expect(ledger.reservedUsd(NOW_MS)).toBe(0);
  });

  it("adopts a run stored before versioning (version 1 creates what is missing) and adds its reservations (version 2)", () => {
    const storage = sqliteStorage();
    storage.sql.exec("CREATE TABLE forks (n INTEGER PRIMARY KEY, status TEXT NOT NULL, branch TEXT NOT NULL)");
    storage.sql.exec("INSERT INTO forks (n, status, branch) VALUES (1, 'queued', 'b1')");
    expect(migrate(storage, RUN_MIGRATIONS)).toEqual({ from: 0, to: RUN_MIGRATIONS.length });
    expect(storage.sql.exec("SELECT n, status, paused_ms, parent FROM forks").toArray()).toEqual([{ n: 1, status: "queued", paused_ms: 0, parent: null }]);
    expect(migrate(storage, RUN_MIGRATIONS)).toEqual({ from: RUN_MIGRATIONS.length, to: RUN_MIGRATIONS.length });
  });
});
