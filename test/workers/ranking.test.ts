// Judge, rank, stop early: every ended run ranks its forks; stopWhen: first_check_pass cancels
// the others as soon as one passes its check; GET …/compare puts the forks side by side.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { compareView } from "../../src/api/responses";
import { api, createRun, getRun, sandboxAdmin, scriptedModel, testEnv, waitFor, waitForRunStatus } from "./helpers";

const workflows = env as unknown as { JUDGE_WORKFLOW: Workflow };

describe("ranking and stopping early", () => {
  it("ranks the forks that succeeded: a passed check first, then the smaller diff", async () => {
    // Fork 1 fails its check; fork 2 passes with a big diff; fork 3 passes with a small one.
    const run = await createRun({
      forks: 3,
      maxConcurrent: 3,
      task: { commands: ['if [ "$FORKYARD_FORK" = 2 ]; then seq 1 50 > big.txt; fi; echo "$FORKYARD_FORK" > mark.txt'] },
      check: 'test "$FORKYARD_FORK" != 1',
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.ranking?.map((r) => [r.n, r.rank])).toEqual([
      [3, 1],
      [2, 2],
      [1, 3],
    ]);
    expect(view.ranking?.[0]?.reasons).toEqual(expect.arrayContaining(["check passed"]));
    expect(view.winner).toBe(3);

    const res = await api(`/v1/runs/${run.id}/compare`);
    expect(res.status).toBe(200);
    const compared = compareView.parse(await res.json());
    expect(compared.winner).toBe(3);
    const fork2 = compared.forks.find((f) => f.n === 2)!;
    expect(fork2).toMatchObject({ rank: 2, diff: { files: 2, insertions: 51 }, patch: { truncated: false, href: `/v1/runs/${run.id}/forks/2/patch` } });
    expect(fork2.patch!.text).toContain("+50");
    expect(compared.forks.find((f) => f.n === 1)).toMatchObject({ rank: 3, check: { passed: false } });
  });

  it("stopWhen first_check_pass: the first fork to pass wins, the others are cancelled and their sandboxes released", async () => {
    await sandboxAdmin.reset();
    const run = await createRun({
      forks: 3,
      maxConcurrent: 3,
      // Fork 2 is quick; the others would take a minute.
      task: { commands: ['if [ "$FORKYARD_FORK" != 2 ]; then sleep 60; fi; echo done > out.txt'] },
      check: "test -s out.txt",
      stopWhen: "first_check_pass",
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed", "cancelled"], 30_000);
    expect(view.winner).toBe(2);
    expect(view.forks.map((f) => f.status)).toEqual(["cancelled", "succeeded", "cancelled"]);
    expect(view.forks[0]!.error?.message).toContain("Fork 2 passed its check first");
    expect(view.ranking?.map((r) => r.n)).toEqual([2]);
    await waitFor("every sandbox released", async () => (await sandboxAdmin.stats()).live === 0, 15_000);
    expect((await getRun(run.id)).status).toBe(view.status);
  });

  it("judge.llm: a model scores each fork that succeeded (checkpointed, costed); the ranking follows the scores; POST …/judge judges again", async () => {
    const verdict = (score: number, reason: string) => ({ content: [{ type: "text" as const, text: `{"score": ${score}, "reason": "${reason}"}` }] });
    await scriptedModel.reset();
    await scriptedModel.script([verdict(9, "thorough"), verdict(4, "too thin")]);
    // Fork 1 changes more than fork 2: without scores fork 2 would rank first.
    const run = await createRun({
      forks: 2,
      maxConcurrent: 2,
      task: { commands: ['if [ "$FORKYARD_FORK" = 1 ]; then seq 1 30 > more.txt; fi; echo "$FORKYARD_FORK" > mark.txt'] },
      check: "test -s mark.txt",
      judge: { llm: { rubric: "Prefer thorough changes." } },
    });
    const judged = await waitFor("the judging", async () => {
      const view = await getRun(run.id);
      return view.judging?.status === "done" || view.judging?.status === "failed" ? view : undefined;
    });
    expect(judged.judging).toMatchObject({ status: "done", scores: [{ n: 1, score: 9, reason: "thorough" }, { n: 2, score: 4, reason: "too thin" }] });
    expect(judged.ranking?.map((r) => [r.n, r.score])).toEqual([
      [1, 9],
      [2, 4],
    ]);
    expect(judged.winner).toBe(1);
    const calls = await scriptedModel.calls();
    expect(calls).toHaveLength(2);
    // The rubric is in system; the fork's patch only inside this request's own random boundary.
    const bodies = calls.map((c) => c.body as { system: { text: string }[]; messages: { content: { text: string }[] }[] });
    const boundaries = bodies.map((b) => /This request's boundary: (FORKYARD-DATA-[0-9a-f]{32})/.exec(b.system.map((s) => s.text).join("\n"))?.[1]);
    expect(new Set(boundaries).size).toBe(2);
    expect(bodies[0]!.system[0]!.text).toContain("Prefer thorough changes.");
    expect(JSON.stringify(bodies[0]!.messages)).not.toContain("Prefer thorough changes.");
    const user = bodies[0]!.messages[0]!.content[0]!.text;
    expect(user).toMatch(new RegExp(`\\n${boundaries[0]} BEGIN patch\\n[^]*\\+30[^]*\\n${boundaries[0]} END patch$`));
    // Its calls are in the run's ledger.
    expect(judged.totals.costUsd.llm).toBeGreaterThan(0);
    // Its steps are reported to the run like the prepare's (fork 0): each judge call's included.
    const events = await (await api(`/v1/runs/${run.id}/events`)).text();
    for (const step of ["judge-input", "judge-1", "judge-2", "judge-report"]) expect(events).toContain(`"type":"step.finished","fork":0,"step":"${step}"`);

    await scriptedModel.script([verdict(2, "now worse"), verdict(8, "now better")]);
    const again = await api(`/v1/runs/${run.id}/judge`, { method: "POST", json: { llm: { model: "haiku" } } });
    expect(again.status).toBe(202);
    const rejudged = await waitFor("the second judging", async () => {
      const view = await getRun(run.id);
      return view.judging?.status === "done" && view.judging.model !== judged.judging!.model ? view : undefined;
    });
    expect(rejudged.ranking?.map((r) => r.n)).toEqual([2, 1]);
    expect(rejudged.winner).toBe(2);
  });

  it("a judging whose instance dies without reporting is marked failed by the run's alarm", async () => {
    const run = await createRun({ task: { commands: ["echo x > x.txt"] } });
    await waitForRunStatus(run.id, ["completed"]);
    await scriptedModel.reset();
    await scriptedModel.script([{ content: [{ type: "text", text: '{"score": 5, "reason": "late"}' }], delayMs: 5_000 }]);
    expect((await api(`/v1/runs/${run.id}/judge`, { method: "POST" })).status).toBe(202);
    await (await workflows.JUDGE_WORKFLOW.get(`${run.id}-judge-1`)).terminate();
    const view = await waitFor("the judging to be settled", async () => {
      const v = await getRun(run.id);
      return v.judging?.status !== "running" ? v : undefined;
    }, 20_000);
    expect(view.judging).toMatchObject({ status: "failed", error: { code: "workflow_failed" } });
  });

  it("refuses to judge a run that has not ended", async () => {
    const run = await createRun({ task: { commands: ["sleep 20"] } });
    const res = await api(`/v1/runs/${run.id}/judge`, { method: "POST" });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("run_not_finished");
    await api(`/v1/runs/${run.id}/cancel`, { method: "POST" });
  });

  it("refuses stopWhen without a check, naming the field", async () => {
    const res = await api("/v1/runs", { method: "POST", json: { repo: testEnv.TEST_REPO, task: { commands: ["true"] }, stopWhen: "first_check_pass" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("stopWhen");
  });
});
