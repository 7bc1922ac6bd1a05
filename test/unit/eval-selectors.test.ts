// A config judged with a tournament reports each selector's figures on the same forks side by side
// (src/evals/results.ts selectorFigures): hand-checked selected pass and accuracy per selector.
import { describe, expect, it } from "vitest";
import type { CreateEvalRequest } from "../../src/api/evals";
import { wilson } from "../../src/evals/metrics";
import { evalResults, resultsCsv, type CheckOutcomeRow, type RunOutcomeRow } from "../../src/evals/results";

const config = { name: "t", model: "sonnet", forks: 2, judge: { mode: "tournament" as const } };
const request = { configs: [config, { name: "plain", model: "sonnet", forks: 2 }] } as unknown as Pick<CreateEvalRequest, "configs">;

function run(task: string, pointwise: number, tournament: number): RunOutcomeRow {
  return { task, config: "t", runId: `r-${task}`, status: "done", costUsd: 1, durationMs: 10, winner: tournament, error: null, selected: { pointwise, tournament }, forks: [{ n: 1, status: "succeeded" }, { n: 2, status: "succeeded" }] };
}
const check = (task: string, n: number, passed: boolean): CheckOutcomeRow => ({ runId: `r-${task}`, n, status: "done", passed, error: null, costUsd: 0 });

describe("selectors side by side", () => {
  it("selected pass and selector accuracy with the pointwise pick and with the tournament's, on the same forks", () => {
    // a: only fork 1 passes — pointwise picked 2, the tournament 1. b: only fork 2 passes — both picked 2. c: none passes.
    const rows = [run("a", 2, 1), run("b", 2, 2), run("c", 1, 2)];
    const checks = [check("a", 1, true), check("a", 2, false), check("b", 1, false), check("b", 2, true), check("c", 1, false), check("c", 2, false)];
    const results = evalResults("e", "completed", request, rows, checks);
    const tournamentConfig = results.configs[0]!;
    expect(tournamentConfig.selectors!.pointwise.selectedPass).toEqual(wilson(1 / 3, 3));
    expect(tournamentConfig.selectors!.tournament.selectedPass).toEqual(wilson(2 / 3, 3));
    expect(tournamentConfig.selectors!.pointwise.selectorAccuracy).toEqual(wilson(1 / 2, 2));
    expect(tournamentConfig.selectors!.tournament.selectorAccuracy).toEqual(wilson(1, 2));
    // The config's own selected pass is its runs' winner: the tournament's.
    expect(tournamentConfig.selectedPass).toEqual(wilson(2 / 3, 3));
    expect(results.tasks[0]!.selectedBy).toEqual({ pointwise: 2, tournament: 1 });
    // A config without a tournament has no side-by-side figures.
    expect(results.configs[1]!.selectors).toBeUndefined();
    const [header, line] = resultsCsv(results).trim().split("\n");
    expect(header!.split(",").slice(-4)).toEqual(["pointwiseSelectedPass", "tournamentSelectedPass", "pointwiseSelectorAccuracy", "tournamentSelectorAccuracy"]);
    expect(line!.split(",").slice(-4).map(Number)).toEqual([1 / 3, 2 / 3, 0.5, 1]);
  });
});
