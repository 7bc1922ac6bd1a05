import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InstanceWatch, RESTART_CHECK_MS } from "../../src/objects/shared/instance-watch";
import { IndexSync } from "../../src/objects/shared/index-sync";

/** A Durable Object's alarm, as the watch uses it. */
function alarmStorage() {
  let alarm: number | null = null;
  return {
    getAlarm: async () => alarm,
    setAlarm: async (at: number | Date) => void (alarm = Number(at)),
    get alarm() {
      return alarm;
    },
  };
}

/** A Workflow instance that records what it was sent; `knows` says whether it knows the step it is restarted from. */
function fakeInstance(knows = true) {
  const calls: string[] = [];
  const instance = {
    sendEvent: async (event: { type: string }) => void calls.push(`event:${event.type}`),
    restart: async (options?: { from?: { name: string } }) => {
      if (options?.from && !knows) throw new Error("unknown step");
      calls.push(options?.from ? `restart:${options.from.name}` : "restart");
    },
  } as unknown as WorkflowInstance;
  return { instance, calls };
}

describe("the instance watch", () => {
  const NOW = 1_000_000;
  beforeEach(() => vi.useFakeTimers({ now: NOW }));
  afterEach(() => vi.useRealTimers());

  it("treats a new object's first alarm as after a restart, then reconciles at the configured interval", () => {
    const watch = new InstanceWatch(alarmStorage(), () => 10_000);
    expect(watch.tick()).toEqual({ restarted: true, reconcile: true });
    vi.advanceTimersByTime(5_000);
    expect(watch.tick()).toEqual({ restarted: false, reconcile: false });
    vi.advanceTimersByTime(5_000);
    expect(watch.tick()).toEqual({ restarted: false, reconcile: true });
  });

  it("does not wake everything in an object that started the work itself", () => {
    const watch = new InstanceWatch(alarmStorage(), () => 10_000);
    watch.markAwake();
    expect(watch.tick()).toEqual({ restarted: false, reconcile: true });
  });

  it("arms the alarm at the active cadence, keeping an earlier one", async () => {
    const storage = alarmStorage();
    const watch = new InstanceWatch(storage, () => 60_000);
    expect(watch.cadenceMs).toBe(RESTART_CHECK_MS);
    await watch.armActive();
    expect(storage.alarm).toBe(NOW + RESTART_CHECK_MS);
    await watch.armBy(NOW + 60_000);
    expect(storage.alarm).toBe(NOW + RESTART_CHECK_MS);
    await watch.armBy(NOW + 100);
    expect(storage.alarm).toBe(NOW + 100);
  });

  it("counts silence from the object's start or the launch, whichever is later, until heard from", () => {
    const watch = new InstanceWatch(alarmStorage(), () => 10_000);
    const born = NOW;
    expect(watch.lastHeardAt(1)).toBe(born);
    expect(watch.lastHeardAt(1, born + 50)).toBe(born + 50);
    watch.heard(1, born + 500);
    expect(watch.lastHeardAt(1, born + 50)).toBe(born + 500);
  });

  it("pokes a silent instance first, restarts it from its stuck step if it stays silent, and pokes again once heard from", async () => {
    const watch = new InstanceWatch(alarmStorage(), () => 10_000);
    const { instance, calls } = fakeInstance();
    expect(await watch.nudge(1, instance, "command-1", false)).toEqual({ restarted: false });
    expect(await watch.nudge(1, instance, "command-1", false)).toEqual({ restarted: true, from: "command-1" });
    expect(await watch.nudge(1, instance, "command-1", false)).toEqual({ restarted: false });
    watch.heard(1);
    expect(await watch.nudge(1, instance, "command-1", false)).toEqual({ restarted: false });
    expect(calls).toEqual(["event:forkyard-wake", "restart:command-1", "event:forkyard-wake", "event:forkyard-wake"]);
  });

  it("restarts from the start an instance that does not know the step, and never restarts one outside a step that is not paused", async () => {
    const watch = new InstanceWatch(alarmStorage(), () => 10_000);
    const unknown = fakeInstance(false);
    await watch.nudge(1, unknown.instance, "clone", false);
    expect(await watch.nudge(1, unknown.instance, "clone", false)).toEqual({ restarted: true, from: null });
    expect(unknown.calls).toEqual(["event:forkyard-wake", "restart"]);
    const between = fakeInstance();
    await watch.nudge(2, between.instance, null, false);
    expect(await watch.nudge(2, between.instance, null, false)).toEqual({ restarted: false });
  });
});

describe("the index sync", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("coalesces writes asked soon into one, and folds a pending one into a write now", async () => {
    let writes = 0;
    const index = new IndexSync(async () => void writes++, () => undefined, 1_000);
    index.soon();
    index.soon();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(writes).toBe(1);
    index.soon();
    await index.now();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(writes).toBe(2);
  });

  it("skips a write whose signature did not change since the last one that succeeded, and reports a failed one", async () => {
    const written: string[] = [];
    const errors: unknown[] = [];
    let fail = false;
    const index = new IndexSync(
      async () => {
        if (fail) throw new Error("D1 down");
        written.push("w");
      },
      (err) => errors.push(err),
    );
    await index.now("a");
    await index.now("a");
    expect(written).toHaveLength(1);
    fail = true;
    await index.now("b");
    fail = false;
    await index.now("b");
    expect(written).toHaveLength(2);
    expect(errors).toHaveLength(1);
  });
});
