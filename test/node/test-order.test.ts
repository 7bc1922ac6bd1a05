import { describe, expect, it } from "vitest";
import { longestFirst } from "../../scripts/test-order.ts";

describe("npm test's order of the workers files", () => {
  it("longest first, ties by name; a file without a recorded time weighs the median", () => {
    const seconds = { a: 50, b: 30, c: 20, d: 10, e: 20 };
    expect(longestFirst(["e", "d", "f", "c", "b", "a"], seconds)).toEqual(["a", "b", "c", "e", "f", "d"]);
    expect(longestFirst(["y", "x"], {})).toEqual(["x", "y"]);
  });
});
