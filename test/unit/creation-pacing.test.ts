/**
 * Instance creations paced under Cloudflare's rate (about 100 per second per workflow): a run's
 * launch creates at most WORKFLOW_CREATE_RATE_PER_SECOND instances in any one-second window,
 * whatever the number of createBatch calls or launches. The clock is a fake one: no waiting.
 */
import { describe, expect, it } from "vitest";
import { CreationPacer, CreationSchedule, SharedCreationPacer, type PacerClock } from "../../src/protocol/creation-pacer";
import { createInBatches } from "../../src/protocol/workflow-limits";

/** A clock whose sleep moves time on at once. */
function fakeClock(): PacerClock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

/** A Workflow binding recording when each createBatch call came, and how many it created. */
function recordingWorkflow(clock: { t: number }) {
  const calls: { at: number; count: number }[] = [];
  return {
    calls,
    async createBatch(options: { instances: { id: string; params: unknown }[] }) {
      calls.push({ at: clock.t, count: options.instances.length });
      return { errors: [] };
    },
  };
}

/** The most creations in any window of one second (windows starting at each call). */
function busiestSecond(calls: { at: number; count: number }[]): number {
  return Math.max(...calls.map((c) => calls.filter((d) => d.at >= c.at && d.at < c.at + 1000).reduce((sum, d) => sum + d.count, 0)));
}

/** A clock for callers that wait at the same time: time moves to the earliest sleeper's wake once every caller waits. */
function sharedClock(): PacerClock & { t: number; run<T>(tasks: Promise<T>[]): Promise<T[]> } {
  const sleepers: { until: number; wake: () => void }[] = [];
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: clock.t + ms, wake })),
    async run<T>(tasks: Promise<T>[]): Promise<T[]> {
      let done = false;
      const all = Promise.all(tasks).finally(() => (done = true));
      while (!done) {
        await settle();
        if (done || sleepers.length === 0) continue;
        sleepers.sort((a, b) => a.until - b.until);
        const next = sleepers[0]!.until;
        clock.t = Math.max(clock.t, next);
        for (const s of sleepers.splice(0, sleepers.filter((x) => x.until <= next).length)) s.wake();
      }
      return all;
    },
  };
  return clock;
}

const instances = (count: number, prefix = "i") => Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i}`, params: { n: i } }));

describe("instance creation pacing", () => {
  it("a launch of 250 instances at 90 a second: createBatch calls of at most 90, one a second, no faster and no slower", async () => {
    const clock = fakeClock();
    const workflow = recordingWorkflow(clock);
    const { errors, calls } = await createInBatches(workflow, instances(250), { pacer: new CreationPacer(90, clock) });
    expect(errors).toEqual([]);
    expect(calls).toBe(3);
    expect(workflow.calls).toEqual([
      { at: 0, count: 90 },
      { at: 1000, count: 90 },
      { at: 2000, count: 70 },
    ]);
    expect(busiestSecond(workflow.calls)).toBeLessThanOrEqual(90);
  });

  it("launches one after another share the rate: a second launch within the same second waits for the window to move on", async () => {
    const clock = fakeClock();
    const pacer = new CreationPacer(90, clock);
    const workflow = recordingWorkflow(clock);
    await createInBatches(workflow, instances(60, "a"), { pacer });
    clock.t = 300;
    await createInBatches(workflow, instances(20, "b"), { pacer }); // 80 in the window: at once
    clock.t = 400;
    await createInBatches(workflow, instances(40, "c"), { pacer }); // 120: waits until the first 60 leave it
    expect(workflow.calls).toEqual([
      { at: 0, count: 60 },
      { at: 300, count: 20 },
      { at: 1000, count: 40 },
    ]);
    expect(busiestSecond(workflow.calls)).toBeLessThanOrEqual(90);
  });

  it("many small launches (forks ending one by one) never pass the rate in any second", async () => {
    const clock = fakeClock();
    const pacer = new CreationPacer(10, clock);
    const workflow = recordingWorkflow(clock);
    for (let i = 0; i < 57; i++) {
      clock.t += 37; // a fork ends every 37 ms and its successor is launched
      await createInBatches(workflow, instances(1 + (i % 3), `l${i}`), { pacer });
    }
    expect(busiestSecond(workflow.calls)).toBeLessThanOrEqual(10);
    expect(workflow.calls.reduce((sum, c) => sum + c.count, 0)).toBe(114);
  });

  it("a rate above Cloudflare's batch limit still sends at most 100 instances a call", async () => {
    const clock = fakeClock();
    const workflow = recordingWorkflow(clock);
    await createInBatches(workflow, instances(150), { pacer: new CreationPacer(1000, clock) });
    expect(workflow.calls.map((c) => c.count)).toEqual([100, 50]);
  });

  it("runs launching at once share one schedule (the Pool's): together they never pass the rate; each on its own would", async () => {
    const clock = sharedClock();
    const workflow = recordingWorkflow(clock);
    // The Pool's schedule, reached by a call; each run falls back to pacing alone if it cannot be reached.
    const schedule = new CreationSchedule(90);
    const book = async (count: number) => schedule.book(count, clock.t) - clock.t;
    const runs = ["a", "b", "c"].map((name) => ({ name, pacer: new SharedCreationPacer(book, new CreationPacer(90, clock), clock) }));
    // Three runs of 100 forks each launch in the same instant, their calls interleaved.
    await clock.run(runs.map((run) => createInBatches(workflow, instances(100, run.name), { pacer: run.pacer })));
    expect(workflow.calls.reduce((sum, c) => sum + c.count, 0)).toBe(300);
    expect(busiestSecond(workflow.calls)).toBeLessThanOrEqual(90);

    // The same launches with a pacer per run: 90 a second each, 270 in the first second.
    const alone = recordingWorkflow(clock);
    await clock.run(["d", "e", "f"].map((name) => createInBatches(alone, instances(100, name), { pacer: new CreationPacer(90, clock) })));
    expect(busiestSecond(alone.calls)).toBeGreaterThan(90);
  });

  it("a run whose shared schedule cannot be reached paces alone", async () => {
    const clock = fakeClock();
    const workflow = recordingWorkflow(clock);
    const pacer = new SharedCreationPacer(() => Promise.reject(new Error("pool unreachable")), new CreationPacer(90, clock), clock);
    await createInBatches(workflow, instances(200), { pacer });
    expect(workflow.calls).toEqual([
      { at: 0, count: 90 },
      { at: 1000, count: 90 },
      { at: 2000, count: 20 },
    ]);
  });

  it("the schedule books later callers after earlier ones, never into a window already full", () => {
    const schedule = new CreationSchedule(10);
    expect(schedule.book(6, 0)).toBe(0);
    expect(schedule.book(6, 100)).toBe(1000); // 12 > 10 at 100: after the first 6 leave the window
    expect(schedule.book(4, 200)).toBe(1000); // 4 + 6 at 1000 (the window (0, 1000]): fits, not before the last booking
    expect(schedule.book(1, 300)).toBe(2000); // 11 at 1000: after the two bookings at 1000 leave
    expect(() => schedule.book(11, 0)).toThrow(RangeError);
  });
});
