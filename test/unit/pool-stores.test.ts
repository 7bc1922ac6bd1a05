// The Pool's schema (versioned migrations) and its stores over Node's SQLite: LeaseStore (leases,
// the queue, counters) and WarmStore (warm sandboxes, hits and misses, latency, idle overhead).
import { describe, expect, it } from "vitest";
import { migrate, schemaVersion } from "../../src/objects/shared/migrations";
import { POOL_MIGRATIONS } from "../../src/objects/pool/schema";
import { LeaseStore } from "../../src/objects/pool/lease-store";
import { WarmStore } from "../../src/objects/pool/warm-store";
import { billableSeconds } from "../../src/objects/pool/types";
import { sqliteStorage } from "./support/sqlite-storage";
import { leaseRequest, warmConfig } from "./support/pool-fakes";

function migrated() {
  const storage = sqliteStorage();
  migrate(storage, POOL_MIGRATIONS);
  return { storage, leases: new LeaseStore(storage.sql), warm: new WarmStore(storage.sql) };
}

const columns = (sql: SqlStorage, table: string) => sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().map((c) => c.name);

describe("the Pool's schema", () => {
  it("creates every table and column at the latest version on a new object", () => {
    const { storage } = migrated();
    expect(schemaVersion(storage.sql)).toBe(2);
    expect(columns(storage.sql, "waiters")).toContain("priority");
    expect(columns(storage.sql, "leases")).toEqual(expect.arrayContaining(["kill_pending", "handle", "holder", "kept_until"]));
    expect(columns(storage.sql, "waiters")).toContain("holder");
    expect(columns(storage.sql, "warm")).toContain("template_id");
    for (const table of ["counters", "warm_config", "warm_stats", "acquire_samples"]) expect(columns(storage.sql, table).length).toBeGreaterThan(0);
  });

  it("an unversioned Pool (tables of an older build, with leases) adopts version 1, then 2, and keeps its rows", () => {
    const storage = sqliteStorage();
    storage.sql.exec(`CREATE TABLE leases (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, fork INTEGER NOT NULL, sandbox_id TEXT,
      state TEXT NOT NULL CHECK (state IN ('creating','active','paused','released')), created_at INTEGER NOT NULL,
      acquired_at INTEGER, released_at INTEGER, paused_at INTEGER, paused_ms INTEGER NOT NULL DEFAULT 0)`);
    storage.sql.exec("CREATE TABLE warm (key TEXT PRIMARY KEY, template TEXT NOT NULL, sandbox_id TEXT, state TEXT NOT NULL, created_at INTEGER NOT NULL, ready_at INTEGER, handle TEXT)");
    storage.sql.exec("INSERT INTO leases (key, run_id, fork, sandbox_id, state, created_at, acquired_at) VALUES ('r1-1', 'r1', 1, 'sbx1', 'active', 1, 2)");
    expect(migrate(storage, POOL_MIGRATIONS)).toEqual({ from: 0, to: 2 });
    const lease = new LeaseStore(storage.sql).get("r1-1")!;
    expect(lease).toMatchObject({ sandbox_id: "sbx1", state: "active", kill_pending: 0, holder: "run", kept_until: null, handle: null });
    expect(columns(storage.sql, "warm")).toContain("template_id");
    expect(new LeaseStore(storage.sql).liveCount()).toBe(1);
  });

  it("runs no DDL once current", () => {
    const { storage } = migrated();
    expect(migrate(storage, POOL_MIGRATIONS)).toEqual({ from: 2, to: 2 });
  });

  it("version 2 gives the waiters of a version-1 Pool the interactive priority, in their order", () => {
    const storage = sqliteStorage();
    migrate(storage, POOL_MIGRATIONS.slice(0, 1));
    storage.sql.exec("INSERT INTO waiters (key, run_id, enqueued_at) VALUES ('a', 'r', 1), ('b', 'r', 2)");
    expect(migrate(storage, POOL_MIGRATIONS)).toEqual({ from: 1, to: 2 });
    expect(new LeaseStore(storage.sql).firstWaiters(5).map((w) => [w.key, w.priority])).toEqual([["a", 0], ["b", 0]]);
  });
});

