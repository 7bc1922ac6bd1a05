/**
 * Keeping a long conversation within the model's context window. The strategy, deterministic so a
 * replayed step sends the same bytes: when the conversation's estimated size passes the window
 * (less the output allowance), tool results are cleared oldest first — their call stays, the
 * output is replaced by a marker — keeping the most recent ones; if that is not enough, the oldest
 * exchanges (a prompt and the agent's whole answer) are dropped, never the current one.
 */
import type { Exchange } from "./conversation";

export const CLEARED_TOOL_RESULT = "[output cleared to keep the conversation within the model's context window]";
/** The newest tool results are never cleared: the agent is most likely working with them. */
const KEEP_RECENT_TOOL_RESULTS = 4;
/** A deterministic overestimate: about 3 characters per token (as estimateInputTokens). */
export const CHARS_PER_TOKEN = 3;

function size(exchanges: readonly Exchange[]): number {
  return JSON.stringify(exchanges).length;
}

/** The conversation, trimmed (a copy) so that its JSON stays within `maxChars`; unchanged when it fits. */
export function fitToContext(exchanges: readonly Exchange[], maxChars: number): Exchange[] {
  if (size(exchanges) <= maxChars) return [...exchanges];
  const out = structuredClone(exchanges) as Exchange[];
  let total = size(out);
  const results = out.flatMap((e) => e.turns.flatMap((t) => t.tools)).filter((t) => t.content !== CLEARED_TOOL_RESULT);
  for (const result of results.slice(0, Math.max(0, results.length - KEEP_RECENT_TOOL_RESULTS))) {
    if (total <= maxChars) break;
    total -= JSON.stringify(result.content).length - JSON.stringify(CLEARED_TOOL_RESULT).length;
    result.content = CLEARED_TOOL_RESULT;
  }
  while (total > maxChars && out.length > 1) {
    out.shift();
    total = size(out);
  }
  return out;
}
