// The warm pool with a fake backend and a fake clock: refill to min, hand-out (running: timeout
// extended; paused: resumed), idle recycling with its overhead booked, the target following
// cold acquires, shedding for waiters, entries that follow an alias, the cap on configured mins.
import { describe, expect, it } from "vitest";
import { RateLimitedError } from "../../src/core/errors";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";
import { leaseRequest, ok, poolUnderTest, warmConfig } from "./support/pool-fakes";

async function configured(templates: Parameters<ReturnType<typeof poolUnderTest>["logic"]["warm"]["configure"]>[0], settings = {}) {
  const pool = poolUnderTest(settings);
  await pool.logic.warm.configure(templates);
  await pool.host.settle();
  return pool;
}

describe("the warm pool", () => {
  it("keeps min running sandboxes ready; a holder takes one (its timeout extended to the holder's) and the pool refills", async () => {
    const { logic, backend, host } = await configured({ base: warmConfig({ min: 2, max: 2, idleSeconds: 120 }) });
    expect(host.alarmWithin).toBe(0);
    expect(logic.status().templates.base).toMatchObject({ min: 2, max: 2, warm: { running: 2, paused: 0, creating: 0 }, hits: 0, misses: 0 });
    expect(backend.count("create")).toBe(2);
    // A warm sandbox lives idleSeconds plus a margin unless handed out.
    expect([...backend.sandboxes.values()].map((s) => s.timeoutSeconds)).toEqual([240, 240]);
    expect([...backend.sandboxes.values()][0]!.metadata[SANDBOX_TAG.lease]).toMatch(/^warm-/);

    const r = leaseRequest({ timeoutSeconds: 3600 });
    const got = ok(await logic.acquirer.acquire(r));
    expect(got).toMatchObject({ status: "acquired", adopted: false });
    await host.settle();
    expect(backend.sandboxes.get(got.status === "acquired" ? got.sandboxId : "")!.timeoutSeconds).toBe(3600);
    expect(backend.count("create")).toBe(3);
    expect(logic.status().templates.base).toMatchObject({ warm: { running: 2 }, hits: 1, misses: 0, acquireMs: { warm: { count: 1 } } });
    expect(logic.status().live).toBe(1);
  });

  it("paused warm sandboxes neither run nor count; a holder's acquire resumes one", async () => {
    const { logic, core, backend } = await configured({ base: warmConfig({ mode: "paused" }) }, { maxLiveSandboxes: 1 });
    expect([...backend.sandboxes.values()].map((s) => s.state)).toEqual(["paused"]);
    expect(core.capacity.free()).toBe(1);
    expect(ok(await logic.acquirer.acquire(leaseRequest()))).toMatchObject({ status: "acquired" });
    expect(backend.count("resume")).toBe(1);
    expect(logic.status().templates.base!.hits).toBe(1);
  });

  it("a paused warm sandbox that cannot be resumed is killed and the holder gets a new one", async () => {
    const { logic, backend, host } = await configured({ base: warmConfig({ mode: "paused" }) });
    const [warm] = [...backend.sandboxes.keys()];
    backend.fail("resume", new Error("gone"));
    expect(ok(await logic.acquirer.acquire(leaseRequest()))).toMatchObject({ status: "acquired" });
    await host.settle();
    expect(backend.sandboxes.has(warm!)).toBe(false);
    expect(backend.count("create")).toBe(2);
    // The alarm refills it.
    await logic.alarm();
    expect(backend.count("create")).toBe(3);
  });

  it("recycles a sandbox idle past idleSeconds and books its idle time as overhead", async () => {
    const { logic, backend, clock, host } = await configured({ base: warmConfig({ idleSeconds: 10 }) });
    const [first] = [...backend.sandboxes.keys()];
    clock.advance(11_000);
    await logic.warm.maintain();
    await host.settle();
    expect(backend.sandboxes.has(first!)).toBe(false);
    expect(backend.count("create")).toBe(2);
    const status = logic.status().templates.base!;
    expect(status.warm.running).toBe(1);
    expect(status.overhead.sandboxSeconds).toBe(11);
    expect(status.overhead.usd).toBeGreaterThan(0);
    // The alarm keeps coming while the pool has a config.
    expect(await logic.alarm()).toBe(5_000);
  });

  it("raises the target by recent cold acquires, up to max, and misses are counted", async () => {
    const { logic, host, backend } = await configured({ base: warmConfig({ min: 0, max: 2, idleSeconds: 60 }) });
    expect(backend.count("create")).toBe(0);
    ok(await logic.acquirer.acquire(leaseRequest()));
    await logic.warm.maintain();
    await host.settle();
    expect(logic.status().templates.base).toMatchObject({ misses: 1, warm: { running: 1 } });
  });

  it("sheds a running warm sandbox for a holder waiting for capacity, and refills only when nobody waits", async () => {
    const { logic, host, backend } = await configured({ base: warmConfig({ min: 1, max: 1 }) }, { maxLiveSandboxes: 2 });
    ok(await logic.acquirer.acquire(leaseRequest({ template: "other" })));
    await host.settle();
    // Warm one + the holder's: full. Another holder of another template waits.
    const waiter = leaseRequest({ template: "other" });
    expect(ok(await logic.acquirer.acquire(waiter))).toMatchObject({ status: "wait", reason: "capacity" });
    await logic.warm.maintain();
    await host.settle();
    expect(logic.status().templates.base!.warm.running).toBe(0);
    expect(host.notified.map((w) => w.key)).toEqual([waiter.key]);
    ok(await logic.acquirer.acquire(waiter));
    const creates = backend.count("create");
    await logic.warm.maintain();
    expect(backend.count("create")).toBe(creates);
  });

  it("no refill while a 429 holds creates back", async () => {
    const { logic, backend, clock, host } = poolUnderTest();
    backend.fail("create", new RateLimitedError("slow", 30));
    await logic.warm.configure({ base: warmConfig({ min: 1 }) });
    await host.settle();
    expect(logic.status().templates.base!.warm.running).toBe(0);
    await logic.warm.maintain();
    expect(backend.count("create")).toBe(1);
    clock.advance(30_000);
    await logic.warm.maintain();
    expect(logic.status().templates.base!.warm.running).toBe(1);
  });

  it("an entry follows what it resolves to (an alias moved): the old version's sandbox is replaced", async () => {
    const pool = poolUnderTest();
    pool.host.entries.set("my-alias", "tpl-v1");
    await pool.logic.warm.configure({ "my-alias": warmConfig() });
    await pool.host.settle();
    expect([...pool.backend.sandboxes.values()].map((s) => s.template)).toEqual(["tpl-v1"]);
    pool.host.entries.set("my-alias", "tpl-v2");
    await pool.logic.warm.maintain();
    await pool.logic.warm.maintain();
    expect([...pool.backend.sandboxes.values()].map((s) => s.template)).toEqual(["tpl-v2"]);
    // A holder of the resolved template takes it, booked to the entry.
    expect(ok(await pool.logic.acquirer.acquire(leaseRequest({ template: "tpl-v2" })))).toMatchObject({ status: "acquired" });
    expect(pool.logic.status().templates["my-alias"]!.hits).toBe(1);
  });

  it("rejects running minimums that do not fit under the cap, naming the field", async () => {
    const { logic } = poolUnderTest({ maxLiveSandboxes: 50 });
    await expect(logic.warm.configure({ base: warmConfig({ min: 30, max: 30 }), other: warmConfig({ min: 30, max: 30 }) })).rejects.toMatchObject({
      code: "invalid_input",
      details: { field: "templates.base.min" },
    });
    await expect(logic.warm.configure({ base: warmConfig({ min: 30, max: 30 }), other: warmConfig({ min: 30, max: 30, mode: "paused" }) })).resolves.toBeDefined();
  });
});
