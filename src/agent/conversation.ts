/**
 * The agent's conversation is never stored as such: it is rebuilt, deterministically, from the
 * checkpointed step results (one ModelTurn per model step, one ToolTurn per tool step). A replayed
 * Workflow therefore sends the model exactly the bytes it sent before the crash, which keeps the
 * prompt cache warm. Step results are small plain JSON.
 */
import type { ContentBlockParam, MessageParam, StopReason, TextBlockParam, ToolResultBlockParam } from "@anthropic-ai/sdk/resources/messages";
import type { TokenUsage } from "./pricing";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * What an assistant message may hold. Thinking blocks are kept verbatim (signature included)
 * because current models require them back, unchanged, in the conversation that produced them.
 * A tool call's input is kept as JSON text: a recursive JSON type is too deep for the Workflow's
 * `Rpc.Serializable` check, and text round-trips exactly.
 */
export type AssistantBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; inputJson: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string };

export type ToolUseBlock = Extract<AssistantBlock, { type: "tool_use" }>;

/** The result of one model step. */
export interface ModelTurn {
  stopReason: StopReason;
  content: AssistantBlock[];
  usage: TokenUsage;
  /** The model id that answered (as the API reports it). */
  model: string;
}

/** The result of one tool step. */
export interface ToolTurn {
  toolUseId: string;
  content: string;
  isError: boolean;
}

export interface AgentTurn {
  model: ModelTurn;
  tools: ToolTurn[];
}

/** One prompt and the agent's turns answering it; a session's conversation is a list of them. */
export interface Exchange {
  prompt: string;
  turns: AgentTurn[];
}

/** A fork's whole conversation: its own exchange, after those it continued (a branched fork's parent's). */
export interface ForkTranscript extends Exchange {
  history?: Exchange[];
}

const EPHEMERAL = { type: "ephemeral" } as const;
/** The API rejects empty text and empty tool results. */
const EMPTY_RESULT = "(no output)";

export function toolUses(turn: ModelTurn): ToolUseBlock[] {
  return turn.content.filter((b): b is ToolUseBlock => b.type === "tool_use");
}

/** A tool call's input as the model sent it (an object; anything unparsable reads as {}). */
export function toolInput(use: ToolUseBlock): JsonObject {
  try {
    const value: unknown = JSON.parse(use.inputJson);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
  } catch {
    return {};
  }
}

function assistantContent(turn: ModelTurn): ContentBlockParam[] {
  return turn.content.flatMap((b): ContentBlockParam[] => {
    if (b.type === "text") return b.text.length > 0 ? [{ type: "text", text: b.text }] : [];
    if (b.type === "tool_use") return [{ type: "tool_use", id: b.id, name: b.name, input: toolInput(b) }];
    return [{ ...b }];
  });
}

function toolResult(t: ToolTurn): ToolResultBlockParam {
  const block: ToolResultBlockParam = { type: "tool_result", tool_use_id: t.toolUseId, content: t.content || EMPTY_RESULT };
  if (t.isError) block.is_error = true;
  return block;
}

/**
 * The Messages API `messages` for a conversation: per exchange the user's prompt, then per turn the
 * assistant message and (if it called tools) a user message with every tool result; a prompt that
 * follows tool results joins their message (roles alternate). The last user message's last block
 * carries a cache breakpoint, so each call reads the previous call's prefix from cache.
 */
export function buildMessages(prompt: string, turns: readonly AgentTurn[], history: readonly Exchange[] = []): MessageParam[] {
  const messages: MessageParam[] = [];
  let lastUserBlock: TextBlockParam | ToolResultBlockParam | undefined;
  const pushUser = (blocks: (TextBlockParam | ToolResultBlockParam)[]) => {
    const last = messages[messages.length - 1];
    if (last?.role === "user" && Array.isArray(last.content)) last.content.push(...blocks);
    else messages.push({ role: "user", content: blocks });
    lastUserBlock = blocks[blocks.length - 1] ?? lastUserBlock;
  };
  for (const exchange of [...history, { prompt, turns: [...turns] }]) {
    pushUser([{ type: "text", text: exchange.prompt }]);
    for (const turn of exchange.turns) {
      messages.push({ role: "assistant", content: assistantContent(turn.model) });
      if (turn.tools.length > 0) pushUser(turn.tools.map(toolResult));
    }
  }
  lastUserBlock!.cache_control = EPHEMERAL;
  return messages;
}

/** The agent's closing words: the text of the last assistant message that has any. */
export function finalSummary(turns: readonly AgentTurn[]): string {
  for (let i = turns.length - 1; i >= 0; i--) {
    const text = (turns[i]?.model.content ?? [])
      .flatMap((b) => (b.type === "text" ? [b.text] : []))
      .join("\n")
      .trim();
    if (text) return text;
  }
  return "";
}
