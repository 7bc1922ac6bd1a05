import { describe, expect, it } from "vitest";
import { clockLabel, clockTicks, sharedClock, type ClockFork, type ClockStep } from "../../src/dashboard/client/lib/shared-clock.ts";

const T0 = Date.parse("2026-12-07T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const step = (name: string, from: number, to: number | null, status: ClockStep["status"] = to === null ? "running" : "succeeded"): ClockStep => ({
  name,
  status,
  attempts: 1,
  durationMs: to === null ? null : (to - from) * 1000,
  startedAt: at(from),
  endedAt: to === null ? null : at(to),
});
const fork = (n: number, steps: ClockStep[], more: Partial<ClockFork> = {}): ClockFork => ({ n, status: "succeeded", startedAt: steps[0]?.startedAt ?? null, finishedAt: null, steps, ...more });

describe("the run page's timeline on a shared clock", () => {
  it("draws every fork against the run's start: a fork that waited for a slot starts later on the same axis", () => {
    const clock = sharedClock({ createdAt: at(0), forks: [fork(1, [step("budget", 0, 1), step("clone", 1, 5)]), fork(2, [step("budget", 5, 6), step("clone", 6, 10)])] }, T0 + 60_000);
    expect(clock.spanMs).toBe(10_000);
    const [one, two] = clock.rows;
    expect(one!.queuedMs).toBe(0);
    expect(two!.queuedMs).toBe(5_000);
    expect(two!.segments[0]).toMatchObject({ kind: "queued", left: 0, width: 50 });
    expect(two!.segments.at(-1)).toMatchObject({ kind: "step", name: "clone", left: 60, width: 40 });
    expect(one!.segments.at(-1)).toMatchObject({ name: "clone", left: 10, width: 40 });
  });

  it("shows the gaps between steps as waiting time, and a failed step as failed", () => {
    const clock = sharedClock({ createdAt: at(0), forks: [fork(1, [step("acquire-sandbox", 0, 2), step("command-1", 8, 10, "failed")], { status: "failed" })] }, T0);
    const row = clock.rows[0]!;
    expect(row.segments.map((s) => s.kind)).toEqual(["step", "waiting", "step"]);
    expect(row.waitingMs).toBe(6_000);
    expect(row.runningMs).toBe(4_000);
    expect(row.segments[2]).toMatchObject({ status: "failed", left: 80, width: 20 });
  });

  it("grows a running step and a queued fork to now", () => {
    const clock = sharedClock({ createdAt: at(0), forks: [fork(1, [step("command-1", 1, null)], { status: "running" }), fork(2, [], { status: "queued" })] }, T0 + 20_000);
    expect(clock.spanMs).toBe(20_000);
    expect(clock.rows[0]!.segments.at(-1)).toMatchObject({ name: "command-1", status: "running", width: 95 });
    expect(clock.rows[1]!.segments).toEqual([expect.objectContaining({ kind: "queued", left: 0, width: 100 })]);
  });

  it("leaves out steps recorded before start times were kept, and a branched or merge fork's queued time", () => {
    const old = { name: "clone", status: "succeeded" as const, attempts: 1, durationMs: 30 };
    const merged = fork(3, [step("clone", 3, 4)], { merge: { forks: [1, 2] } });
    const clock = sharedClock({ createdAt: at(0), forks: [fork(1, [old, step("check", 2, 4)]), fork(2, [step("clone", 3, 4)], { parent: { n: 1, turn: 1 } }), merged] }, T0);
    expect(clock.rows[0]!.segments.map((s) => s.name)).toEqual(["queued", "check"]);
    expect(clock.rows[1]!.segments.map((s) => s.kind)).toEqual(["step"]);
    expect(clock.rows[2]!.segments.map((s) => s.kind)).toEqual(["step"]);
  });

  it("puts round ticks on the axis", () => {
    expect(clockTicks(10_000).map((t) => t.label)).toEqual(["0s", "2s", "4s", "6s", "8s", "10s"]);
    expect(clockTicks(300_000).map((t) => t.label)).toEqual(["0s", "1m", "2m", "3m", "4m", "5m"]);
    expect(clockLabel(90_000)).toBe("1m30s");
    expect(clockLabel(3_900_000)).toBe("1h5m");
  });
});
