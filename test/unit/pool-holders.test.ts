// What a holder does with its sandbox, with a fake backend and a fake clock: fork it within the
// cap, pause and resume it (paused time not billed, not live), keep it for a session and hand it over.
import { describe, expect, it } from "vitest";
import { leaseRequest, ok, poolUnderTest } from "./support/pool-fakes";

describe("forking a holder's sandbox", () => {
  it("forks all children or none (429) within the cap; with partial, as many as fit; repeated calls answer the same children", async () => {
    const { logic, backend } = poolUnderTest({ maxLiveSandboxes: 3 });
    const source = leaseRequest();
    ok(await logic.acquirer.acquire(source));
    const children = [leaseRequest(), leaseRequest(), leaseRequest()];
    await expect(logic.holders.fork(source.key, children, {})).rejects.toMatchObject({ code: "rate_limited", retryAfterSeconds: 5 });
    const partial = await logic.holders.fork(source.key, children, { partial: true });
    expect(partial.map((c) => [c.key, c.forkedNow])).toEqual([
      [children[0]!.key, true],
      [children[1]!.key, true],
    ]);
    expect(backend.count("fork")).toBe(1);
    const again = await logic.holders.fork(source.key, children.slice(0, 2), {});
    expect(again.map((c) => c.forkedNow)).toEqual([false, false]);
    expect(again.map((c) => c.sandboxId)).toEqual(partial.map((c) => c.sandboxId));
    expect(backend.count("fork")).toBe(1);
  });

  it("forks 250 children in calls of at most 100, as E2B allows; every child gets its own active sandbox", async () => {
    const { logic, backend } = poolUnderTest({ maxLiveSandboxes: 300 });
    const source = leaseRequest();
    ok(await logic.acquirer.acquire(source));
    const children = Array.from({ length: 250 }, () => leaseRequest());
    const forked = await logic.holders.fork(source.key, children, {});
    expect(backend.count("fork")).toBe(3);
    expect(forked.map((c) => c.key)).toEqual(children.map((c) => c.key));
    expect(new Set(forked.map((c) => c.sandboxId)).size).toBe(250);
  });

  it("a paused source is resumed for the fork and paused again; a failed fork frees the reserved capacity", async () => {
    const { logic, core, backend } = poolUnderTest({ maxLiveSandboxes: 3 });
    const source = leaseRequest();
    ok(await logic.acquirer.acquire(source));
    await logic.holders.suspend(source.key);
    await logic.holders.fork(source.key, [leaseRequest()], {});
    const sourceId = core.leases.get(source.key)!.sandbox_id!;
    expect(backend.calls.filter((c) => c.sandboxId === sourceId).map((c) => c.op)).toEqual(["pause", "resume", "fork", "pause"]);
    backend.fail("fork", new Error("boom"));
    const child = leaseRequest();
    await expect(logic.holders.fork(source.key, [child], {})).rejects.toThrow("boom");
    expect(core.leases.get(child.key)).toBeUndefined();
  });

  it("refuses a source that holds no sandbox", async () => {
    const { logic } = poolUnderTest();
    await expect(logic.holders.fork("nobody", [leaseRequest()], {})).rejects.toMatchObject({ code: "lease_not_active" });
  });
});

describe("pausing, keeping and handing over", () => {
  it("a suspended sandbox is not live nor billed; resuming needs room, and sets the timeout asked", async () => {
    const { logic, core, backend, clock } = poolUnderTest({ maxLiveSandboxes: 1 });
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    clock.advance(10_000);
    await logic.holders.suspend(r.key);
    await logic.holders.suspend(r.key);
    expect(backend.count("pause")).toBe(1);
    expect(core.capacity.free()).toBe(1);
    const other = leaseRequest();
    ok(await logic.acquirer.acquire(other));
    await expect(logic.holders.resume(r.key)).rejects.toMatchObject({ code: "rate_limited" });
    await core.release(other.key);
    clock.advance(50_000);
    expect(await logic.holders.resume(r.key, 900)).toMatchObject({ resumed: true });
    expect(backend.sandboxes.get(core.leases.get(r.key)!.sandbox_id!)!.timeoutSeconds).toBe(900);
    expect(await logic.holders.resume(r.key, 1200)).toMatchObject({ resumed: false });
    expect(backend.count("setTimeout")).toBe(1);
    clock.advance(5_000);
    expect(await logic.holders.releaseFork(r.runId, r.fork)).toEqual({ aliveSeconds: 15 });
  });

  it("keeps a finished fork's sandbox paused until a time, idempotently; a session adopts it until then", async () => {
    const { logic, core, clock } = poolUnderTest();
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    clock.advance(4_000);
    const kept = await logic.holders.keep(r.key, 60);
    expect(kept).toMatchObject({ killed: false, aliveSeconds: 4, keptUntil: clock.now() + 60_000 });
    expect(await logic.holders.keep(r.key, 60)).toEqual(kept);
    expect(logic.status().paused).toBe(1);
    const session = leaseRequest({ key: "session-1", holder: "session" });
    expect(logic.holders.adopt(r.key, session)).toEqual({ sandboxId: kept.sandboxId });
    expect(core.leases.get("session-1")).toMatchObject({ holder: "session", state: "paused", kept_until: null });
    expect(() => logic.holders.adopt(r.key, session)).toThrow(expect.objectContaining({ code: "sandbox_not_kept" }));
  });

  it("a sandbox that cannot be paused is released instead of kept; a keep expired cannot be adopted", async () => {
    const { logic, backend, clock } = poolUnderTest();
    const [a, b] = [leaseRequest(), leaseRequest()];
    ok(await logic.acquirer.acquire(a));
    ok(await logic.acquirer.acquire(b));
    backend.fail("pause", new Error("no"));
    expect(await logic.holders.keep(a.key, 60)).toMatchObject({ killed: true, keptUntil: null });
    await logic.holders.keep(b.key, 60);
    clock.advance(60_000);
    expect(() => logic.holders.adopt(b.key, leaseRequest())).toThrow(expect.objectContaining({ code: "sandbox_not_kept" }));
  });
});
