// The Pool's acquisition with a fake sandbox backend and a fake clock: idempotent per key, the
// live cap and the FIFO queue, the creation rate and the provider's 429s, failures, creates
// started ahead of a run's forks (Pool.prepare), and releases (kills retried until done).
import { describe, expect, it } from "vitest";
import { RateLimitedError, SandboxAuthError, SandboxUnavailableError } from "../../src/core/errors";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";
import { RENOTIFY_MS } from "../../src/objects/pool/capacity";
import { KILL_RETRY_MS } from "../../src/objects/pool/core";
import { leaseRequest, ok, poolUnderTest } from "./support/pool-fakes";

describe("acquire", () => {
  it("creates a tagged sandbox once per key: asked again it answers the same one with no control-plane call", async () => {
    const { logic, backend } = poolUnderTest();
    const r = leaseRequest();
    expect(ok(await logic.acquirer.acquire(r))).toMatchObject({ status: "acquired", adopted: false });
    const [sandbox] = [...backend.sandboxes.values()];
    expect(sandbox!.metadata).toEqual({ [SANDBOX_TAG.lease]: r.key, [SANDBOX_TAG.run]: r.runId, [SANDBOX_TAG.fork]: "1", [SANDBOX_TAG.app]: "1" });
    expect(sandbox!.timeoutSeconds).toBe(r.timeoutSeconds);
    const calls = backend.calls.length;
    expect(ok(await logic.acquirer.acquire(r))).toMatchObject({ status: "acquired", adopted: true, sandboxId: sandbox!.sandboxId });
    expect(backend.calls.length).toBe(calls);
  });

  it("a second ask while the first is in flight joins it", async () => {
    const { logic, backend } = poolUnderTest();
    const r = leaseRequest();
    const [a, b] = await Promise.all([logic.acquirer.acquire(r), logic.acquirer.acquire(r)]);
    expect(ok(a)).toEqual(ok(b));
    expect(backend.count("create")).toBe(1);
  });

  it("adopts the sandbox of an attempt that lost the provider's answer instead of creating a second", async () => {
    const { logic, core, backend } = poolUnderTest();
    const r = leaseRequest();
    core.leases.insertCreating(r, core.now());
    const lost = backend.plant({ [SANDBOX_TAG.app]: "1", [SANDBOX_TAG.lease]: r.key });
    expect(ok(await logic.acquirer.acquire(r))).toMatchObject({ status: "acquired", sandboxId: lost.sandboxId, adopted: true });
    expect(backend.count("create")).toBe(0);
  });

  it("refuses a released or paused lease's key", async () => {
    const { logic, core } = poolUnderTest();
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    await logic.holders.suspend(r.key);
    expect(await logic.acquirer.acquire(r)).toMatchObject({ ok: false, error: { code: "lease_paused" } });
    await core.release(r.key);
    expect(await logic.acquirer.acquire(r)).toMatchObject({ ok: false, error: { code: "lease_released" } });
  });
});

