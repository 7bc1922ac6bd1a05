/**
 * A fork near its instance's step limit goes on in a new instance (src/workflows/fork-continuation.ts):
 * the decision at a task boundary, the state it stores, its one `continue` step across replays, and
 * the two version skews of a deploy — an instance of a run recorded before continuations (version 1)
 * never continues, and a Workflow of the new version whose Orchestrator is still on the old one
 * (no `forkContinue` yet: a gradual rollout) carries on in its own instance instead of failing.
 */
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/core/env.ts";
import type { ForkParams } from "../../src/protocol/fork-params.ts";
import type { JobContext } from "../../src/workflows/durable-job.ts";
import { ForkContinuation, ForkContinued, timeLeftMs } from "../../src/workflows/fork-continuation.ts";
import { budgetStopsToContinue } from "../../src/runs/budget-stops.ts";
import { StepRunner } from "../../src/workflows/step-runner.ts";
import { FakeEngine } from "./support/fake-engine.ts";

const UNTRACKED = { stepStarted: async () => ({ proceed: true, budgetSpent: false }), stepFinished: async () => undefined };

interface Setup {
  version?: number;
  continuation?: ForkParams["continuation"];
  /** What the Orchestrator's forkContinue does: answers an instance id, or throws (an old Orchestrator). */
  orchestrator?: (n: number, from: string, next: { k: number; stateKey: string; base: string }) => Promise<unknown>;
}

/** A fork's continuation on a fake engine; `made` stands for the steps its instance has made. */
function continuationOf(engine: FakeEngine, setup: Setup = {}) {
  const step = engine.step();
  const steps = new StepRunner(step, { runId: "r1", n: 2, tracker: UNTRACKED });
  const calls: { from: string; next: unknown }[] = [];
  const stored = new Map<string, unknown>();
  const counter = { made: 0 };
  const version = setup.version ?? 2;
  const params = { runId: "r1", n: 2, leaseKey: "r1-2", ...(setup.continuation ? { continuation: setup.continuation } : {}) } as ForkParams;
  const job = {
    params,
    config: { FORK_CONTINUE_AFTER_STEPS: 100, RETRY_POLICIES: {} } as unknown as Config,
    steps,
    step,
    instanceId: setup.continuation ? `${setup.continuation.base}-c${setup.continuation.k}` : "r1-2",
    version,
    since: (v: number) => v <= version,
    stepsMade: () => counter.made,
  } as unknown as JobContext<ForkParams>;
  const orchestrator = {
    async forkContinue(n: number, from: string, next: { k: number; stateKey: string; base: string }) {
      calls.push({ from, next });
      return setup.orchestrator ? setup.orchestrator(n, from, next) : { ok: true, value: { instanceId: `${next.base}-c${next.k}` } };
    },
  };
  const store = { putJson: async (key: string, value: unknown) => void stored.set(key, value) };
  const sandbox = { baseSha: "b".repeat(40), leaseKey: "r1-2", sandboxId: "sbx-1", recoveries: 0, releasedSeconds: 3, journal: () => [{ kind: "command", command: "make" }] };
  steps.setDeadline(Date.now() + 60_000, 3600);
  const continuation = new ForkContinuation({ job, orchestrator, store, sandbox } as never);
  return { continuation, counter, calls, stored };
}

describe("a fork continuing near the step limit", () => {
  it("below FORK_CONTINUE_AFTER_STEPS nothing happens; at it, the fork's state goes to R2 and it goes on in <launch>-c1", async () => {
    const engine = new FakeEngine();
    const { continuation, counter, calls, stored } = continuationOf(engine);
    counter.made = 99;
    await continuation.at({ turn: 41 });
    expect(calls).toEqual([]);
    counter.made = 100;
    await expect(continuation.at({ turn: 42 })).rejects.toEqual(new ForkContinued("r1-2-c1"));
    expect(calls).toEqual([{ from: "r1-2", next: { k: 1, stateKey: "runs/r1/2/continue-1.json", base: "r1-2" } }]);
    expect(stored.get("runs/r1/2/continue-1.json")).toMatchObject({ parent: 2, turn: 42, leaseKey: "r1-2", sandboxId: "sbx-1", releasedSeconds: 3, journal: [{ kind: "command", command: "make" }] });
    expect(engine.ran).toEqual(["continue"]);
  });

  it("a replay of the instance finds its continue step done: the same answer, no second call", async () => {
    const engine = new FakeEngine();
    const first = continuationOf(engine);
    first.counter.made = 120;
    await expect(first.continuation.at({ turn: 7 })).rejects.toBeInstanceOf(ForkContinued);
    const replay = continuationOf(engine);
    replay.counter.made = 120;
    await expect(replay.continuation.at({ turn: 7 })).rejects.toEqual(new ForkContinued("r1-2-c1"));
    expect(replay.calls).toEqual([]);
  });

  it("a continuation instance continues as the next one of the same launch", async () => {
    const { continuation, counter, calls } = continuationOf(new FakeEngine(), { continuation: { k: 1, base: "r1-2", stateKey: "runs/r1/2/continue-1.json" } });
    counter.made = 100;
    await expect(continuation.at({ turn: 90 })).rejects.toEqual(new ForkContinued("r1-2-c2"));
    expect(calls).toEqual([{ from: "r1-2-c1", next: { k: 2, stateKey: "runs/r1/2/continue-2.json", base: "r1-2" } }]);
  });

  it("an instance of a run recorded on version 1 never continues, however many steps it made", async () => {
    const { continuation, counter, calls } = continuationOf(new FakeEngine(), { version: 1 });
    counter.made = 9_500;
    await continuation.at({ turn: 3 });
    expect(calls).toEqual([]);
  });

  it("a Workflow of the new version whose Orchestrator is still on the old one (no forkContinue) carries on in its own instance", async () => {
    const engine = new FakeEngine();
    const old = async () => {
      throw new TypeError('The RPC receiver does not implement the method "forkContinue".');
    };
    const { continuation, counter, calls } = continuationOf(engine, { orchestrator: old });
    counter.made = 100;
    await continuation.at({ turn: 5 }); // no throw: the task goes on here
    counter.made = 150;
    await continuation.at({ turn: 6 }); // not asked again in this instance
    expect(calls).toHaveLength(1);
    expect(engine.ran).toEqual(["continue"]);
  });

  it("a fork that ended meanwhile (cancelled) is refused: the error leaves the step", async () => {
    const ended = async () => ({ ok: false, error: { code: "cancelled", message: "The fork was cancelled.", status: 409, retryable: false } });
    const { continuation, counter } = continuationOf(new FakeEngine(), { orchestrator: ended });
    counter.made = 100;
    await expect(continuation.at({ turn: 5 })).rejects.toThrow(/cancelled/);
  });
});

