// Selectors and search beyond "N in parallel": the tournament judge (pairwise, both orders, the
// ranking follows it and the view says so) and adaptive N (waves until a fork passes, is judged
// at minScore, or max). The tests run concurrently: each run's judge replies are scripted for its
// own task (a marker in its commands), taken in order.
import { beforeAll, describe, expect, it } from "vitest";
import type { EvalResults, EvalView } from "../../src/api/evals";
import { wilson } from "../../src/evals/metrics";
import { bundledEvalTasks } from "../support/eval-suite";
import { api, createRun, getRun, scriptedModel, testEnv, waitFor, waitForRunStatus } from "./helpers";

const WAVES = "minscore-waves-marker";
const LAST = "minscore-last-marker";

/** The bundled suite's "answer" task (its prompt is the marker) and repositories (test/global-setup.ts). */
const EVAL_TASK = "ultimate question";
const ANSWER = 'if [ "$FORKYARD_FORK" = 1 ]; then echo 42 > answer.txt; else echo 41 > answer.txt; fi';
const SUITE_ROOT = testEnv.TEST_REPO.replace(/\/repo$/, "/evals");

const reply = (marker: string, t: string) => ({ content: [{ type: "text" as const, text: t }], when: { includes: marker } });
const verdict = (marker: string, score: number) => reply(marker, `{"score": ${score}, "reason": "scored ${score}"}`);

type Body = { system: { text: string }[]; messages: { content: { text: string }[] }[] };
/** The judge requests about the run whose commands carry `marker`, in order. */
async function callsFor(marker: string): Promise<Body[]> {
  return (await scriptedModel.calls()).map((c) => c.body as Body).filter((b) => JSON.stringify(b.messages).includes(marker));
}

beforeAll(async () => {
  await scriptedModel.reset();
  await scriptedModel.script([
    // minScore 8: wave 1 (fork 1) is judged 5; wave 2 judges forks 1 and 2: 9 stops the search before fork 3.
    verdict(WAVES, 5), verdict(WAVES, 4), verdict(WAVES, 9),
    // max 1: the only wave is judged 3 (after the run ended).
    verdict(LAST, 3),
    // The eval: each fork's agent writes its answer (fork 1: 42, the hidden check's; fork 2: 41); the
    // scores prefer fork 2 (8 to 3), so it is seeded first; the tournament's one match (2 shown as A,
    // then 1 as A) prefers fork 1 in both orders. Agents' later requests carry a tool_use_id.
    ...[1, 2].map(() => ({ ...reply(EVAL_TASK, ""), content: [{ type: "tool_use" as const, name: "bash", input: { command: ANSWER } }], when: { includes: EVAL_TASK, excludes: "tool_use_id" } })),
    ...[verdict(EVAL_TASK, 3), verdict(EVAL_TASK, 8), reply(EVAL_TASK, '{"better": "B", "reason": "42"}'), reply(EVAL_TASK, '{"better": "A", "reason": "42"}')].map((r) => ({ ...r, when: { includes: EVAL_TASK, excludes: "tool_use_id" } })),
  ]);
});

