// The Pool's decisions as pure, clock-free modules: the creation rate (slots, 429s), admission
// under the live cap with the FIFO queue, warm targets (trim, refill), and the reaper's verdicts.
import { describe, expect, it } from "vitest";
import { CreateRate, MAX_INLINE_RATE_WAIT_MS } from "../../src/objects/pool/create-rate";
import { RENOTIFY_MS } from "../../src/objects/pool/capacity";
import { planWarmRefill, planWarmTrim, STALE_WARM_CREATING_MS, warmTarget } from "../../src/objects/pool/warm-plan";
import { goneLeases, reapReason, type ReapSubject } from "../../src/objects/pool/reap-plan";
import type { WarmRow } from "../../src/objects/pool/warm-store";
import type { LeaseRow } from "../../src/objects/pool/types";
import { leaseRequest, poolUnderTest, warmConfig } from "./support/pool-fakes";

describe("the creation rate", () => {
  it("spaces creates 1/rate apart and reserves no slot further than the inline wait", () => {
    const rate = new CreateRate(() => 2);
    expect([rate.take(0), rate.take(0), rate.take(0), rate.take(0)]).toEqual([0, 500, 1000, 1500]);
    // The next slot (2 s away) is too far to wait for inline: not reserved, the caller comes back.
    expect(rate.take(0)).toBe(2000);
    expect(rate.take(0)).toBe(2000);
    expect(rate.take(1_000)).toBe(1000);
    expect(MAX_INLINE_RATE_WAIT_MS).toBe(1500);
  });

  it("honours a 429's Retry-After until it has passed (a shorter one does not shorten it)", () => {
    const rate = new CreateRate(() => 5);
    rate.block(3, 10_000);
    rate.block(1, 10_000);
    expect(rate.blockedFor(10_000)).toBe(3000);
    expect(rate.blockedFor(12_500)).toBe(500);
    expect(rate.blockedFor(13_000)).toBe(0);
  });
});

describe("admission under the live cap", () => {
  it("counts leases and live warm sandboxes against the cap, paused ones not", () => {
    const { core } = poolUnderTest({ maxLiveSandboxes: 3 });
    core.leases.insertCreating(leaseRequest(), 0);
    core.leases.insertActive(leaseRequest(), "s1", null, 0);
    core.warm.insertCreating("w1", "base", "base", 0);
    expect(core.capacity.free()).toBe(0);
    core.leases.pause(core.leases.open()[1]!.key, 1);
    expect(core.capacity.free()).toBe(1);
    expect(core.capacity.roomNow()).toBe(true);
  });

  it("queues first come, first served across runs; a holder is admitted only with room for everyone ahead", () => {
    const { core } = poolUnderTest({ maxLiveSandboxes: 1 });
    core.leases.insertActive(leaseRequest(), "s1", null, 0);
    const [a, b, c] = [leaseRequest({ runId: "ra" }), leaseRequest({ runId: "rb" }), leaseRequest({ runId: "ra" })];
    expect([a, b, c].map((r) => core.capacity.admit(r, 0))).toEqual([
      { admitted: false, position: 1 },
      { admitted: false, position: 2 },
      { admitted: false, position: 3 },
    ]);
    // Asking again keeps the place.
    expect(core.capacity.admit(b, 5)).toEqual({ admitted: false, position: 2 });
    core.leases.leave(core.leases.open()[0]!.key, "released", 10);
    expect(core.capacity.roomNow()).toBe(false);
    // One free: b (second) still waits for a; a is admitted and leaves the queue.
    expect(core.capacity.admit(b, 11)).toEqual({ admitted: false, position: 2 });
    expect(core.capacity.admit(a, 11)).toEqual({ admitted: true });
    expect(core.leases.waiterCount()).toBe(2);
    expect(core.leases.waiter(b.key)).toMatchObject({ holder: "run", run_id: "rb" });
  });

  it("tells as many waiters as there is room for, once per RENOTIFY_MS, and remembers their workflow", () => {
    const { core } = poolUnderTest({ maxLiveSandboxes: 2 });
    core.leases.insertActive(leaseRequest(), "s1", null, 0);
    core.leases.insertActive(leaseRequest(), "s2", null, 0);
    const reqs = [leaseRequest({ holder: "session" }), leaseRequest({ workflow: "prepare" }), leaseRequest({ instanceId: undefined }), leaseRequest()];
    for (const r of reqs) core.capacity.admit(r, 0);
    expect(core.capacity.takeDue(0)).toEqual([]);
    for (const lease of core.leases.open()) core.leases.leave(lease.key, "released", 1);
    expect(core.capacity.takeDue(100).map((w) => [w.key, w.holder])).toEqual([
      [reqs[0]!.key, "session"],
      [reqs[1]!.key, "prepare"],
    ]);
    expect(core.capacity.takeDue(100 + RENOTIFY_MS - 1)).toEqual([]);
    expect(core.capacity.takeDue(100 + RENOTIFY_MS)).toHaveLength(2);
    // Full again, the first asks again with its instance: a new notice is due to it as soon as there is room.
    core.leases.insertActive(leaseRequest(), "s3", null, 0);
    core.leases.insertActive(leaseRequest(), "s4", null, 0);
    expect(core.capacity.admit({ ...reqs[0]!, instanceId: "again" }, 200 + RENOTIFY_MS)).toEqual({ admitted: false, position: 1 });
    core.leases.leave(core.leases.open()[0]!.key, "released", 1);
    expect(core.capacity.takeDue(200 + RENOTIFY_MS).map((w) => w.instance_id)).toEqual(["again"]);
  });
});

function warmRow(over: Partial<WarmRow>): WarmRow {
  return { key: `w-${Math.random()}`, template: "base", template_id: "base", sandbox_id: "s", state: "running", created_at: 0, ready_at: 0, handle: "{}", ...over };
}

