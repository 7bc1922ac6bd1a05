import { describe, expect, it } from "vitest";
import type { ConfigResults } from "../../src/api/evals.ts";
import { wilson } from "../../src/evals/metrics.ts";
import { costChart, groupSeries, niceStep, passChart, usd, type ChartConfig } from "../../src/dashboard/client/lib/eval-chart.ts";

const NONE = { value: null, low: null, high: null, n: 0 };
/** A config's results: its selected pass (k of 2 tasks) and cost per solved task; the rest left empty. */
function results(config: string, solved: number | null, costPerSolved: number | null): ConfigResults {
  const rate = solved === null ? NONE : wilson(solved / 2, 2);
  return {
    config, model: "m", forks: 1, tasks: solved === null ? 0 : 2, attempts: 0, solved: solved ?? 0,
    passAt1: rate, oraclePassAtN: rate, selectedPass: rate, selectorAccuracy: NONE, judgeAuc: NONE,
    costPerTaskUsd: NONE, timePerTaskMs: NONE, costPerSolvedTaskUsd: costPerSolved, timePerSolvedTaskMs: null,
  };
}

const n1: ChartConfig = { name: "n1", model: "sonnet", forks: 1 };
const n2: ChartConfig = { name: "n2", model: "sonnet", forks: 2 };
const n4: ChartConfig = { name: "n4", model: "sonnet", forks: 4 };
const h1: ChartConfig = { name: "h1", model: "haiku", forks: 1 };
const t4: ChartConfig = { name: "t4", model: "sonnet", forks: 4, judge: { mode: "tournament" } };

describe("the eval page's charts", () => {
  it("groups configs that differ only in N into one series, ordered by N; another model, judge or strategy is another series", () => {
    const adaptive: ChartConfig = { name: "a", model: "sonnet", forks: 1, strategy: { kind: "adaptive", initial: 2, max: 8, until: "check_pass" } };
    const twin: ChartConfig = { name: "n2-again", model: "sonnet", forks: 2 };
    const groups = groupSeries([n4, h1, n1, t4, n2, adaptive, twin]);
    expect(groups.map((g) => [g.label, g.configs.map((c) => c.name)])).toEqual([
      ["sonnet", ["n1", "n2", "n4"]],
      ["haiku", ["h1"]],
      ["sonnet · tournament", ["t4"]],
      ["sonnet · adaptive from 2", ["a"]],
      // A second config at an N the family already has: a series of its own, named.
      ["sonnet (n2-again)", ["n2-again"]],
    ]);
  });

  it("places N on a log scale and the selected pass with its 95 % interval as an error bar", () => {
    const chart = passChart([n1, n2, n4, h1], [results("n1", 1, 0.004), results("n2", 2, 0.006), results("n4", null, null), results("h1", 0, null)], "selectedPass");
    expect(chart.plot).toEqual({ left: 80, top: 16, right: 502, bottom: 252 });
    // 1, 2, 4 evenly spaced, 24 px inside the axes.
    expect(chart.xTicks).toEqual([{ at: 104, label: "1" }, { at: 291, label: "2" }, { at: 478, label: "4" }]);
    expect(chart.yTicks.map((t) => [t.at, t.label])).toEqual([[252, "0 %"], [193, "25 %"], [134, "50 %"], [75, "75 %"], [16, "100 %"]]);
    const [sonnet, haiku] = chart.series;
    // n4 has no counted task yet: no point.
    expect(sonnet!.points.map((p) => [p.config, p.x, p.y])).toEqual([["n1", 104, 134], ["n2", 291, 16]]);
    const half = wilson(0.5, 2);
    expect(sonnet!.points[0]!.bar).toEqual({ top: 252 - half.high! * 236, bottom: 252 - half.low! * 236 });
    expect(sonnet!.points[0]!.label).toBe("n1 (N = 1): 50 % (95 % CI 9 %–91 %)");
    expect(haiku!.points.map((p) => [p.config, p.x, p.y, p.value])).toEqual([["h1", 104, 252, 0]]);
    expect(chart.description).toBe(
      "Selected pass against N, one line per model (configs that differ only in N). sonnet: n1 (N = 1): 50 % (95 % CI 9 %–91 %); n2 (N = 2): 100 % (95 % CI 34 %–100 %). haiku: h1 (N = 1): 0 % (95 % CI 0 %–66 %). The results table has every figure.",
    );
  });

  it("plots the cost per solved task from $0 on round ticks, without a point where nothing was solved", () => {
    const chart = costChart([n1, n2, h1], [results("n1", 1, 0.004), results("n2", 2, 0.0055), results("h1", 0, null)]);
    expect(chart.yTicks.map((t) => t.label)).toEqual(["$0.000", "$0.002", "$0.004", "$0.006"]);
    expect(chart.series.map((s) => s.points.length)).toEqual([2, 0]);
    const [a, b] = chart.series[0]!.points;
    expect([a!.y, b!.y]).toEqual([252 - (0.004 / 0.006) * 236, 252 - (0.0055 / 0.006) * 236]);
    expect(a!.bar).toBeNull();
    expect(chart.description).toContain("haiku: no figure yet.");
  });

  it("puts a single N in the middle, and rounds steps and amounts", () => {
    const chart = passChart([n1], [results("n1", 1, 1)], "passAt1");
    expect(chart.xTicks).toEqual([{ at: 291, label: "1" }]);
    expect([niceStep(10), niceStep(0.003), niceStep(7), niceStep(0)]).toEqual([2.5, 0.001, 2, 1]);
    expect([usd(1.5, 0.5), usd(0.0025, 0.0025), usd(0.01, 0.01)]).toEqual(["$1.50", "$0.0025", "$0.01"]);
  });
});
