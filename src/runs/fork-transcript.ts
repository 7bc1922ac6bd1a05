/**
 * An agent fork's transcript as its steps record it: one record per model call and per tool call,
 * keyed by the step's name (a re-run step replaces its record, never adds one), plus the prompt.
 * Records cross RPC as JSON text (a tool call's input is arbitrary JSON) and are bounded here, in
 * the step, before they leave it: the fork's model and sandbox wrote every string in them.
 */
import type { ForkTranscriptEntry, ForkTranscriptPage } from "../api/fork-transcript";

export type { ForkTranscriptPage };
import { boundOutput, MAX_TOOL_OUTPUT_CHARS } from "../agent/bound";
import type { JsonValue, ModelTurn, ToolTurn } from "../agent/conversation";
import { toolInput, toolUses } from "../agent/conversation";
import { modelStepName, toolStepName } from "../agent/step-names";

/** The longest text kept of one model answer, and of one string in a tool call's input. */
export const MAX_TRANSCRIPT_TEXT_CHARS = 32 * 1024;

/** What a step sends the Orchestrator: `data` is the entry's own fields as JSON text. */
export interface TranscriptRecord {
  /** The step's name (model-k, tool-k-i), `prompt`, or `claude-code:<k>[:<i>]` (claude-code-transcript.ts). */
  key: string;
  turn: number;
  data: string;
}

/** An entry without the fields the store gives it (its place, time and step). */
type EntryBody<E = ForkTranscriptEntry> = E extends ForkTranscriptEntry ? Omit<E, "seq" | "at" | "turn" | "step"> : never;

export const PROMPT_KEY = "prompt";

export function promptRecord(turn: number, prompt: string): TranscriptRecord {
  return record(PROMPT_KEY, turn, { role: "user", text: boundOutput(prompt, MAX_TRANSCRIPT_TEXT_CHARS) });
}

export function modelRecord(turn: number, model: ModelTurn): TranscriptRecord {
  const text = model.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("\n");
  return record(modelStepName(turn), turn, {
    role: "assistant",
    text: boundOutput(text, MAX_TRANSCRIPT_TEXT_CHARS),
    stopReason: model.stopReason,
    toolCalls: toolUses(model).map((u) => ({ id: u.id, name: u.name, input: boundStrings(toolInput(u)) })),
  });
}

export function toolRecord(turn: number, index: number, call: { name: string; input: JsonValue }, result: ToolTurn): TranscriptRecord {
  return record(toolStepName(turn, index), turn, {
    role: "tool",
    toolUseId: result.toolUseId,
    name: call.name,
    input: boundStrings(call.input),
    content: boundOutput(result.content, MAX_TOOL_OUTPUT_CHARS),
    isError: result.isError,
  });
}

/** A stored record as the API shows it. */
export function transcriptEntry(row: { seq: number; key: string; turn: number; data: string; at: string }): ForkTranscriptEntry {
  const body = JSON.parse(row.data) as EntryBody;
  // A claude-code fork's keys are `claude-code:<k>[:<i>]`: its entries' step is the one step.
  return { seq: row.seq, turn: row.turn, step: row.key === PROMPT_KEY ? null : row.key.replace(/:.*$/, ""), at: row.at, ...body } as ForkTranscriptEntry;
}

function record(key: string, turn: number, body: EntryBody): TranscriptRecord {
  return { key, turn, data: JSON.stringify(body) };
}

/** The value with each string bounded (a `create` of a large file, a long command). */
export function boundStrings(value: JsonValue): JsonValue {
  if (typeof value === "string") return boundOutput(value, MAX_TRANSCRIPT_TEXT_CHARS);
  if (Array.isArray(value)) return value.map(boundStrings);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, boundStrings(v)]));
  return value;
}
