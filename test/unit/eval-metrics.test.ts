import { describe, expect, it } from "vitest";
import { configFigures, judgeAuc, meanInterval, passAt1, selectorAccuracy, wilson, type TaskOutcome } from "../../src/evals/metrics";

const task = (taskId: string, passed: boolean[], selected: number | null, extra: Partial<TaskOutcome> = {}): TaskOutcome => ({
  taskId,
  attempts: passed.map((p, i) => ({ n: i + 1, passed: p })),
  selected,
  costUsd: 1,
  durationMs: 1000,
  ...extra,
});

describe("eval metrics (hand-checked figures, docs/evals.md)", () => {
  it("Wilson's interval: 1 of 2 is [0.0945, 0.9055]; 2 of 2 is [0.3424, 1]; 0 of 1 is [0, 0.7935]", () => {
    // center = (p + z²/2n)/(1 + z²/n); half = z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n), z = 1.95996
    const half = wilson(0.5, 2);
    expect(half.value).toBe(0.5);
    expect(half.low).toBeCloseTo(0.094531, 6);
    expect(half.high).toBeCloseTo(0.905469, 6);
    expect(wilson(1, 2).low).toBeCloseTo(0.34238, 5);
    expect(wilson(1, 2).high).toBe(1);
    expect(wilson(0, 1).low).toBe(0);
    expect(wilson(0, 1).high).toBeCloseTo(0.793451, 6);
    expect(wilson(0.3, 0)).toEqual({ value: null, low: null, high: null, n: 0 });
  });

  it("pass@1 is the mean over tasks of c/n, not the pooled share of attempts", () => {
    // Task a: 1 of 1 passes; task b: 1 of 3. Pooled would be 2/4 = 0.5; the estimator is (1 + 1/3)/2.
    const figures = passAt1([task("a", [true], 1), task("b", [true, false, false], 1)]);
    expect(figures.value).toBeCloseTo(2 / 3, 12);
    expect(figures.n).toBe(2);
    expect(figures.low).toBeCloseTo(0.159382, 6);
    expect(figures.high).toBeCloseTo(0.954745, 6);
  });

  it("oracle, selected and selector accuracy: a selector that picks a failing fork when another passes", () => {
    const tasks = [task("a", [true, false], 1), task("b", [false, true], 1), task("c", [false, false], 2)];
    const f = configFigures(tasks);
    expect(f.passAt1.value).toBeCloseTo(1 / 3, 12);
    expect(f.oraclePassAtN.value).toBeCloseTo(2 / 3, 12);
    expect(f.selectedPass.value).toBeCloseTo(1 / 3, 12);
    expect(f.selectorAccuracy).toMatchObject({ value: 0.5, n: 2 });
    expect(f.selectorAccuracy.low).toBeCloseTo(0.094531, 6);
    expect(f.solved).toBe(1);
    expect(f.attempts).toBe(6);
  });

  it("selector accuracy is undefined when no fork of any task passes; no selected fork never passes", () => {
    expect(selectorAccuracy([task("a", [false], 1)])).toEqual({ value: null, low: null, high: null, n: 0 });
    expect(configFigures([task("a", [true], null)]).selectedPass.value).toBe(0);
  });

  it("judge AUC: pairs of (passing, failing) scores, ties count half; Hanley-McNeil interval", () => {
    const scored: TaskOutcome = {
      taskId: "a",
      attempts: [
        { n: 1, passed: true, score: 8 },
        { n: 2, passed: true, score: 6 },
        { n: 3, passed: true, score: 5 },
        { n: 4, passed: false, score: 5 },
        { n: 5, passed: false, score: 2 },
        { n: 6, passed: false, score: null },
      ],
      selected: 1,
      costUsd: 0,
      durationMs: 0,
    };
    // Pairs: 8>5, 8>2, 6>5, 6>2, 5=5 (½), 5>2 → 5.5 / 6.
    const auc = judgeAuc([scored]);
    expect(auc.value).toBeCloseTo(11 / 12, 12);
    expect(auc.n).toBe(5);
    expect(auc.low).toBeCloseTo(0.634138, 6);
    expect(auc.high).toBe(1);
    expect(judgeAuc([task("a", [true, false], 1)]).value).toBeNull();
  });

  it("cost and time per task (mean ± 1.96 s/√n) and per solved task (total over solved)", () => {
    const tasks = [task("a", [true], 1, { costUsd: 1, durationMs: 1000 }), task("b", [false], 1, { costUsd: 3, durationMs: 3000 })];
    const f = configFigures(tasks);
    expect(f.costPerTaskUsd.value).toBe(2);
    // s = √2, half = 1.95996·√2/√2 = 1.95996
    expect(f.costPerTaskUsd.low).toBeCloseTo(2 - 1.959964, 6);
    expect(f.costPerTaskUsd.high).toBeCloseTo(2 + 1.959964, 6);
    expect(f.costPerSolvedTaskUsd).toBe(4);
    expect(f.timePerSolvedTaskMs).toBe(4000);
    expect(meanInterval([5])).toEqual({ value: 5, low: null, high: null, n: 1 });
    expect(configFigures([task("a", [false], 1)]).costPerSolvedTaskUsd).toBeNull();
  });
});
