/**
 * What a budget stop before a model call says: what the call would reserve and why (its output
 * limit at list price), against what was spent of what budget. Pure, so it is unit-tested.
 */

/** Dollars as a person reads them: cents from $1 up, else two significant digits ($0.006), at most 4 decimals. */
export function readableUsd(usd: number): string {
  if (usd < 0.00005) return "$0.00";
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  const [whole, decimals = ""] = Number(usd.toPrecision(2)).toFixed(4).replace(/0+$/, "").split(".");
  return `$${whole}.${decimals.padEnd(2, "0")}`;
}

export interface ModelCallStop {
  owner: "run" | "session";
  expectedUsd: number;
  /** The call's output limit and input estimate, when the caller said (older callers do not). */
  call?: { maxTokens: number; inputTokensEstimate: number };
  budgetUsd: number;
  spentUsd: number;
  /** Held by other calls in flight. */
  reservedUsd: number;
}

export function modelCallStopMessage(stop: ModelCallStop): string {
  const { call } = stop;
  const why = call
    ? ` for a call of up to ${call.maxTokens.toLocaleString("en-US")} output tokens (and about ${call.inputTokensEstimate.toLocaleString("en-US")} input tokens) at list price`
    : "";
  const held = stop.reservedUsd > 0 ? `, ${readableUsd(stop.reservedUsd)} held by calls in flight` : "";
  const fix = stop.owner === "run" ? "Raise the budget, or lower task.maxTokens." : "Raise it with PATCH budgetUsd.";
  // "about $<4 decimals>" stays machine-readable: the reservation exactly as it was refused.
  return (
    `The next model call would reserve about $${stop.expectedUsd.toFixed(4)} (${readableUsd(stop.expectedUsd)})${why}; ` +
    `spent ${readableUsd(stop.spentUsd)} of the ${stop.owner}'s budget of ${readableUsd(stop.budgetUsd)}${held}. ${fix}`
  );
}