describe.concurrent("selectors and search", () => {
  it("stops after the first wave when a fork passes; launches a second when none does; stops at max", async () => {
    const [first, capped] = await Promise.all([
      // Fork 2 passes in wave 1 (forks 1-2): forks 3-4 never launch.
      createRun({ task: { commands: ['echo "$FORKYARD_FORK" > mark.txt'] }, check: 'test "$FORKYARD_FORK" = 2', strategy: { kind: "adaptive", initial: 2, max: 4, until: "check_pass" } }),
      // Nothing passes: a wave of one, then a second, then max (2) stops the search.
      createRun({ task: { commands: ["true"] }, check: "false", strategy: { kind: "adaptive", initial: 1, max: 2, until: "check_pass" } }),
    ]);
    const one = await waitForRunStatus(first.id, ["completed", "failed"]);
    expect(one.request.forks).toBe(4);
    expect(one.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded", "cancelled", "cancelled"]);
    expect(one.forks[2]!.error?.message).toContain("Fork 2 passed its check in wave 1");
    expect(one.adaptive).toMatchObject({ initial: 2, max: 4, waves: [{ wave: 1, forks: [1, 2], passed: [2] }], stopped: { reason: "check_pass", wave: 1, fork: 2 } });
    expect(one.adaptive!.waves[0]!.costUsd).toBeGreaterThan(0);
    expect(one.winner).toBe(2);

    const two = await waitForRunStatus(capped.id, ["completed", "failed"]);
    expect(two.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
    expect(two.adaptive?.waves.map((w) => [w.forks, w.passed])).toEqual([[[1], []], [[2], []]]);
    expect(two.adaptive?.stopped).toMatchObject({ reason: "max", wave: 2 });
    // Wave 2 launched only once wave 1 had ended.
    expect(Date.parse(two.forks[1]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(two.forks[0]!.finishedAt!));
  });

  it("until minScore: each ended wave is judged; a fork judged at or above the score stops the search", async () => {
    const [waves, last] = await Promise.all([
      createRun({ task: { commands: [`echo "$FORKYARD_FORK" > mark.txt # ${WAVES}`] }, strategy: { kind: "adaptive", initial: 1, max: 3, until: { minScore: 8 } } }),
      createRun({ task: { commands: [`true # ${LAST}`] }, strategy: { kind: "adaptive", initial: 1, max: 1, until: { minScore: 8 } } }),
    ]);
    const view = await waitForRunStatus(waves.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded", "cancelled"]);
    expect(view.adaptive?.stopped).toMatchObject({ reason: "min_score", wave: 2, fork: 2 });
    expect(view.judging).toMatchObject({ status: "done", scores: [{ n: 1, score: 4 }, { n: 2, score: 9 }] });
    expect(view.winner).toBe(2);
    // No judging after the run's end: the waves' judgings were the run's.
    expect(await callsFor(WAVES)).toHaveLength(3);

    // The last wave's judging ends after the run did: the view still says why the search stopped.
    const stopped = await waitFor("the search's end", async () => {
      const v = await getRun(last.id);
      return v.adaptive?.stopped ? v : undefined;
    });
    expect(stopped.adaptive?.stopped).toMatchObject({ reason: "max", wave: 1 });
    expect(stopped.judging).toMatchObject({ status: "done", scores: [{ n: 1, score: 3 }] });
  });

  it("refuses check_pass without a check, initial above max, and prepare, naming the field", async () => {
    const checkPass = { kind: "adaptive", initial: 2, max: 4, until: "check_pass" };
    for (const [body, field] of [
      [{ strategy: checkPass }, "strategy.until"],
      [{ strategy: { kind: "adaptive", initial: 5, max: 4, until: { minScore: 7 } } }, "strategy.initial"],
      [{ strategy: checkPass, check: "true", prepare: { commands: ["true"] } }, "strategy"],
    ] as const) {
      const res = await api("/v1/runs", { method: "POST", json: { repo: "/tmp/none", task: { commands: ["true"] }, ...body } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe(field);
    }
  });

  it("judge mode tournament in an eval: pairs judged in both orders, fenced; the ranking follows the tournament; the eval reports the pointwise and the tournament pick side by side, on the same forks", async () => {
    const res = await api("/v1/evals", { method: "POST", json: { name: "selectors", tasks: bundledEvalTasks(SUITE_ROOT, ["answer"]), configs: [{ name: "tourney", model: "sonnet", forks: 2, judge: { mode: "tournament" } }] } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as EvalView;
    const results = await waitFor("the eval's results", async () => {
      const r = (await (await api(`/v1/evals/${id}/results`)).json()) as EvalResults;
      return r.status !== "running" ? r : undefined;
    }, 90_000);
    expect(results.tasks[0]).toMatchObject({ winner: 1, selectedBy: { pointwise: 2, tournament: 1 } });
    expect(results.tasks[0]!.forks.map((f) => f.hiddenPassed)).toEqual([true, false]);
    const figures = results.configs[0]!;
    // Fork 1 passes the hidden check: the tournament's pick solves the task, the scores' pick does not.
    expect(figures.selectors?.pointwise).toEqual({ selectedPass: wilson(0, 1), selectorAccuracy: wilson(0, 1) });
    expect(figures.selectors?.tournament).toEqual({ selectedPass: wilson(1, 1), selectorAccuracy: wilson(1, 1) });
    expect(figures.selectedPass).toEqual(wilson(1, 1));

    // The run: its one match, won by fork 1 in both orders; the ranking (and winner) follow the tournament.
    const run = await getRun(results.tasks[0]!.runId!);
    expect(run.judging?.tournament?.format).toBe("round_robin");
    expect(run.judging?.tournament?.matches.map((m) => [m.a, m.b, m.first, m.second, m.winner])).toEqual([[2, 1, "B", "A", 1]]);
    expect(run.judging?.selected).toEqual({ rankedBy: "tournament", pointwise: 2, tournament: 1 });
    expect(run.ranking?.map((r) => r.n)).toEqual([1, 2]);
    expect(run.ranking?.[0]?.reasons).toContain("tournament 1W 0T 0L");
    // Each order is its own request, both forks' patches fenced by that request's own boundary, A and B swapped.
    const pairs = (await callsFor(EVAL_TASK)).filter((b) => JSON.stringify(b.messages).includes("Attempt A:"));
    expect(pairs).toHaveLength(2);
    const user = (i: number) => pairs[i]!.messages[0]!.content[0]!.text;
    const boundary = (i: number) => /This request's boundary: (FORKYARD-DATA-[0-9a-f]{32})/.exec(pairs[i]!.system.map((x) => x.text).join("\n"))![1]!;
    expect(boundary(0)).not.toBe(boundary(1));
    expect(user(0)).toMatch(new RegExp(`${boundary(0)} BEGIN A patch\\n[^]*\\+41\\n[^]*${boundary(0)} END A patch[^]*${boundary(0)} BEGIN B patch\\n[^]*\\+42\\n`));
    expect(user(1)).toMatch(new RegExp(`${boundary(1)} BEGIN A patch\\n[^]*\\+42\\n[^]*${boundary(1)} BEGIN B patch\\n[^]*\\+41\\n`));
    const events = await (await api(`/v1/runs/${run.id}/events`)).text();
    for (const step of ["judge-pair-2-1", "judge-pair-1-2", "judge-report"]) expect(events).toContain(`"step":"${step}"`);
  });
});