describe("the live cap and the queue", () => {
  it("a holder over the cap waits its turn, first come first served across runs, and is told when it comes", async () => {
    const { logic, core, host } = poolUnderTest({ maxLiveSandboxes: 1 });
    const holder = leaseRequest();
    ok(await logic.acquirer.acquire(holder));
    const waiting = [leaseRequest({ runId: "ra" }), leaseRequest({ runId: "rb" }), leaseRequest({ runId: "ra" })];
    const answers = [];
    for (const r of waiting) answers.push(ok(await logic.acquirer.acquire(r)));
    expect(answers).toEqual([1, 2, 3].map((position) => ({ status: "wait", retryAfterMs: RENOTIFY_MS, reason: "capacity", position })));
    expect(host.alarmWithin).toBe(RENOTIFY_MS);
    expect(logic.status().waiting).toBe(3);

    await core.release(holder.key);
    await host.settle();
    expect(host.notified.map((w) => w.key)).toEqual([waiting[0]!.key]);
    // The second asks before the first took its turn: still behind it.
    expect(ok(await logic.acquirer.acquire(waiting[1]!))).toMatchObject({ status: "wait", position: 2 });
    expect(ok(await logic.acquirer.acquire(waiting[0]!))).toMatchObject({ status: "acquired" });
    expect(logic.status().waiting).toBe(2);
  });

  it("an eval's holders (background) queue behind interactive ones, whenever these arrive", async () => {
    const { logic, core, host } = poolUnderTest({ maxLiveSandboxes: 1 });
    const holder = leaseRequest();
    ok(await logic.acquirer.acquire(holder));
    const background = [leaseRequest({ runId: "eval-a", priority: "background" }), leaseRequest({ runId: "eval-b", priority: "background" })];
    for (const [i, r] of background.entries()) expect(ok(await logic.acquirer.acquire(r))).toMatchObject({ status: "wait", position: i + 1 });
    // An interactive run's fork comes later and goes ahead of both; a second one behind it.
    const interactive = [leaseRequest({ runId: "user-a" }), leaseRequest({ runId: "user-b" })];
    for (const [i, r] of interactive.entries()) expect(ok(await logic.acquirer.acquire(r))).toMatchObject({ status: "wait", position: i + 1 });
    // Asked again, the first background holder is now fourth.
    expect(ok(await logic.acquirer.acquire(background[0]!))).toMatchObject({ status: "wait", position: 3 });

    await core.release(holder.key);
    await host.settle();
    expect(host.notified.map((w) => w.key)).toEqual([interactive[0]!.key]);
    // A background holder asking while an interactive one waits does not take the freed slot.
    expect(ok(await logic.acquirer.acquire(background[1]!))).toMatchObject({ status: "wait" });
    expect(ok(await logic.acquirer.acquire(interactive[0]!))).toMatchObject({ status: "acquired" });
    // A new background holder never starts ahead of anyone queued.
    expect(logic.acquirer.createAhead([leaseRequest({ runId: "eval-c", priority: "background" })])).toBe(0);
  });

  it("the alarm tells a waiter again after RENOTIFY_MS, and drops one whose instance is gone", async () => {
    const { logic, core, host, clock } = poolUnderTest({ maxLiveSandboxes: 1 });
    const holder = leaseRequest();
    ok(await logic.acquirer.acquire(holder));
    const [gone, next] = [leaseRequest({ instanceId: "gone" }), leaseRequest()];
    await logic.acquirer.acquire(gone);
    await logic.acquirer.acquire(next);
    host.goneInstances.add("gone");
    await core.release(holder.key);
    await host.settle();
    expect(core.leases.waiter(gone.key)).toBeUndefined();
    expect(await logic.alarm()).toBe(RENOTIFY_MS);
    expect(host.notified.map((w) => w.key)).toEqual([next.key]);
    clock.advance(RENOTIFY_MS);
    await logic.alarm();
    expect(host.notified.map((w) => w.key)).toEqual([next.key, next.key]);
  });

  it("a run released at once (cancelled) leaves the queue and kills its sandboxes", async () => {
    const { logic, backend } = poolUnderTest({ maxLiveSandboxes: 2 });
    const [a, b, c] = [leaseRequest({ runId: "rx", key: "rx-1" }), leaseRequest({ runId: "rx", key: "rx-2", fork: 2 }), leaseRequest({ runId: "rx", key: "rx-3", fork: 3 })];
    for (const r of [a, b, c]) await logic.acquirer.acquire(r);
    expect(logic.status().waiting).toBe(1);
    expect((await logic.holders.releaseRun("rx")).map((x) => x.fork).sort()).toEqual([1, 2]);
    expect(logic.status()).toMatchObject({ waiting: 0, live: 0 });
    expect(backend.sandboxes.size).toBe(0);
  });
});

describe("the creation rate and the provider's 429s", () => {
  it("spaces creates 1/rate apart, waiting inline on the clock", async () => {
    const { logic, clock, backend } = poolUnderTest({ createRatePerSecond: 1, maxLiveSandboxes: 10 });
    const start = clock.now();
    const results = await Promise.all([leaseRequest(), leaseRequest(), leaseRequest()].map((r) => logic.acquirer.acquire(r)));
    // The third's slot (2 s away) is further than the inline wait: it is sent back.
    expect(results.map((r) => ok(r).status)).toEqual(["acquired", "acquired", "wait"]);
    expect(clock.now() - start).toBe(1000);
    expect(ok(await logic.acquirer.acquire(leaseRequest()))).toMatchObject({ status: "acquired" });
    expect(backend.calls.filter((c) => c.op === "create").map((c) => c.at - start)).toEqual([0, 1000, 2000]);
  });

  it("sends back a holder whose slot is further than the inline wait, and starts ahead only what the rate allows", async () => {
    const { logic, backend } = poolUnderTest({ createRatePerSecond: 1, maxLiveSandboxes: 10 });
    expect(logic.acquirer.createAhead([leaseRequest(), leaseRequest(), leaseRequest()])).toBe(2);
    expect(ok(await logic.acquirer.acquire(leaseRequest()))).toEqual({ status: "wait", retryAfterMs: 2000, reason: "rate" });
    expect(backend.count("create")).toBe(1);
  });

  it("a 429 makes the holder and everyone after it wait out its Retry-After; then creates go on", async () => {
    const { logic, clock, backend } = poolUnderTest();
    backend.fail("create", new RateLimitedError("slow down", 3));
    const [a, b] = [leaseRequest(), leaseRequest()];
    expect(ok(await logic.acquirer.acquire(a))).toEqual({ status: "wait", retryAfterMs: 3000, reason: "provider_rate_limit" });
    clock.advance(1000);
    expect(ok(await logic.acquirer.acquire(b))).toEqual({ status: "wait", retryAfterMs: 2000, reason: "provider_rate_limit" });
    expect(logic.acquirer.createAhead([leaseRequest()])).toBe(0);
    clock.advance(2000);
    expect(ok(await logic.acquirer.acquire(a))).toMatchObject({ status: "acquired" });
    expect(ok(await logic.acquirer.acquire(b))).toMatchObject({ status: "acquired" });
    expect(backend.count("create")).toBe(3);
  });

  it("a permanent failure frees the reserved capacity; a transient one keeps it for the retry", async () => {
    const { logic, core, backend } = poolUnderTest();
    const [bad, flaky] = [leaseRequest(), leaseRequest()];
    backend.fail("create", new SandboxAuthError("The sandbox provider rejected the API key."));
    expect(await logic.acquirer.acquire(bad)).toMatchObject({ ok: false, error: { code: "sandbox_auth_failed" } });
    expect(core.leases.get(bad.key)).toBeUndefined();
    backend.fail("create", new SandboxUnavailableError("503"));
    expect(await logic.acquirer.acquire(flaky)).toMatchObject({ ok: false, error: { code: "sandbox_unavailable" } });
    expect(core.leases.get(flaky.key)?.state).toBe("creating");
    expect(ok(await logic.acquirer.acquire(flaky))).toMatchObject({ status: "acquired", adopted: false });
    expect(backend.count("create")).toBe(3);
  });
});