describe("warm targets", () => {
  it("keeps min, raised by recent cold acquires, up to max", () => {
    const c = warmConfig({ min: 1, max: 3 });
    expect([0, 1, 2, 5].map((cold) => warmTarget(c, cold))).toEqual([1, 2, 3, 3]);
  });

  it("trims stale creates, unconfigured, idle, outdated and over-target sandboxes, and sheds running ones for waiters", () => {
    const now = 1_000_000;
    const config = { base: warmConfig({ min: 1, max: 1, idleSeconds: 60 }), alias: warmConfig({ min: 1, max: 1, idleSeconds: 60 }), paused: warmConfig({ mode: "paused", max: 1 }) };
    const rows = {
      stale: warmRow({ state: "creating", created_at: now - STALE_WARM_CREATING_MS - 1, ready_at: null, sandbox_id: null }),
      creating: warmRow({ state: "creating", created_at: now - 1000, ready_at: null, sandbox_id: null }),
      unconfigured: warmRow({ template: "gone", ready_at: now }),
      idle: warmRow({ ready_at: now - 61_000 }),
      fresh: warmRow({ ready_at: now - 1000, created_at: 1 }),
      extra: warmRow({ ready_at: now - 1000, created_at: 2 }),
      outdated: warmRow({ template: "alias", template_id: "tpl-v1", ready_at: now }),
      pausedOne: warmRow({ template: "paused", template_id: "paused", state: "paused", ready_at: now }),
    };
    const plan = (waiting: number) =>
      planWarmTrim({ rows: Object.values(rows), config, entryIds: new Map([["base", "base"], ["alias", "tpl-v2"], ["paused", "paused"]]), waiting, now, targetOf: (_e, c) => warmTarget(c, 0) });
    const names = (list: WarmRow[]) => list.map((r) => Object.entries(rows).find(([, row]) => row === r)![0]).sort();
    expect(names(plan(0).stale)).toEqual(["stale"]);
    expect(names(plan(0).doomed)).toEqual(["extra", "idle", "outdated", "unconfigured"]);
    // Holders wait for capacity: running warm sandboxes make room for them, one each in creation
    // order (those going anyway count), never a paused one; what stays is within the target.
    expect(names(plan(3).doomed)).toEqual(["fresh", "idle", "outdated", "unconfigured"]);
    expect(names(plan(9).doomed)).toEqual(["extra", "fresh", "idle", "outdated", "unconfigured"]);
  });

  it("refills each entry up to its target, creates in flight counted", () => {
    const config = { a: warmConfig({ min: 2, max: 2 }), b: warmConfig({ min: 1, max: 1 }), c: warmConfig({ min: 0, max: 0 }) };
    const have: Record<string, number> = { a: 1, b: 1, c: 0 };
    expect(planWarmRefill(config, (e) => have[e]!, (_e, c) => warmTarget(c, 0))).toEqual([["a", 1]]);
  });
});

function lease(over: Partial<LeaseRow>): LeaseRow {
  return { key: "k", run_id: "r1", fork: 1, sandbox_id: "s1", state: "active", created_at: 0, acquired_at: 0, released_at: null, paused_at: null, paused_ms: 0, kill_pending: 0, handle: null, holder: "run", kept_until: null, ...over };
}

describe("the reaper's verdicts", () => {
  const now = 10_000_000;
  const maxAge = 3600;
  const subject = (over: Partial<ReapSubject> & { startedAt?: number }): ReapSubject => ({
    sandbox: { sandboxId: "s1", metadata: {}, startedAt: new Date(over.startedAt ?? now - 1000) },
    lease: lease({}),
    warm: false,
    runId: "r1",
    ...over,
  });
  const verdict = (s: ReapSubject, finished: string[] = []) => reapReason(s, new Set(finished), now, maxAge);

  it("kills sandboxes of no live lease: none, released, or holding another sandbox", () => {
    expect(verdict(subject({ lease: undefined, runId: null }))).toBe("no_lease");
    expect(verdict(subject({ lease: lease({ state: "released" }) }))).toBe("no_lease");
    expect(verdict(subject({ lease: lease({ sandbox_id: "other" }) }))).toBe("no_lease");
    expect(verdict(subject({ lease: lease({ state: "creating", sandbox_id: null }) }))).toBeNull();
  });

  it("kills those of finished runs and those over the max age, but not a session's", () => {
    expect(verdict(subject({}), ["r1"])).toBe("run_finished");
    expect(verdict(subject({}), ["r2"])).toBeNull();
    const old = now - maxAge * 1000 - 1;
    expect(verdict(subject({ startedAt: old }))).toBe("max_age");
    expect(verdict(subject({ startedAt: old, lease: lease({ holder: "session" }) }))).toBeNull();
  });

  it("spares a kept sandbox until its keep expires, whatever its run", () => {
    expect(verdict(subject({ lease: lease({ state: "paused", kept_until: now + 1 }) }), ["r1"])).toBeNull();
    expect(verdict(subject({ lease: lease({ state: "paused", kept_until: now }) }), ["r1"])).toBe("keep_expired");
  });

  it("spares warm sandboxes until the max age", () => {
    expect(verdict(subject({ warm: true, lease: undefined, runId: null }))).toBeNull();
    expect(verdict(subject({ warm: true, lease: undefined, runId: null, startedAt: now - maxAge * 1000 - 1 }))).toBe("max_age");
  });

  it("finds leases whose sandbox the listing lacks", () => {
    expect(goneLeases([lease({ key: "a", sandbox_id: "s1" }), lease({ key: "b", sandbox_id: "s2" })], new Set(["s1"])).map((l) => l.key)).toEqual(["b"]);
  });
});
