/**
 * The Claude Code runtime: the Claude Code CLI runs inside the sandbox, headless, and reports in
 * its stream-json format (one JSON object per line, the last one the `result` envelope). Forkyard
 * parses that into the same agent result as its own loop. Its checkpoint is the whole CLI run, not
 * each model and tool call — the coarser option. It reaches the model through the Worker's model
 * proxy with a per-fork token (src/model-proxy/): no model key enters the sandbox.
 */
import type { AgentView } from "../api/runs";
import { boundOutput } from "./bound";
import { MAX_SUMMARY_CHARS } from "./loop";
import { ZERO_USAGE, addUsage, type TokenUsage } from "./pricing";

/** The CLI invocation; every value comes from the environment, so none is parsed as shell. */
export const CLAUDE_CODE_SCRIPT =
  '"$FORKYARD_CLAUDE" -p "$FORKYARD_PROMPT" --output-format stream-json --verbose --model "$FORKYARD_MODEL" --max-turns "$FORKYARD_MAX_TURNS" --dangerously-skip-permissions';

export interface ClaudeCodeResult extends AgentView {
  isError: boolean;
  /** What the CLI reported it cost, when it did: advisory (the model proxy's metering is billed). */
  reportedCostUsd: number | null;
}

interface StreamUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

function toUsage(u: StreamUsage | undefined): TokenUsage {
  if (!u) return ZERO_USAGE;
  return { input: u.input_tokens ?? 0, output: u.output_tokens ?? 0, cacheRead: u.cache_read_input_tokens ?? 0, cacheWrite: u.cache_creation_input_tokens ?? 0 };
}

/** The last line of a Claude Code run. */
interface ResultEnvelope {
  subtype?: string;
  is_error?: boolean;
  num_turns?: number;
  result?: string;
  total_cost_usd?: number;
  usage?: StreamUsage;
}

const STOP_REASONS: Record<string, string> = { success: "end_turn", error_max_turns: "max_turns" };

/** Parses the CLI's stream-json output; null when it never reached its `result` line. */
export function parseClaudeCodeStream(output: string, model: string): ClaudeCodeResult | null {
  let toolCalls = 0;
  let assistantUsage = ZERO_USAGE;
  let lastText = "";
  let result: ResultEnvelope | null = null;
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    let event: { type?: string; message?: { content?: { type?: string; text?: string }[]; usage?: StreamUsage } } & Record<string, unknown>;
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      continue;
    }
    if (event.type === "assistant") {
      const content = event.message?.content ?? [];
      toolCalls += content.filter((b) => b.type === "tool_use").length;
      const text = content.filter((b) => b.type === "text").map((b) => b.text ?? "").join("");
      if (text) lastText = text;
      assistantUsage = addUsage(assistantUsage, toUsage(event.message?.usage));
    } else if (event.type === "result") {
      result = event as unknown as ResultEnvelope;
    }
  }
  if (!result) return null;
  const subtype = result.subtype ?? "unknown";
  return {
    model,
    stopReason: STOP_REASONS[subtype] ?? subtype,
    turns: result.num_turns ?? 0,
    toolCalls,
    tokens: result.usage ? toUsage(result.usage) : assistantUsage,
    summary: boundOutput(result.result ?? lastText, MAX_SUMMARY_CHARS),
    isError: result.is_error === true,
    reportedCostUsd: typeof result.total_cost_usd === "number" ? result.total_cost_usd : null,
  };
}
