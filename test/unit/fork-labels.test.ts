import { describe, expect, it } from "vitest";
import { forkBadgeStatus, forkCounts } from "../../src/dashboard/client/lib/fork-labels.ts";
import { forkCount } from "../../src/d1-index/run-index";

const totals = { succeeded: 0, failed: 0, cancelled: 0, budgetExceeded: 0, running: 0, queued: 0, costUsd: { sandbox: 0, llm: 0, total: 0 } };

describe("what the dashboard says of forks", () => {
  it("badges a fork that succeeded with a failed check 'check failed', not a success", () => {
    expect(forkBadgeStatus({ status: "succeeded", check: { passed: false } })).toBe("check_failed");
    expect(forkBadgeStatus({ status: "succeeded", check: { passed: true } })).toBe("succeeded");
    expect(forkBadgeStatus({ status: "succeeded" })).toBe("succeeded");
    expect(forkBadgeStatus({ status: "failed", check: { passed: false } })).toBe("failed");
  });

  it("counts every ended fork in the runs list: cancelled and over budget too", () => {
    const counts = forkCounts({ forks: 5, succeeded: 1, failed: 1, cancelled: 2, budgetExceeded: 1 });
    expect(counts.headline).toBe("1 / 5 succeeded");
    expect(counts.ended.map((e) => e.text)).toEqual(["1 failed", "2 cancelled", "1 over budget"]);
    expect(counts.widths).toEqual({ succeeded: 20, failed: 20, cancelled: 40, budget: 20 });
  });

  it("never shows more succeeded than forks (a run's branched forks count)", () => {
    // A row indexed before the counts were: `forks` is the requested count.
    expect(forkCounts({ forks: 1, succeeded: 3, failed: 0, cancelled: 0, budgetExceeded: 0 }).headline).toBe("3 / 3 succeeded");
  });

  it("indexes the number of forks the run has, branched ones included", () => {
    expect(forkCount({ request: { forks: 1 } as never, totals: { ...totals, succeeded: 3 } })).toBe(3);
    expect(forkCount({ request: { forks: 4 } as never, totals: { ...totals, running: 1 } })).toBe(4);
    expect(forkCount({ request: { forks: 2 } as never, totals: { ...totals, succeeded: 1, failed: 1, cancelled: 1, budgetExceeded: 1, queued: 1 } })).toBe(5);
  });
});
