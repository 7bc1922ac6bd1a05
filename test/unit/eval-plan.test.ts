import { describe, expect, it } from "vitest";
import { evalRunBody, nextRunBudget } from "../../src/evals/plan";
import { evalResults, resultsCsv, type CheckOutcomeRow, type RunOutcomeRow } from "../../src/evals/results";

const TASK = { id: "t1", repo: "/repos/t1", prompt: "Do it", check: "make test", hiddenCheck: "make hidden-test" };

describe("eval runs", () => {
  it("a run's body carries the task and config, the eval's marks, and never the hidden check", () => {
    const body = evalRunBody("eabc", TASK, { name: "n4", model: "sonnet", forks: 4 }, 2.5);
    expect(body).toEqual({
      repo: "/repos/t1",
      task: { prompt: "Do it", model: "sonnet" },
      forks: 4,
      maxConcurrent: 4,
      check: "make test",
      budgetUsd: 2.5,
      metadata: { "forkyard.eval": "eabc", "forkyard.evalTask": "t1", "forkyard.evalConfig": "n4" },
    });
    expect(JSON.stringify(body)).not.toContain("hidden");
  });

  it("the next run's budget: what is neither spent nor reserved, shared by the runs not launched", () => {
    expect(nextRunBudget(null, 5, 3)).toBeNull();
    expect(nextRunBudget(10, 4, 3)).toBe(2);
    expect(nextRunBudget(10, 10, 3)).toBe(0);
    expect(nextRunBudget(10, 12, 1)).toBe(0);
    // Rounded down to a micro-dollar: the shares never add up to more than the budget.
    expect(nextRunBudget(1, 0, 3)).toBe(0.333333);
  });
});

describe("eval results", () => {
  const rows: RunOutcomeRow[] = [
    { task: "a", config: "c", runId: "r1", status: "done", costUsd: 1, durationMs: 10, winner: 2, forks: [{ n: 1, status: "succeeded" }, { n: 2, status: "succeeded" }, { n: 3, status: "failed" }], error: null },
    { task: "b", config: "c", runId: "r2", status: "checking", costUsd: 5, durationMs: 10, winner: 1, forks: [{ n: 1, status: "succeeded" }], error: null },
  ];
  const checks: CheckOutcomeRow[] = [
    { runId: "r1", n: 1, status: "done", passed: true, error: null, costUsd: 0.01 },
    { runId: "r1", n: 2, status: "done", passed: null, error: "patch_failed", costUsd: 0.02 },
    { runId: "r1", n: 3, status: "done", passed: false, error: null, costUsd: 0 },
    { runId: "r2", n: 1, status: "pending", passed: null, error: null, costUsd: 0 },
  ];

  it("counts ended and checked tasks only; a check that could not run is no pass; a failed fork is an attempt", () => {
    const results = evalResults("e1", "running", { configs: [{ name: "c", model: "sonnet", forks: 3 }] }, rows, checks);
    const c = results.configs[0]!;
    expect(c).toMatchObject({ tasks: 1, attempts: 3, solved: 0 });
    expect(c.passAt1.value).toBeCloseTo(1 / 3, 12);
    expect(c.oraclePassAtN.value).toBe(1);
    expect(c.selectedPass.value).toBe(0);
    expect(c.selectorAccuracy.value).toBe(0);
    expect(results.tasks[0]!.forks).toEqual([
      { n: 1, status: "succeeded", hiddenPassed: true },
      { n: 2, status: "succeeded", hiddenPassed: null, hiddenError: "patch_failed" },
      { n: 3, status: "failed", hiddenPassed: false },
    ]);
    expect(results.tasks[1]!.forks[0]!.hiddenPassed).toBeNull();
    expect(results.hiddenCheckCostUsd).toBeCloseTo(0.03, 12);
  });

  it("CSV: a header and one line per config; undefined figures are empty cells", () => {
    const csv = resultsCsv(evalResults("e1", "running", { configs: [{ name: "c", model: "sonnet", forks: 3 }] }, rows, checks)).split("\n");
    expect(csv[0]!.split(",").slice(0, 7)).toEqual(["config", "model", "forks", "tasks", "attempts", "solved", "passAt1"]);
    const line = csv[1]!.split(",");
    expect(line.slice(0, 6)).toEqual(["c", "sonnet", "3", "1", "3", "0"]);
    // judge AUC (no scores): three empty cells; cost per solved task (none solved): empty.
    expect(line.slice(18, 21)).toEqual(["", "", ""]);
    expect(line[23]).toBe("");
  });
});
