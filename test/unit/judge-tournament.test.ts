// The tournament's steps (src/workflows/judge-tournament.ts) over a fake job: single elimination
// when round-robin would pass maxComparisons, round by round from the seeds, one checkpointed step
// per order, each call reserved then booked at fork 0.
import { describe, expect, it } from "vitest";
import type { ModelTurn } from "../../src/agent/conversation";
import type { JudgeInput, Judgement } from "../../src/runs/judging";
import { runTournament, TOURNAMENT_STEP } from "../../src/workflows/judge-tournament";

/** A job whose model prefers the attempt whose summary names the lower fork, in both orders. */
function fakeJob() {
  const steps: string[] = [];
  const booked: string[] = [];
  const answer = (text: string): ModelTurn => ({ content: [{ type: "text", text }], stopReason: "end_turn", usage: { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 }, model: "m" }) as unknown as ModelTurn;
  const job = {
    params: { runId: "r", k: 1 },
    config: { RETRY_POLICIES: {} },
    env: { ARTIFACTS: {} },
    steps: { run: async (name: string, _config: unknown, body: (ctx: { attempt: number }) => Promise<unknown>) => (steps.push(name), body({ attempt: 1 })) },
    callModel: async (request: { messages: { content: { text: string }[] }[] }) => {
      const text = request.messages[0]!.content[0]!.text;
      const a = Number(/BEGIN A summary\nfork (\d+)/.exec(text)![1]);
      const b = Number(/BEGIN B summary\nfork (\d+)/.exec(text)![1]);
      return answer(`{"better": "${a < b ? "A" : "B"}", "reason": "lower"}`);
    },
  };
  const orchestrator = {
    reserveModelCall: async (_n: number, key: string) => (booked.push(`reserve ${key}`), { ok: true, value: undefined }),
    recordModelCost: async (n: number, key: string) => void booked.push(`book ${n} ${key}`),
    releaseReservation: async () => undefined,
  };
  return { job, orchestrator, steps, booked };
}

describe("the tournament's steps", () => {
  it("plays single elimination from the seeds when round-robin exceeds maxComparisons: 2·(n−1) calls, one step per order", async () => {
    const { job, orchestrator, steps, booked } = fakeJob();
    const forks = [1, 2, 3, 4, 5].map((n) => ({ n, summary: `fork ${n}` }));
    const input: JudgeInput = { k: 1, model: "sonnet", task: { prompt: "Fix it" }, checkCommand: null, forks, tournament: { maxComparisons: 10, budgetLeftUsd: null } };
    // Seeds by score: 5, 4, 3, 2, 1 — the best seed (fork 5) has a bye in round 1.
    const judgements: Judgement[] = forks.map((f) => ({ n: f.n, score: f.n, reason: "" }));
    const result = await runTournament(job as never, orchestrator as never, input, judgements);
    expect(result.format).toBe("single_elimination");
    expect(result.matches.map((m) => [m.round, m.a, m.b, m.winner])).toEqual([
      [1, 4, 1, 1],
      [1, 3, 2, 2],
      [2, 2, 1, 1], // three left: the best seed has a bye again
      [3, 5, 1, 1],
    ]);
    expect(result.order[0]).toBe(1);
    expect(result.calls).toBe(8);
    expect(steps).toEqual([[4, 1], [1, 4], [3, 2], [2, 3], [2, 1], [1, 2], [5, 1], [1, 5]].map(([a, b]) => TOURNAMENT_STEP.pair(a!, b!)));
    expect(booked.slice(0, 2)).toEqual(["reserve judge:1:pair:4-1:1", "book 0 judge:1:pair:4-1:1"]);
  });

  it("plays round-robin when every pair in both orders fits", async () => {
    const { job, orchestrator, steps } = fakeJob();
    const forks = [1, 2, 3].map((n) => ({ n, summary: `fork ${n}` }));
    const input: JudgeInput = { k: 1, model: "sonnet", task: { prompt: "Fix it" }, checkCommand: null, forks, tournament: { maxComparisons: 6, budgetLeftUsd: null } };
    const result = await runTournament(job as never, orchestrator as never, input, forks.map((f) => ({ n: f.n, score: null, reason: "" })));
    expect(result.format).toBe("round_robin");
    expect(result.order).toEqual([1, 2, 3]);
    expect(steps).toHaveLength(6);
  });
});
