/**
 * The transcript of a `claude-code` fork, read from the CLI's stream-json output (its last 256 KiB,
 * scrubbed of secrets): the prompt, each assistant message and each tool call with its result, as
 * the one `claude-code` step records them when it ends. Keys are `claude-code:<k>` for the k-th
 * assistant message and `claude-code:<k>:<i>` for its tool calls.
 */
import { boundOutput, MAX_TOOL_OUTPUT_CHARS } from "../agent/bound";
import type { JsonValue } from "../agent/conversation";
import { boundStrings, MAX_TRANSCRIPT_TEXT_CHARS, promptRecord, type TranscriptRecord } from "./fork-transcript";

type Block = { type?: string; text?: string; id?: string; name?: string; input?: JsonValue; tool_use_id?: string; content?: unknown; is_error?: boolean };
interface StreamEvent {
  type?: string;
  message?: { content?: Block[] | string };
}

export function claudeCodeRecords(step: string, prompt: string, output: string): TranscriptRecord[] {
  const records: TranscriptRecord[] = [promptRecord(1, prompt)];
  const calls = new Map<string, { k: number; i: number; name: string; input: JsonValue }>();
  let k = 0;
  for (const line of output.split("\n")) {
    const event = parseLine(line);
    const content = Array.isArray(event?.message?.content) ? event.message.content : [];
    if (event?.type === "assistant") {
      k++;
      const uses = content.filter((b) => b.type === "tool_use");
      uses.forEach((u, i) => calls.set(String(u.id), { k, i, name: String(u.name ?? ""), input: u.input ?? {} }));
      const text = content.flatMap((b) => (b.type === "text" && typeof b.text === "string" ? [b.text] : [])).join("\n");
      const toolCalls = uses.map((u) => ({ id: String(u.id), name: String(u.name ?? ""), input: boundStrings(u.input ?? {}) }));
      records.push({ key: `${step}:${k}`, turn: k, data: JSON.stringify({ role: "assistant", text: boundOutput(text, MAX_TRANSCRIPT_TEXT_CHARS), stopReason: uses.length ? "tool_use" : "end_turn", toolCalls }) });
    } else if (event?.type === "user") {
      for (const block of content.filter((b) => b.type === "tool_result")) {
        const call = calls.get(String(block.tool_use_id));
        if (!call) continue;
        const data = { role: "tool", toolUseId: String(block.tool_use_id), name: call.name, input: boundStrings(call.input), content: boundOutput(resultText(block.content), MAX_TOOL_OUTPUT_CHARS), isError: block.is_error === true };
        records.push({ key: `${step}:${call.k}:${call.i + 1}`, turn: call.k, data: JSON.stringify(data) });
      }
    }
  }
  return records;
}

function parseLine(line: string): StreamEvent | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null ? (value as StreamEvent) : null;
  } catch {
    return null;
  }
}

/** A tool result's content: a string, or text blocks. */
function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.flatMap((b: { type?: string; text?: unknown }) => (b?.type === "text" && typeof b.text === "string" ? [b.text] : [])).join("\n");
  return "";
}
