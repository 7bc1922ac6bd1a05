import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Evaluation } from "../../src/objects/eval/evaluation";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { evalPage, evalResults, evalView, type EvalPage, type EvalResults, type EvalView } from "../../src/api/evals";
import { wilson } from "../../src/evals/metrics";
import type { ScriptedReply } from "../support/anthropic-server";
import { BUNDLED_TASKS, bundledEvalTasks } from "../support/eval-suite";
import { CALC_PROBLEM, calcJsonl, calcTemplates } from "../support/swe-suite";
import { sweBenchSuite } from "../../src/evals/swe-bench";
import { api, getRun, sandboxAdmin, scriptedModel, testEnv, waitFor } from "./helpers";

/** The bundled suite's repositories (test/global-setup.ts creates them beside the test repo). */
const SUITE_ROOT = testEnv.TEST_REPO.replace(/\/repo$/, "/evals");
/** How long an eval of a few runs and their hidden checks may take on a loaded machine (a bound, not a timing), and its test. */
const EVAL_BOUND_MS = 180_000;
const EVAL_TEST_MS = 240_000;

/**
 * The scripted agent: one bash call per fork, whose result depends on the fork's number. Fork 1
 * writes a one-line change, fork 2 a two-line one (so the ranking, all visible checks passing,
 * prefers fork 1: the smaller diff).
 *   answer: fork 1 writes 42 (hidden pass); fork 2 writes "41\n." (visible pass, hidden fail).
 *   greet:  fork 1 prints "Hello, Ada" (visible pass, hidden fail); fork 2 prints "Hello, Ada!" (hidden pass).
 */