describe("creates started ahead of a run's forks (Pool.prepare)", () => {
  it("starts what would be admitted now, in order, once per key; the holders' acquires join or find them", async () => {
    const { logic, host, backend } = poolUnderTest({ maxLiveSandboxes: 2 });
    const [a, b, c] = [leaseRequest(), leaseRequest(), leaseRequest()];
    expect(logic.acquirer.createAhead([a, b, c])).toBe(2);
    expect(logic.acquirer.createAhead([a])).toBe(0);
    expect(ok(await logic.acquirer.acquire(a))).toMatchObject({ status: "acquired", adopted: false });
    await host.settle();
    const calls = backend.calls.length;
    expect(ok(await logic.acquirer.acquire(b))).toMatchObject({ status: "acquired", adopted: true });
    expect(backend.calls.length).toBe(calls);
    expect(backend.count("create")).toBe(2);
  });

  it("never starts ahead of a holder queued for capacity", async () => {
    const { logic } = poolUnderTest({ maxLiveSandboxes: 1 });
    ok(await logic.acquirer.acquire(leaseRequest()));
    await logic.acquirer.acquire(leaseRequest());
    expect(logic.acquirer.createAhead([leaseRequest()])).toBe(0);
  });

  it("a sandbox whose lease is released while it is being created is killed as soon as it exists", async () => {
    const { logic, core, host, backend } = poolUnderTest();
    const r = leaseRequest();
    expect(logic.acquirer.createAhead([r])).toBe(1);
    expect(await core.release(r.key)).toMatchObject({ sandboxId: null, killed: false });
    await host.settle();
    expect(backend.count("create")).toBe(1);
    expect(backend.sandboxes.size).toBe(0);
    expect(await logic.acquirer.acquire(r)).toMatchObject({ ok: false, error: { code: "lease_released" } });
  });
});

describe("release", () => {
  it("kills the sandbox and answers its billed seconds; idempotent; an unknown key is a no-op", async () => {
    const { logic, core, clock, backend } = poolUnderTest();
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    clock.advance(12_000);
    const sandboxId = [...backend.sandboxes.keys()][0]!;
    expect(await core.release(r.key)).toEqual({ sandboxId, aliveSeconds: 12, killed: true });
    clock.advance(5_000);
    expect(await core.release(r.key)).toEqual({ sandboxId, aliveSeconds: 12, killed: false });
    expect(await core.release("nobody")).toEqual({ sandboxId: null, aliveSeconds: 0, killed: false });
    expect(await logic.holders.releaseFork(r.runId, r.fork)).toEqual({ aliveSeconds: 12 });
  });

  it("a failed kill is owned by the Pool: still counted live, retried by the alarm until done", async () => {
    const { logic, core, host, backend } = poolUnderTest({ maxLiveSandboxes: 1 });
    const r = leaseRequest();
    ok(await logic.acquirer.acquire(r));
    backend.fail("kill", new SandboxUnavailableError("503"), 2);
    expect(await core.release(r.key)).toMatchObject({ killed: false, killPending: true });
    expect(host.alarmWithin).toBe(KILL_RETRY_MS);
    expect(core.capacity.free()).toBe(0);
    expect(await logic.alarm()).toBe(KILL_RETRY_MS);
    expect(await logic.alarm()).toBeNull();
    expect(backend.sandboxes.size).toBe(0);
    expect(core.capacity.free()).toBe(1);
  });
});
