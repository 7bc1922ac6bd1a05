import { describe, expect, it } from "vitest";
import { childBudgets, forkTitles, remainingUsd } from "../../src/objects/session/fork-plan";

describe("a session fork's children", () => {
  it("split the parent's remaining budget evenly, rounded down to the micro-dollar", () => {
    expect(remainingUsd(1, 0.1234567)).toBe(0.876543);
    expect(childBudgets(0.876543, 3)).toEqual([0.292181, 0.292181, 0.292181]);
    expect(childBudgets(1, 4)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(3 * childBudgets(0.1, 3)[0]!).toBeLessThanOrEqual(0.1);
  });

  it("get no budget when the parent has none, and nothing when it is spent", () => {
    expect(remainingUsd(null, 5)).toBeNull();
    expect(childBudgets(null, 2)).toEqual([null, null]);
    expect(remainingUsd(2, 2.5)).toBe(0);
    expect(childBudgets(0, 2)).toEqual([0, 0]);
  });

  it("get the budget asked for: one for all, or one each", () => {
    expect(childBudgets(0.5, 2, 3)).toEqual([3, 3]);
    expect(childBudgets(null, 3, [1, 2, 0.5])).toEqual([1, 2, 0.5]);
  });

  it("get distinct titles", () => {
    expect(forkTitles("Speed up tests", undefined, 3)).toEqual(["Speed up tests (fork 1 of 3)", "Speed up tests (fork 2 of 3)", "Speed up tests (fork 3 of 3)"]);
    expect(forkTitles("Speed up tests", "Try caching", 2)).toEqual(["Try caching (fork 1 of 2)", "Try caching (fork 2 of 2)"]);
    expect(forkTitles("Speed up tests", undefined, 1)).toEqual(["Speed up tests (fork)"]);
    expect(forkTitles("Speed up tests", "Try caching", 1)).toEqual(["Try caching"]);
  });
});