describe("LeaseStore", () => {
  it("counts creating, active and kill-pending leases as live; paused and released ones not", () => {
    const { leases } = migrated();
    const [a, b, c, d] = [leaseRequest(), leaseRequest(), leaseRequest(), leaseRequest()];
    leases.insertCreating(a, 1);
    leases.insertActive(b, "sbx-b", null, 1);
    leases.insertActive(c, "sbx-c", null, 1);
    leases.pause(c.key, 2);
    leases.insertActive(d, "sbx-d", null, 1);
    leases.leave(d.key, "released", 3);
    expect(leases.liveCount()).toBe(2);
    leases.setKillPending(d.key, true);
    expect(leases.liveCount()).toBe(3);
    expect(leases.killPending().map((l) => l.key)).toEqual([d.key]);
    expect(leases.open().map((l) => l.key)).toEqual([a.key, b.key, c.key]);
    expect(leases.ofSandbox("sbx-d")).toBeUndefined();
    expect(leases.ofSandbox("sbx-b")?.key).toBe(b.key);
  });

  it("books paused time out of the billed time, and release ends it", () => {
    const { leases } = migrated();
    const r = leaseRequest();
    leases.insertActive(r, "sbx", null, 1_000);
    leases.pause(r.key, 11_000);
    expect(billableSeconds(leases.get(r.key)!, 41_000)).toBe(10);
    leases.leave(r.key, "active", 41_000);
    expect(leases.get(r.key)).toMatchObject({ state: "active", paused_ms: 30_000, paused_at: null });
    leases.leave(r.key, "released", 51_000);
    expect(billableSeconds(leases.get(r.key)!, 90_000)).toBe(20);
    // A released lease does not move again.
    leases.leave(r.key, "active", 60_000);
    expect(leases.get(r.key)!.state).toBe("released");
  });

  it("keeps, then transfers a kept lease to a new holder under its key", () => {
    const { leases } = migrated();
    const r = leaseRequest();
    leases.insertActive(r, "sbx", null, 0);
    leases.pause(r.key, 5, 1_000);
    expect(leases.get(r.key)).toMatchObject({ state: "paused", kept_until: 1_000 });
    leases.transfer(r.key, { ...leaseRequest({ key: "s1", runId: "s1", fork: 0 }), holder: "session" }, 100);
    expect(leases.get(r.key)).toBeUndefined();
    expect(leases.get("s1")).toMatchObject({ sandbox_id: "sbx", holder: "session", kept_until: null, acquired_at: 100, paused_at: 100, paused_ms: 0 });
  });

  it("gives up stale creates, and lists held leases acquired before a time", () => {
    const { leases } = migrated();
    const [old, fresh, held] = [leaseRequest(), leaseRequest(), leaseRequest()];
    leases.insertCreating(old, 0);
    leases.insertCreating(fresh, 100);
    leases.insertActive(held, "sbx", null, 50);
    expect(leases.releaseStaleCreating(60, 200)).toBe(1);
    expect(leases.get(old.key)).toMatchObject({ state: "released", released_at: 200 });
    expect(leases.heldSince(60).map((l) => l.key)).toEqual([held.key]);
    expect(leases.heldSince(50)).toEqual([]);
  });

  it("lists a run's open leases and all of a fork's; the queue keeps arrival order across runs", () => {
    const { leases } = migrated();
    const a = leaseRequest({ runId: "rq", key: "rq-1", fork: 1 });
    const b = leaseRequest({ runId: "rq", key: "rq-1b", fork: 1 });
    leases.insertActive(a, "s1", null, 0);
    leases.insertActive(b, "s2", null, 0);
    leases.leave(a.key, "released", 1);
    expect(leases.openKeysOfRun("rq")).toEqual([{ key: "rq-1b", fork: 1 }]);
    expect(leases.keysOfFork("rq", 1).sort()).toEqual(["rq-1", "rq-1b"]);

    const [w1, w2, w3] = [leaseRequest({ runId: "x" }), leaseRequest({ runId: "y" }), leaseRequest({ runId: "x" })];
    for (const w of [w1, w2, w3]) leases.enqueue(w, "run", 0);
    expect(leases.waitersAhead(leases.waiter(w3.key)!)).toBe(2);
    leases.dequeueRun("x");
    expect(leases.firstWaiters(10).map((w) => w.key)).toEqual([w2.key]);
    leases.markNotified(w2.key, 5);
    leases.renotifyTo(w2.key, "i-new");
    expect(leases.waiter(w2.key)).toMatchObject({ notified_at: null, instance_id: "i-new" });
    leases.countReaped();
    leases.countReaped();
    expect(leases.reapedTotal()).toBe(2);
  });
});

describe("WarmStore", () => {
  it("hands out running sandboxes first, then paused ones only when resumable, and books hits, misses and idle time", () => {
    const { warm } = migrated();
    warm.configure({ base: warmConfig({ min: 2, max: 2, idleSeconds: 60 }) });
    warm.insertCreating("w1", "base", "base", 0);
    warm.insertCreating("w2", "base", "base", 0);
    warm.markReady("w1", "paused", "s1", { sandboxId: "s1", envdVersion: "" }, 1_000);
    warm.markReady("w2", "running", "s2", { sandboxId: "s2", envdVersion: "" }, 2_000);
    expect(warm.liveCount()).toBe(1);
    expect(warm.take("base", false, 10_000)?.sandbox_id).toBe("s2");
    expect(warm.hasReady("base", false, 10_000)).toBe(false);
    expect(warm.take("base", true, 10_000)?.sandbox_id).toBe("s1");
    warm.miss("base");
    warm.miss("unconfigured");
    const status = warm.status(10_000, (s) => s);
    expect(status.base).toMatchObject({ hits: 2, misses: 1, hitRate: 2 / 3, overhead: { sandboxSeconds: 11 } });
    expect(status.unconfigured).toBeUndefined();
  });

  it("does not hand out a running sandbox older than idleSeconds (its timeout margin is short)", () => {
    const { warm } = migrated();
    warm.configure({ base: warmConfig({ idleSeconds: 10 }) });
    warm.insertCreating("w1", "base", "base", 0);
    warm.markReady("w1", "running", "s1", { sandboxId: "s1", envdVersion: "" }, 0);
    expect(warm.hasReady("base", true, 9_000)).toBe(true);
    expect(warm.hasReady("base", true, 11_000)).toBe(false);
  });

  it("keeps acquire-latency percentiles and counts recent cold acquires", () => {
    const { warm } = migrated();
    for (let i = 1; i <= 10; i++) warm.recordAcquire("base", "cold", i * 100, i * 1000);
    expect(warm.coldSince("base", 6_000)).toBe(5);
    expect(warm.status(0, () => 0).base!.acquireMs.cold).toEqual({ count: 10, p50: 600, p95: 1000 });
  });
});
