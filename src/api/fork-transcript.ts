/**
 * zod schemas of an agent fork's transcript (GET /v1/runs/:id/forks/:n/transcript): what the
 * fork's agent was asked, what the model answered and every tool call with its output, in the
 * order its steps ended. Everything in it was written by the fork (the model and the sandbox):
 * clients show it as text.
 */
import { z } from "zod";

const isoDateTime = z.string().describe("ISO 8601 date-time (UTC)");

const entryBase = {
  seq: z.number().int().describe("position in the fork's transcript (1, 2, …); `after` of the next page"),
  turn: z.number().int().describe("the model call the entry belongs to (1, 2, …; a branched fork continues its parent's count)"),
  step: z.string().nullable().describe("the fork's step that recorded it (model-k, tool-k-i; claude-code for that runtime); null for the prompt"),
  at: isoDateTime,
};

export const forkTranscriptEntry = z.discriminatedUnion("role", [
  z.object({ ...entryBase, role: z.literal("user"), text: z.string().describe("the task as the agent was given it") }),
  z.object({
    ...entryBase,
    role: z.literal("assistant"),
    text: z.string().describe("the model's text (bounded)"),
    stopReason: z.string(),
    toolCalls: z.array(z.object({ id: z.string(), name: z.string(), input: z.unknown() })),
  }),
  z.object({
    ...entryBase,
    role: z.literal("tool"),
    toolUseId: z.string(),
    name: z.string().describe("bash or str_replace_based_edit_tool"),
    input: z.unknown().describe("the command, or the edit (command, path, old_str/new_str, file_text, …), long strings bounded"),
    content: z.string().describe("the output as the agent saw it (at most 16 KiB)"),
    isError: z.boolean(),
  }),
]);

export const forkTranscriptPage = z.object({
  entries: z.array(forkTranscriptEntry),
  next: z.number().int().nullable().describe("`after` for the next page; null at the end (a running fork adds entries later)"),
});

export type ForkTranscriptEntry = z.infer<typeof forkTranscriptEntry>;
export type ForkTranscriptPage = z.infer<typeof forkTranscriptPage>;
