/**
 * A session turn near its instance's step limit goes on in a new instance
 * (src/workflows/turn-continuation.ts): the decision before a model call, the state it stores, its
 * one `continue` step across replays, the version guard, and the outcome a continued turn reports.
 */
import { describe, expect, it } from "vitest";
import type { AgentResult } from "../../src/agent/loop.ts";
import type { AgentTurn } from "../../src/agent/conversation.ts";
import type { SessionJob, TurnContinuationRef } from "../../src/protocol/session-job.ts";
import type { JobContext } from "../../src/workflows/durable-job.ts";
import { TurnContinuation, TurnContinued } from "../../src/workflows/turn-continuation.ts";
import { StepRunner } from "../../src/workflows/step-runner.ts";
import { FakeEngine } from "./support/fake-engine.ts";

type TurnJob = Extract<SessionJob, { kind: "turn" }>;

const usage = { input: 100, output: 10, cacheRead: 0, cacheWrite: 0 };
/** An agent turn: a model answer with `tools` tool calls. */
const agentTurn = (tools: number) => ({ model: { usage }, tools: Array.from({ length: tools }, () => ({})) }) as unknown as AgentTurn;

/** Turn 3 of session s1 on a fake engine: its instance has made `made.steps` steps. */
function turnOn(engine: FakeEngine, opts: { version?: number; continuation?: TurnContinuationRef; state?: Map<string, unknown> } = {}) {
  const version = opts.version ?? 5;
  const made = { steps: 0 };
  const asked: { n: number; from: string; next: TurnContinuationRef }[] = [];
  const state = opts.state ?? new Map<string, unknown>();
  const step = engine.step();
  const steps = new StepRunner(step, { runId: "s1", n: 3, tracker: { stepStarted: async () => ({ proceed: true, budgetSpent: false }), stepFinished: async () => undefined } });
  const params: TurnJob = { sessionId: "s1", kind: "turn", n: 3, ...(opts.continuation ? { continuation: opts.continuation } : {}) };
  const instanceId = opts.continuation ? `${opts.continuation.base}-c${opts.continuation.k}` : "s1-t3";
  const job = { params, instanceId, step, steps, version, since: (v: number) => v <= version, stepsMade: () => made.steps, config: { SESSION_TURN_CONTINUE_AFTER_STEPS: 50, RETRY_POLICIES: {} } } as unknown as JobContext<TurnJob>;
  const session = {
    continueTurn: async (n: number, from: string, next: TurnContinuationRef) => (asked.push({ n, from, next }), { ok: true, value: { instanceId: `${next.base}-c${next.k}` } }),
  };
  const store = { putJson: async (key: string, value: unknown) => void state.set(key, value), getJson: async (key: string) => state.get(key) ?? null };
  steps.setDeadline(Date.now() + 60_000, 3600);
  return { continuation: new TurnContinuation(job, session as never, store as never), made, asked, state };
}

describe("a session turn near its instance's step limit", () => {
  it("goes on in <turn instance>-c1 once its instance has made SESSION_TURN_CONTINUE_AFTER_STEPS steps, its calls so far in R2", async () => {
    const engine = new FakeEngine();
    const { continuation, made, asked, state } = turnOn(engine);
    const calls = [agentTurn(1), agentTurn(2)];
    made.steps = 49;
    await continuation.at(calls);
    expect(asked).toEqual([]);
    made.steps = 50;
    await expect(continuation.at(calls)).rejects.toEqual(new TurnContinued("s1-t3-c1"));
    expect(asked).toEqual([{ n: 3, from: "s1-t3", next: { k: 1, stateKey: "sessions/s1/turns/3/continue-1.json", base: "s1-t3" } }]);
    expect(state.get("sessions/s1/turns/3/continue-1.json")).toEqual({ turns: calls });
    expect(engine.ran).toEqual(["continue"]);

    // A replay finds the step done: the same instance, no second request to the Session.
    const replay = turnOn(engine);
    replay.made.steps = 50;
    await expect(replay.continuation.at(calls)).rejects.toEqual(new TurnContinued("s1-t3-c1"));
    expect(replay.asked).toEqual([]);
  });

  it("a continuation resumes from the stored calls and goes on in c2 under the same base", async () => {
    const state = new Map<string, unknown>([["sessions/s1/turns/3/continue-1.json", { turns: [agentTurn(1)] }]]);
    const { continuation, made, asked } = turnOn(new FakeEngine(), { continuation: { k: 1, stateKey: "sessions/s1/turns/3/continue-1.json", base: "s1-t3" }, state });
    expect(await continuation.resumed()).toEqual([agentTurn(1)]);
    made.steps = 60;
    await expect(continuation.at([agentTurn(1), agentTurn(1)])).rejects.toEqual(new TurnContinued("s1-t3-c2"));
    expect(asked.map((a) => [a.from, a.next.k, a.next.base])).toEqual([["s1-t3-c1", 2, "s1-t3"]]);
  });

  it("a continuation whose stored calls are missing fails clearly instead of starting the turn over", async () => {
    const { continuation } = turnOn(new FakeEngine(), { continuation: { k: 1, stateKey: "sessions/s1/turns/3/continue-1.json", base: "s1-t3" } });
    await expect(continuation.resumed()).rejects.toThrow(/continuation 1 .* is missing/);
  });

  it("a turn started on code before version 5 never continues (its instance keeps the steps it started with)", async () => {
    const engine = new FakeEngine();
    const { continuation, made, asked } = turnOn(engine, { version: 4 });
    made.steps = 9_000;
    await continuation.at([agentTurn(1)]);
    expect([asked, engine.ran]).toEqual([[], []]);
  });

  it("reports the whole turn's totals, and nothing from an instance that went on in another", async () => {
    const { continuation } = turnOn(new FakeEngine());
    const result = { stopReason: "end_turn", summary: "done", toolCalls: 2, tokens: usage } as AgentResult;
    const outcome = await continuation.outcome([agentTurn(1), agentTurn(3)], Promise.resolve(result));
    expect(outcome).toEqual({ kind: "turn", n: 3, status: "succeeded", stopReason: "end_turn", summary: "done", toolCalls: 6, tokens: { input: 300, output: 30, cacheRead: 0, cacheWrite: 0 } });
    expect(await continuation.outcome([], Promise.reject(new TurnContinued("s1-t3-c1")))).toEqual({ kind: "continued", n: 3, instanceId: "s1-t3-c1" });
    await expect(continuation.outcome([], Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });
});
