// The reaper over the Pool's state with a fake backend and a fake clock: what it kills and why,
// what it spares, and the leases it frees so no capacity is lost for good.
import { describe, expect, it } from "vitest";
import { SandboxUnavailableError } from "../../src/core/errors";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";
import { STALE_CREATING_MS } from "../../src/objects/pool/reap-plan";
import { DEFAULT_SETTINGS } from "./support/pool-fakes";
import { leaseRequest, ok, poolUnderTest, warmConfig } from "./support/pool-fakes";

const tagged = (lease: string, run?: string) => ({ [SANDBOX_TAG.app]: "1", [SANDBOX_TAG.lease]: lease, ...(run ? { [SANDBOX_TAG.run]: run } : {}) });

describe("the reaper", () => {
  it("kills a Forkyard-tagged orphan and leaves other sandboxes alone", async () => {
    const { logic, backend } = poolUnderTest();
    const orphan = backend.plant(tagged("rorphan-1", "rorphan"));
    const bystander = backend.plant({ owner: "someone-else" });
    expect(await logic.reap()).toEqual({ killed: [{ sandboxId: orphan.sandboxId, runId: "rorphan", reason: "no_lease" }], freed: [] });
    expect([...backend.sandboxes.keys()]).toEqual([bystander.sandboxId]);
    expect(logic.status().reapedTotal).toBe(1);
  });

  it("kills the sandboxes of finished runs and those over the max age (a session's excepted), releasing their leases", async () => {
    const { logic, core, backend, host, clock } = poolUnderTest({ reaperMaxAgeSeconds: 3600, maxLiveSandboxes: 5 });
    const [done, old, session, running] = [leaseRequest(), leaseRequest(), leaseRequest({ holder: "session" }), leaseRequest()];
    for (const r of [done, old, session, running]) ok(await logic.acquirer.acquire(r));
    host.finished.add(done.runId);
    clock.advance(1000);
    const killed = (await logic.reap()).killed;
    expect(killed).toEqual([{ sandboxId: core.leases.get(done.key)!.sandbox_id, runId: done.runId, reason: "run_finished" }]);
    expect(core.leases.get(done.key)!.state).toBe("released");

    clock.advance(3600_000);
    expect((await logic.reap()).killed.map((k) => [k.runId, k.reason])).toEqual([
      [old.runId, "max_age"],
      [running.runId, "max_age"],
    ]);
    expect(core.leases.get(session.key)!.state).toBe("active");
    expect(backend.sandboxes.size).toBe(1);
  });

  it("spares a kept sandbox until its keep expires", async () => {
    const { logic, core, host, clock } = poolUnderTest();
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    await logic.holders.keep(r.key, 60);
    host.finished.add(r.runId);
    expect((await logic.reap()).killed).toEqual([]);
    clock.advance(60_000);
    expect((await logic.reap()).killed).toEqual([{ sandboxId: core.leases.get(r.key)!.sandbox_id, runId: r.runId, reason: "keep_expired" }]);
  });

  it("spares warm sandboxes and a warm sandbox held by a running holder; a forked child's lease is found by its id", async () => {
    const { logic, backend, host } = poolUnderTest({ maxLiveSandboxes: 5 });
    await logic.warm.configure({ base: warmConfig({ min: 2, max: 2 }) });
    await host.settle();
    const holder = leaseRequest();
    ok(await logic.acquirer.acquire(holder));
    await logic.holders.fork(holder.key, [leaseRequest()], {});
    await host.settle();
    expect((await logic.reap()).killed).toEqual([]);
    expect(backend.sandboxes.size).toBe(4);
  });

  it("frees a lease whose sandbox vanished (after the grace period only), and a stale create", async () => {
    const { logic, core, backend, clock } = poolUnderTest({ maxLiveSandboxes: 2 });
    const [r, stale] = [leaseRequest(), leaseRequest()];
    ok(await logic.acquirer.acquire(r));
    core.leases.insertCreating(stale, clock.now());
    const sandboxId = core.leases.get(r.key)!.sandbox_id!;
    backend.sandboxes.delete(sandboxId);
    expect((await logic.reap()).freed).toEqual([]);
    clock.advance(DEFAULT_SETTINGS.reaperGoneGraceMs + 1);
    expect((await logic.reap()).freed).toEqual([{ key: r.key, sandboxId, reason: "sandbox_gone" }]);
    expect(core.capacity.free()).toBe(1);
    clock.advance(STALE_CREATING_MS);
    await logic.reap();
    expect(core.capacity.free()).toBe(2);
  });

  it("settles kills that failed at release (retried, or the sandbox already gone), and counts a failed reap kill for later", async () => {
    const { logic, core, backend } = poolUnderTest();
    const [a, b] = [leaseRequest(), leaseRequest()];
    ok(await logic.acquirer.acquire(a));
    ok(await logic.acquirer.acquire(b));
    backend.fail("kill", new SandboxUnavailableError("503"), 2);
    await core.release(a.key);
    await core.release(b.key);
    backend.sandboxes.delete(core.leases.get(b.key)!.sandbox_id!);
    const orphan = backend.plant(tagged("gone-1"));
    backend.fail("kill", new SandboxUnavailableError("503"), 1);
    // The failed retry of a's kill comes first; b's sandbox is gone (a kill that finds nothing is done).
    const first = await logic.reap();
    expect(first.freed.map((f) => [f.key, f.reason])).toEqual([[b.key, "kill_retried"]]);
    expect(first.killed.map((k) => k.sandboxId)).toContain(orphan.sandboxId);
    const second = await logic.reap();
    expect(second.freed.map((f) => [f.key, f.reason])).toEqual([[a.key, "kill_retried"]]);
    expect(backend.sandboxes.size).toBe(0);
  });
});
