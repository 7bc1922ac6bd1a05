import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InstanceWatch } from "../../src/objects/shared/instance-watch";
import { SessionTurns } from "../../src/objects/session/session-turns";
import { WAKE_EVENT } from "../../src/protocol/events";
import type { SessionRecord, SessionStore } from "../../src/objects/session/session-store";
import type { Env } from "../../src/core/env";

vi.mock("../../src/observability/log", () => ({ log: () => undefined, errorFields: () => ({}) }));

const STALE_MS = 6_000;

/**
 * A session with turn 1 running in instance "s-t1", whose status is `status`: what the Session's
 * alarm (SessionTurns.reconcile) does to it, with the record and the instance as plain objects.
 */
function setup(status: "running" | "paused") {
  let record = { id: "s", status: "running" } as SessionRecord;
  const store = {
    record: () => record,
    update: (change: (r: SessionRecord) => void) => {
      record = structuredClone(record);
      change(record);
      return record;
    },
    runningTurn: () => ({ n: 1, instance_id: "s-t1" }),
  } as unknown as SessionStore;
  const calls: string[] = [];
  const instance = {
    id: "s-t1",
    status: async () => ({ status }),
    sendEvent: async (event: { type: string }) => void calls.push(`event:${event.type}`),
    restart: async (options?: { from?: { name: string } }) => void calls.push(options?.from ? `restart:${options.from.name}` : "restart"),
    resume: async () => void calls.push("resume"),
  };
  const env = { STALE_FORK_SECONDS: String(STALE_MS / 1000), SESSION_WORKFLOW: { get: async () => instance } } as unknown as Env;
  const events: { type: string; turn: number | null; data: Record<string, unknown> }[] = [];
  const watch = new InstanceWatch({ getAlarm: async () => null, setAlarm: async () => undefined }, () => 1_000);
  const turns = new SessionTurns({ env, store, watch, event: (type, turn, data) => events.push({ type, turn, data }), setupFinished: async () => ({ ok: true, value: undefined }) as never, rebuildable: () => false });
  return { turns, watch, calls, events };
}

describe("a stuck session turn", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("silent inside a step: poked, then restarted from that step (earlier steps, model calls among them, are kept)", async () => {
    const { turns, watch, calls, events } = setup("running");
    turns.stepRunning(1, "tool-1-1");
    watch.heard(0);
    vi.advanceTimersByTime(STALE_MS / 2);
    await turns.reconcile(false);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(STALE_MS);
    await turns.reconcile(false);
    expect(calls).toEqual([`event:${WAKE_EVENT}`]);
    vi.advanceTimersByTime(STALE_MS + 1);
    await turns.reconcile(false);
    expect(calls).toEqual([`event:${WAKE_EVENT}`, "restart:tool-1-1"]);
    expect(events).toEqual([{ type: "turn.restarted", turn: 1, data: { step: "tool-1-1", resumed: false } }]);
  });

  it("a heartbeat inside a long step keeps it alone; an ended step is not restarted from", async () => {
    const { turns, watch, calls } = setup("running");
    turns.stepRunning(1, "tool-1-1");
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(STALE_MS / 3);
      watch.heard(0);
      await turns.reconcile(false);
    }
    expect(calls).toEqual([]);
    turns.stepEnded(1, "tool-1-1");
    expect(turns.runningStep(1)).toBeNull();
    turns.stepRunning(1, "model-2");
    turns.stepEnded(1, "tool-1-1");
    expect(turns.runningStep(1)).toBe("model-2");
    expect(turns.runningStep(2)).toBeNull();
  });

  it("paused between steps: resumed at once, never restarted from its start (that would repeat its model calls)", async () => {
    const { turns, watch, calls, events } = setup("paused");
    watch.heard(0);
    vi.advanceTimersByTime(STALE_MS + 1);
    await turns.reconcile(false);
    expect(calls).toEqual(["resume"]);
    expect(events.map((e) => e.data)).toEqual([{ step: null, resumed: true }]);
  });
});
