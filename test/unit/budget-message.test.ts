import { describe, expect, it } from "vitest";
import { modelCallStopMessage, readableUsd } from "../../src/core/budget-message";
import { expectedCallCostUsd } from "../../src/agent/pricing";

describe("a budget stop before a model call", () => {
  it("writes dollars as a person reads them", () => {
    expect([0, 0.00000039, 0.006, 0.24, 0.2, 0.000241, 1.5, 12.345].map(readableUsd)).toEqual(["$0.00", "$0.00", "$0.006", "$0.24", "$0.20", "$0.0002", "$1.50", "$12.35"]);
  });

  it("says what the call reserves and why, against what was spent of what budget", () => {
    // A $0.006 budget and Sonnet's default 16,000 output tokens: the call alone reserves about $0.24.
    const call = { maxTokens: 16_000, inputTokensEstimate: 2_100 };
    const expectedUsd = expectedCallCostUsd("claude-sonnet-4-5", call);
    const message = modelCallStopMessage({ owner: "run", expectedUsd, call, budgetUsd: 0.006, spentUsd: 0, reservedUsd: 0 });
    expect(message).toBe(
      `The next model call would reserve about $${expectedUsd.toFixed(4)} ($0.25) for a call of up to 16,000 output tokens (and about 2,100 input tokens) at list price; ` +
        "spent $0.00 of the run's budget of $0.006. Raise the budget, or lower task.maxTokens.",
    );
    // Lowering maxTokens lowers the reservation in proportion to the output it allows.
    expect(expectedCallCostUsd("claude-sonnet-4-5", { ...call, maxTokens: 1_000 })).toBeLessThan(expectedUsd / 5);
  });

  it("counts what calls in flight hold", () => {
    expect(modelCallStopMessage({ owner: "session", expectedUsd: 0.1, budgetUsd: 1, spentUsd: 0.5, reservedUsd: 0.45 })).toBe(
      "The next model call would reserve about $0.1000 ($0.10); spent $0.50 of the session's budget of $1.00, $0.45 held by calls in flight. Raise it with PATCH budgetUsd.",
    );
  });
});
