import type { Colors } from "../output.ts";
import type { ForkTranscriptEntry } from "../types.ts";
import { safeText } from "./text.ts";

type Input = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const split = (text: string): string[] => safeText(text).replace(/\n$/, "").split("\n");

/**
 * An agent fork's transcript entry as `logs --transcript` prints it: the prompt, the model's text,
 * each tool call as what it ran (`$ command`) or edited (`✎ create path`, with the edit as a diff)
 * followed by its output. All of it was written by the fork: control characters are shown, not obeyed.
 */
export function forkTranscriptLines(entry: ForkTranscriptEntry, c: Colors): string[] {
  if (entry.role === "user") return [c.cyan(`> ${split(entry.text).join("\n  ")}`)];
  if (entry.role === "assistant") {
    const head = c.dim(`── ${entry.step ?? `turn ${entry.turn}`} ${"─".repeat(40)}`);
    return [head, ...(entry.text.trim() ? split(entry.text) : [])];
  }
  const input = (entry.input ?? {}) as Input;
  const body = split(entry.content).map((l) => (entry.isError ? c.red(`  │ ${l}`) : c.dim(`  │ ${l}`)));
  if (/^bash$/i.test(entry.name)) {
    const command = str(input.command) ?? (input.restart === true ? "(restart)" : "");
    return [c.bold(`$ ${split(command).join("\n  ")}`), ...body];
  }
  const what = str(input.command) ?? entry.name;
  return [c.bold(`✎ ${safeText(`${what} ${str(input.path) ?? str(input.file_path) ?? ""}`.trim())}`), ...editDiff(input, c), ...body];
}

/**
 * An edit's change as diff lines: removed text red (-), added green (+). The text editor's
 * `create` / `str_replace` / `insert`, and Claude Code's `Write` (content) and `Edit` (old_string, new_string).
 */
export function editDiff(input: Input, c: Colors): string[] {
  const minus = (t: string | undefined) => (t === undefined ? [] : split(t).map((l) => c.red(`  - ${l}`)));
  const plus = (t: string | undefined) => (t === undefined ? [] : split(t).map((l) => c.green(`  + ${l}`)));
  if (input.command === "insert") return [c.dim(`  @ after line ${String(input.insert_line ?? "?")}`), ...plus(str(input.new_str) ?? str(input.insert_text))];
  if (input.command === "create" || input.content !== undefined) return plus(str(input.file_text) ?? str(input.content));
  return [...minus(str(input.old_str) ?? str(input.old_string)), ...plus(str(input.new_str) ?? str(input.new_string))];
}