describe("a fork stopped for budget, for a later raise to continue it (code version 3)", () => {
  it("stores where it stood as its next continuation's state, marked to rebuild its sandbox, in one budget-stop step", async () => {
    const engine = new FakeEngine();
    const { continuation, stored } = continuationOf(engine, { version: 3 });
    const stop = await continuation.stopForBudget({ turn: 2, exchange: { prompt: "Add hello.txt", turns: [] } });
    expect(stop).toEqual({ k: 1, base: "r1-2" });
    const state = stored.get("runs/r1/2/continue-1.json") as { rebuild: { remainingMs: number } };
    expect(state).toMatchObject({ parent: 2, turn: 2, exchange: { prompt: "Add hello.txt", turns: [] }, baseSha: "b".repeat(40), journal: [{ kind: "command", command: "make" }] });
    // The time the fork had left (its deadline was a minute away), for its continuation to run on from its new sandbox.
    expect(state.rebuild.remainingMs).toBeGreaterThan(50_000);
    expect(state.rebuild.remainingMs).toBeLessThanOrEqual(60_000);
    expect(engine.ran).toEqual(["budget-stop"]);
    const replay = continuationOf(engine, { version: 3 });
    expect(await replay.continuation.stopForBudget({ turn: 2 })).toEqual({ k: 1, base: "r1-2" });
    expect(replay.stored.size).toBe(0);
  });

  it("a continuation instance's stop names the next continuation of the same launch", async () => {
    const { continuation, stored } = continuationOf(new FakeEngine(), { version: 3, continuation: { k: 2, base: "r1-2", stateKey: "runs/r1/2/continue-2.json" } });
    expect(await continuation.stopForBudget({ turn: 9 })).toEqual({ k: 3, base: "r1-2" });
    expect([...stored.keys()]).toEqual(["runs/r1/2/continue-3.json"]);
  });

  it("an instance of a run recorded on version 2 stores nothing and makes no step: its fork is not continued later", async () => {
    const engine = new FakeEngine();
    const { continuation, stored } = continuationOf(engine, { version: 2 });
    expect(await continuation.stopForBudget({ turn: 2 })).toBeUndefined();
    expect(stored.size).toBe(0);
    expect(engine.ran).toEqual([]);
  });

  it("the time left: none once the deadline passed, all of the fork's time before its deadline was known", () => {
    expect(timeLeftMs(-5_000, 600)).toBe(0);
    expect(timeLeftMs(1234.6, 600)).toBe(1235);
    expect(timeLeftMs(Number.POSITIVE_INFINITY, 600)).toBe(600_000);
  });
});

describe("which forks a raise of the budget continues after they ended", () => {
  const outcome = (extra: object) => JSON.stringify({ n: 1, status: "budget_exceeded", ...extra });
  it("only forks that ended budget_exceeded with a stored stop, each as its next continuation instance", () => {
    const forks = [
      { n: 1, status: "budget_exceeded", outcome: outcome({ budgetStop: { k: 1, base: "r1-1" } }) },
      { n: 2, status: "budget_exceeded", outcome: outcome({ budgetStop: { k: 3, base: "r1-2-2" } }) },
      // Stopped by code before version 3, or outside its task: nothing stored.
      { n: 3, status: "budget_exceeded", outcome: outcome({}) },
      { n: 4, status: "budget_exceeded", outcome: null },
      // Ended another way, or already continued.
      { n: 5, status: "failed", outcome: outcome({ budgetStop: { k: 1, base: "r1-5" } }) },
      { n: 6, status: "running", outcome: outcome({ budgetStop: { k: 1, base: "r1-6" } }) },
      { n: 7, status: "budget_exceeded", outcome: outcome({ budgetStop: { k: 0, base: "r1-7" } }) },
    ];
    expect(budgetStopsToContinue(forks)).toEqual([
      { n: 1, instanceId: "r1-1-c1", k: 1 },
      { n: 2, instanceId: "r1-2-2-c3", k: 3 },
    ]);
  });
});