const ANSWER = 'if [ "$FORKYARD_FORK" = 1 ]; then echo 42 > answer.txt; else printf "41\\n.\\n" > answer.txt; fi';
const GREET = 'if [ "$FORKYARD_FORK" = 1 ]; then echo \'echo "Hello, $1"\' > greet.sh; else printf \'name="$1"\\necho "Hello, $name!"\\n\' > greet.sh; fi';
const bash = (marker: string, command: string): ScriptedReply => ({
  content: [{ type: "tool_use", name: "bash", input: { command } }],
  usage: { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  when: { includes: marker, excludes: "tool_use_id" },
});

/** Evals this file created: cancelled after each test (one that failed midway launches nothing more). */
const created: string[] = [];

async function postEval(body: unknown): Promise<Response> {
  const res = await api("/v1/evals", { method: "POST", json: body });
  if (res.status === 202) created.push(((await res.clone().json()) as EvalView).id);
  return res;
}

afterEach(async () => {
  for (const id of created.splice(0)) await api(`/v1/evals/${id}/cancel`, { method: "POST" });
});

/** The types of an ended eval's events, in order (its stream closes after its log). */
async function eventTypes(id: string): Promise<string[]> {
  const text = await (await api(`/v1/evals/${id}/events`)).text();
  return text.split("\n").filter((l) => l.startsWith("event: ")).map((l) => l.slice(7));
}

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("evals", () => {
  it("refuses a bad suite with a 400 naming the field", async () => {
    const [task] = bundledEvalTasks(SUITE_ROOT, ["answer"]);
    const config = { name: "solo", model: "sonnet", forks: 1 };
    const noHidden = await postEval({ name: "x", tasks: [{ ...task, hiddenCheck: undefined }], configs: [config] });
    expect(noHidden.status).toBe(400);
    expect(((await noHidden.json()) as { error: { details: { field: string } } }).error.details.field).toBe("tasks.0.hiddenCheck");
    const twice = await postEval({ name: "x", tasks: [task], configs: [config, config] });
    expect(((await twice.json()) as { error: { details: { field: string } } }).error.details.field).toBe("configs.1.name");
    const badRepo = await postEval({ name: "x", tasks: [{ ...task, repo: `${SUITE_ROOT}/missing` }], configs: [config] });
    expect(badRepo.status).toBe(400);
    expect(((await badRepo.json()) as { error: { details: { field: string } } }).error.details.field).toMatch(/^tasks\.0/);
    expect((await api("/v1/evals/eaaaaaaaaaaaaaaaaaaaa")).status).toBe(404);
  });

  it("cancel: queued runs are skipped, runs in flight cancelled, and no hidden check starts after", async () => {
    const res = await postEval({ name: "cancelled", tasks: bundledEvalTasks(SUITE_ROOT, ["answer", "greet"]), configs: [{ name: "solo", model: "sonnet", forks: 1 }], maxConcurrent: 1 });
    const { id } = (await res.json()) as EvalView;
    await waitFor("its first run", async () => ((await (await api(`/v1/evals/${id}`)).json()) as EvalView).progress.running === 1, 30_000, 50);
    const cancelled = (await (await api(`/v1/evals/${id}/cancel`, { method: "POST" })).json()) as EvalView;
    expect(cancelled).toMatchObject({ status: "cancelled", progress: { skipped: 1, queued: 0 } });
    const results = await waitFor("the cancelled run to settle", async () => {
      const r = (await (await api(`/v1/evals/${id}/results`)).json()) as EvalResults;
      return r.tasks[0]!.status === "done" ? r : undefined;
    }, 30_000, 100);
    expect((await getRun(results.tasks[0]!.runId!)).status).toBe("cancelled");
    expect(results.tasks[1]).toMatchObject({ status: "skipped", runId: null });
    expect(results.hiddenCheckCostUsd).toBe(0);
    expect(await eventTypes(id)).toEqual(["eval.created", "eval.run_started", "eval.cancelled", "eval.run_ended", "eval.finished"]);
    // GET /v1/evals lists it (newest first), filtered by status; a bad filter is a 400 naming it.
    // (The index row follows the eval's last pass: read until it shows both runs settled.)
    const listed = await waitFor("the list to show it settled", async () => {
      const page = evalPage.parse(await (await api("/v1/evals?status=cancelled&limit=100")).json());
      return page.evals.find((e) => e.id === id && e.settled === 2);
    }, 15_000, 100);
    expect(listed).toMatchObject({ name: "cancelled", status: "cancelled", configs: 1, tasks: 2, runs: 2 });
    expect(((await (await api("/v1/evals?status=running&limit=100")).json()) as EvalPage).evals.some((e) => e.id === id)).toBe(false);
    const bad = await api("/v1/evals?status=finished");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { field: string } } }).error.details.field).toBe("status");
  });

  it("two configs on the bundled suite: exact pass@1, oracle, selected and selector accuracy; a visible pass with a hidden fail is unsolved; the hidden check never reaches the model", async () => {
    await scriptedModel.script([1, 2, 3].flatMap(() => [bash("ultimate question", ANSWER), bash("greet.sh", GREET)]));
    const tasks = bundledEvalTasks(SUITE_ROOT, ["answer", "greet"]);
    const listRuns = async () => ((await (await api("/v1/runs?limit=100")).json()) as { runs: unknown[] }).runs;
    const runsBefore = (await listRuns()).length;
    const res = await postEval({ name: "plumbing", tasks, configs: [{ name: "solo", model: "sonnet", forks: 1 }, { name: "pair", model: "haiku", forks: 2 }], maxConcurrent: 4, budgetUsd: 10 });
    expect(res.status).toBe(202);
    const started = (await res.json()) as EvalView;
    expect(started.progress).toMatchObject({ runs: 4 });

    // A restart while its runs are in flight: an object rebuilt from storage alone carries on
    // (it finds the runs it created and creates none twice).
    await waitFor("the eval's runs to be in flight", async () => ((await (await api(`/v1/evals/${started.id}`)).json()) as EvalView).progress.running === 4, 30_000, 50);
    const stub = (env as unknown as { EVAL: DurableObjectNamespace<Evaluation> }).EVAL.getByName(started.id);
    await runInDurableObject(stub, async (_instance, state) => {
      const restarted = new Evaluation(state, env as never);
      await restarted.alarm();
      expect((await restarted.view())!.progress).toMatchObject({ runs: 4, queued: 0 });
    });

    const view = await waitFor("the eval to complete", async () => {
      const v = (await (await api(`/v1/evals/${started.id}`)).json()) as EvalView;
      return v.status !== "running" ? v : undefined;
    }, EVAL_BOUND_MS, 100);
    expect(view.status).toBe("completed");
    expect(view.progress).toMatchObject({ done: 4, failed: 0, skipped: 0 });

    const results = (await (await api(`/v1/evals/${started.id}/results`)).json()) as EvalResults;
    // What the API answers is what the OpenAPI document (made from these schemas) says.
    expect(evalView.safeParse(view).success).toBe(true);
    expect(evalResults.safeParse(results).success).toBe(true);
    const solo = results.configs.find((c) => c.config === "solo")!;
    const pair = results.configs.find((c) => c.config === "pair")!;
    // solo: answer solved by its one fork, greet's one fork passes the visible check only.
    expect(solo).toMatchObject({ tasks: 2, attempts: 2, solved: 1 });
    expect(solo.passAt1).toEqual(wilson(0.5, 2));
    expect(solo.oraclePassAtN).toEqual(wilson(0.5, 2));
    expect(solo.selectedPass).toEqual(wilson(0.5, 2));
    expect(solo.selectorAccuracy).toEqual(wilson(1, 1));
    // pair: one fork of two passes each task (pass@1 ½), some fork always passes (oracle 1), the
    // ranking picks fork 1 (smaller diff): right for answer, wrong for greet (selected ½, accuracy ½).
    expect(pair).toMatchObject({ tasks: 2, attempts: 4, solved: 1 });
    expect(pair.passAt1).toEqual(wilson(0.5, 2));
    expect(pair.oraclePassAtN).toEqual(wilson(1, 2));
    expect(pair.selectedPass).toEqual(wilson(0.5, 2));
    expect(pair.selectorAccuracy).toEqual(wilson(0.5, 2));
    expect(pair.judgeAuc.value).toBeNull();

    const greetSolo = results.tasks.find((t) => t.task === "greet" && t.config === "solo")!;
    const run = await getRun(greetSolo.runId!);
    expect(run.forks[0]!.check?.passed).toBe(true);
    expect(greetSolo.forks).toEqual([{ n: 1, status: "succeeded", hiddenPassed: false }]);
    expect(results.tasks.find((t) => t.task === "greet" && t.config === "pair")!.forks.map((f) => f.hiddenPassed)).toEqual([false, true]);
    expect(run.request.metadata).toMatchObject({ "forkyard.eval": started.id, "forkyard.evalTask": "greet", "forkyard.evalConfig": "solo" });
    // One eval budget of $10 shared by 4 runs launched at once: $2.50 each.
    for (const t of results.tasks) expect((await getRun(t.runId!)).request.budgetUsd).toBe(2.5);
    // Kept from retention while the eval exists.
    const kept = await (env as unknown as { DB: D1Database }).DB.prepare("SELECT run_id FROM eval_runs WHERE eval_id = ? ORDER BY run_id").bind(started.id).all<{ run_id: string }>();
    expect(kept.results.map((r) => r.run_id)).toEqual(results.tasks.map((t) => t.runId).sort());
    expect(await listRuns()).toHaveLength(runsBefore + 4);
    expect(pair.costPerSolvedTaskUsd).toBeCloseTo((results.tasks.filter((t) => t.config === "pair").reduce((s, t) => s + t.costUsd, 0)), 10);
    expect(results.hiddenCheckCostUsd).toBeGreaterThan(0);

    const calls = JSON.stringify(await scriptedModel.calls());
    expect(calls).toContain("ultimate question");
    for (const t of BUNDLED_TASKS) expect(calls).not.toContain(JSON.stringify(t.hiddenCheck).slice(1, -1));
    expect(calls).not.toContain("hiddenCheck");

    const events = await eventTypes(started.id);
    expect(events.filter((e) => e === "eval.run_started")).toHaveLength(4);
    expect(events.filter((e) => e === "eval.checked")).toHaveLength(6);
    expect(events.at(-1)).toBe("eval.finished");

    const csv = await api(`/v1/evals/${started.id}/results?format=csv`);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]!.split(",").slice(0, 9)).toEqual(["pair", pair.model, "2", "2", "4", "1", "0.5", String(wilson(0.5, 2).low), String(wilson(0.5, 2).high)]);
  }, EVAL_TEST_MS);

  it("a SWE-bench-style task at its base commit: the fork that makes the hidden test patch pass counts, the other does not, and the test patch never reaches the model", async () => {
    const CALC_FIX = 'if [ "$FORKYARD_FORK" = 1 ]; then sed -i \'3s/-/+/\' calc.sh; else sed -i \'3s/-/*/\' calc.sh && echo true > tests/test_add.sh; fi';
    await scriptedModel.script([1, 2].map(() => bash("add 2 3", CALC_FIX)));
    const base = testEnv.TEST_SWE_BASE as string;
    // The JSONL line as POST /v1/evals's sweBench takes it (the CLI's --swe-bench-template posts the tasks it makes).
    const instance = JSON.parse(calcJsonl(base)) as Record<string, unknown>;
    const bad = await postEval({ name: "swe", sweBench: { tasks: [{ ...instance, base_commit: "abc1234" }], templates: calcTemplates(SUITE_ROOT) }, configs: [{ name: "pair", model: "sonnet", forks: 2 }] });
    expect(((await bad.json()) as { error: { details: { field: string } } }).error.details.field).toBe("sweBench.tasks.0.base_commit");
    const res = await postEval({ name: "swe", sweBench: { tasks: [instance], templates: calcTemplates(SUITE_ROOT) }, configs: [{ name: "pair", model: "sonnet", forks: 2 }] });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as EvalView;
    await waitFor("the eval to complete", async () => ((await (await api(`/v1/evals/${id}`)).json()) as EvalView).status === "completed", EVAL_BOUND_MS, 100);
    const results = (await (await api(`/v1/evals/${id}/results`)).json()) as EvalResults;
    // Fork 1 adds (test_add and test_sub pass); fork 2 multiplies and writes a test_add that always
    // passes, which the hidden check replaces with the test patch's (test_add fails). Both patches are
    // against the base commit, where the hidden check applies them (at the branch's head they would not apply).
    expect(results.tasks[0]!.forks).toEqual([{ n: 1, status: "succeeded", hiddenPassed: true }, { n: 2, status: "succeeded", hiddenPassed: false }]);
    expect(results.configs[0]).toMatchObject({ tasks: 1, attempts: 2 });
    expect(results.configs[0]!.passAt1).toEqual(wilson(0.5, 1));
    expect(results.configs[0]!.oraclePassAtN).toEqual(wilson(1, 1));
    const run = await getRun(results.tasks[0]!.runId!);
    expect(run.request).toMatchObject({ commit: base, task: { prompt: CALC_PROBLEM } });
    const calls = JSON.stringify(await scriptedModel.calls());
    // Neither the hidden check (the test command) nor the test patch's test, in the requests or the run.
    const hidden = [sweBenchSuite(calcJsonl(base), calcTemplates(SUITE_ROOT))[0]!.hiddenCheck, 'test "$(add 2 3)" = 5'].map((t) => JSON.stringify(t).slice(1, -1));
    expect(hidden[0]).toBe("sh tests/run.sh test_add test_sub");
    expect(calls).toContain("add 2 3");
    expect(calls).toContain(`Base commit: ${base}`);
    for (const text of hidden) {
      expect(calls).not.toContain(text);
      expect(JSON.stringify(run)).not.toContain(text);
    }
  }, EVAL_TEST_MS);
});
