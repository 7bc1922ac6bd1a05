/**
 * Anthropic's own bash and text-editor tools, executed in the fork's sandbox through the e2b SDK
 * (the model and its key stay in the Workflow). A tool's own failure (bad input, missing file,
 * ambiguous edit, failing command) is a result the model sees and can act on; a failure of the
 * sandbox itself (gone, unreachable) throws, so the Workflow step retries or fails.
 * Everything sent back to the model is bounded (head and tail kept, the middle marked).
 */
import { posix } from "node:path";
import { FileNotFoundError, FileType, InvalidArgumentError, NotEnoughSpaceError, SandboxError, SandboxNotFoundError, type EntryInfo } from "e2b";
import type { ToolBash20250124, ToolTextEditor20250728 } from "@anthropic-ai/sdk/resources/messages";
import { REPO_DIR } from "../sandbox/git";
import type { EnvdClient } from "../sandbox/envd-client";
import { boundOutput, MAX_TOOL_OUTPUT_CHARS } from "./bound";
import type { JsonValue } from "./conversation";

export { boundOutput, MAX_TOOL_OUTPUT_CHARS };

export const BASH_TOOL = { type: "bash_20250124", name: "bash" } as const satisfies ToolBash20250124;
export const TEXT_EDITOR_TOOL = { type: "text_editor_20250728", name: "str_replace_based_edit_tool" } as const satisfies ToolTextEditor20250728;

/** The longest a single bash command may run (less when the fork's deadline is nearer). */
export const MAX_COMMAND_MS = 10 * 60_000;
/** How far beyond the in-sandbox `timeout` the envd call itself may run before it counts as a sandbox failure. */
const COMMAND_GRACE_MS = 30_000;
/** What the shell side keeps of a command's output (bytes >= characters), leaving room for the status line. */
const SHELL_OUTPUT_BYTES = MAX_TOOL_OUTPUT_CHARS - 512;
const SNIPPET_LINES = 4;

export interface ToolCall {
  name: string;
  input: JsonValue;
}

export interface ToolOutput {
  content: string;
  isError: boolean;
}

/** A problem with the call itself, reported to the model. */
class ToolInputError extends Error {}

export interface ToolOptions {
  /** Milliseconds left before the fork's deadline: bounds a bash command (with MAX_COMMAND_MS). */
  remainingMs: number;
  /** Extra environment for bash commands (e.g. FORKYARD_RUN_ID); passed as variables, never interpolated. */
  envs?: Record<string, string>;
  /** The stall watchdog for bash commands (see ExecOptions.stallMs). */
  stallMs?: number;
  /** Sees a bash command's output while it runs (live output); its result is unchanged. */
  onOutput?: (stream: "stdout" | "stderr", chunk: string) => void;
  /** Stops a running bash command (see ExecOptions.signal): its result says why. */
  signal?: AbortSignal;
}

/** Runs one tool call of the model in the sandbox. */
export async function executeTool(session: EnvdClient, call: ToolCall, opts: ToolOptions): Promise<ToolOutput> {
  try {
    const input = asObject(call.input);
    let content: string;
    if (call.name === BASH_TOOL.name) content = await bash(session, input, opts);
    else if (call.name === TEXT_EDITOR_TOOL.name) content = await textEditor(session, input);
    else throw new ToolInputError(`Unknown tool "${call.name}". Available tools: ${BASH_TOOL.name}, ${TEXT_EDITOR_TOOL.name}.`);
    return { content: boundOutput(content), isError: false };
  } catch (err) {
    const message = toolErrorMessage(err);
    if (message === undefined) throw await session.failure(err, "agent tool");
    return { content: boundOutput(message), isError: true };
  }
}

/** The message for an error the model should see, or undefined when the sandbox itself failed. */
function toolErrorMessage(err: unknown): string | undefined {
  if (err instanceof ToolInputError) return err.message;
  if (err instanceof FileNotFoundError) return `No such file or directory: ${err.message}`;
  if (err instanceof InvalidArgumentError || err instanceof NotEnoughSpaceError) return err.message;
  if (err instanceof SandboxError && !(err instanceof SandboxNotFoundError) && /permission[ _]denied|^403:/i.test(err.message)) return `Permission denied: ${err.message}`;
  return undefined;
}

function asObject(input: JsonValue): { [key: string]: JsonValue } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new ToolInputError("The tool input must be a JSON object.");
  return input;
}

function stringField(input: { [key: string]: JsonValue }, field: string, required: true): string;
function stringField(input: { [key: string]: JsonValue }, field: string, required: false): string | undefined;
function stringField(input: { [key: string]: JsonValue }, field: string, required: boolean): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) {
    if (required) throw new ToolInputError(`Parameter \`${field}\` is required.`);
    return undefined;
  }
  if (typeof value !== "string") throw new ToolInputError(`Parameter \`${field}\` must be a string.`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// bash

/**
 * Each command runs in a fresh shell in REPO_DIR, stdin closed, stderr merged into stdout, under
 * coreutils `timeout`. Output goes to a file first, so a background process that keeps the pipe
 * open cannot hold the call, and only its head and tail cross the wire. With FORKYARD_LIVE set
 * (live output), `tail -f` copies the file to stderr while the command runs, and stops with it.
 */
const BASH_SCRIPT = [
  'cmd="$FORKYARD_COMMAND" limit="$FORKYARD_LIMIT" half="$FORKYARD_HALF" seconds="$FORKYARD_TIMEOUT" live="$FORKYARD_LIVE"',
  "unset FORKYARD_COMMAND FORKYARD_LIMIT FORKYARD_HALF FORKYARD_TIMEOUT FORKYARD_LIVE",
  'out="$(mktemp)"',
  'if [ -n "$live" ]; then',
  '  timeout -k 5 "$seconds" /bin/bash -c "$cmd" </dev/null >"$out" 2>&1 &',
  "  pid=$!",
  '  tail -c +1 -s 0.1 --pid="$pid" -f "$out" >&2 </dev/null &',
  '  wait "$pid"; code=$?',
  "  wait",
  "else",
  '  timeout -k 5 "$seconds" /bin/bash -c "$cmd" </dev/null >"$out" 2>&1',
  "  code=$?",
  "fi",
  'size=$(wc -c <"$out")',
  'if [ "$size" -le "$limit" ]; then cat "$out"; else',
  '  head -c "$half" "$out"',
  '  printf "\\n\\n[... %s bytes truncated ...]\\n\\n" "$((size - 2 * half))"',
  '  tail -c "$half" "$out"',
  "fi",
  'rm -f "$out"',
  'exit "$code"',
].join("\n");

async function bash(session: EnvdClient, input: { [key: string]: JsonValue }, opts: ToolOptions): Promise<string> {
  if (input.restart === true) return "The bash tool was restarted (every command already runs in a fresh shell).";
  const command = stringField(input, "command", true);
  if (command.trim() === "") throw new ToolInputError("Parameter `command` must not be empty.");
  const timeoutSeconds = Math.max(1, Math.floor(Math.min(opts.remainingMs, MAX_COMMAND_MS) / 1000));
  const result = await session.exec(BASH_SCRIPT, {
    cwd: REPO_DIR,
    timeoutMs: timeoutSeconds * 1000 + COMMAND_GRACE_MS,
    tailChars: MAX_TOOL_OUTPUT_CHARS * 2,
    stallMs: opts.stallMs,
    signal: opts.signal,
    envs: {
      ...opts.envs,
      FORKYARD_COMMAND: command,
      FORKYARD_TIMEOUT: String(timeoutSeconds),
      FORKYARD_LIMIT: String(SHELL_OUTPUT_BYTES),
      FORKYARD_HALF: String(SHELL_OUTPUT_BYTES / 2 - 64),
      ...(opts.onOutput ? { FORKYARD_LIVE: "1" } : {}),
    },
    // The live copy arrives on stderr (the script's own result is on stdout).
    ...(opts.onOutput ? { onOutput: (stream: "stdout" | "stderr", chunk: string) => stream === "stderr" && opts.onOutput?.("stdout", chunk) } : {}),
  });
  // With live output, stderr holds the live copy only.
  const output = result.stdoutTail + (result.stderrTail && !opts.onOutput ? `\n${result.stderrTail}` : "");
  const separator = output === "" || output.endsWith("\n") ? "" : "\n";
  // 124: `timeout` fired; 137: it had to KILL after the grace period.
  const timedOut = result.exitCode === 124 || result.exitCode === 137;
  const stoppedBy = result.stopped ? opts.signal?.reason : undefined;
  const status = stoppedBy instanceof Error
    ? `[stopped: ${stoppedBy.message}]`
    : timedOut ? `[command timed out after ${timeoutSeconds} s (exit code ${result.exitCode})]` : `[exit code: ${result.exitCode}]`;
  return `${output}${separator}${status}`;
}

// ---------------------------------------------------------------------------------------------
// str_replace_based_edit_tool (view, create, str_replace, insert)

/** Sandbox path for what the model wrote: relative paths are relative to the repository. */
function sandboxPath(input: { [key: string]: JsonValue }): string {
  const raw = stringField(input, "path", true).trim();
  if (raw === "" || raw.includes("\0")) throw new ToolInputError("Parameter `path` must be a non-empty path.");
  return posix.normalize(raw.startsWith("/") ? raw : posix.join(REPO_DIR, raw));
}

async function textEditor(session: EnvdClient, input: { [key: string]: JsonValue }): Promise<string> {
  const command = stringField(input, "command", true);
  const path = sandboxPath(input);
  const files = session.sandbox.files;
  switch (command) {
    case "view": {
      const info = await files.getInfo(path);
      if (info.type === FileType.DIR) return listDirectory(path, await files.list(path, { depth: 2 }));
      return viewFile(path, await files.read(path), input.view_range);
    }
    case "create": {
      const text = stringField(input, "file_text", true);
      const existed = await files.exists(path);
      await files.write(path, text);
      return existed ? `File overwritten: ${path}` : `File created successfully at: ${path}`;
    }
    case "str_replace": {
      const oldStr = stringField(input, "old_str", true);
      const newStr = stringField(input, "new_str", false) ?? "";
      if (oldStr === "") throw new ToolInputError("Parameter `old_str` must not be empty.");
      const text = await files.read(path);
      const at = uniqueOccurrence(text, oldStr, path);
      const edited = text.slice(0, at) + newStr + text.slice(at + oldStr.length);
      await files.write(path, edited);
      const line = lineOf(text, at);
      return `The file ${path} has been edited. ${snippet(edited, line, line + newStr.split("\n").length - 1)}Review the changes and make sure they are as expected.`;
    }
    case "insert": {
      // The text to insert arrives as `insert_text` (or `new_str` in some tool versions): accept both.
      const text = stringField(input, "insert_text", false) ?? stringField(input, "new_str", false);
      if (text === undefined) throw new ToolInputError("Parameter `insert_text` is required for the insert command.");
      const insertLine = input.insert_line;
      const current = await files.read(path);
      const lines = splitLines(current);
      if (typeof insertLine !== "number" || !Number.isInteger(insertLine) || insertLine < 0 || insertLine > lines.length) {
        throw new ToolInputError(`Invalid \`insert_line\`: ${JSON.stringify(insertLine ?? null)}. It must be an integer from 0 (start of file) to ${lines.length} (after the last line).`);
      }
      const inserted = splitLines(text.endsWith("\n") ? text : `${text}\n`);
      const next = [...lines.slice(0, insertLine), ...inserted, ...lines.slice(insertLine)];
      const edited = next.join("\n") + (current === "" || current.endsWith("\n") || insertLine === lines.length ? "\n" : "");
      await files.write(path, edited);
      return `The file ${path} has been edited. ${snippet(edited, insertLine + 1, insertLine + inserted.length)}Review the changes and make sure they are as expected.`;
    }
    default:
      throw new ToolInputError(`Unknown command "${command}". The ${TEXT_EDITOR_TOOL.name} tool supports: view, create, str_replace, insert.`);
  }
}

/** Lines of a text, without the empty string after a final newline. */
function splitLines(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

function numbered(lines: readonly string[], firstLine: number): string {
  return lines.map((line, i) => `${String(firstLine + i).padStart(6)}\t${line}`).join("\n");
}

function viewFile(path: string, text: string, range: JsonValue | undefined): string {
  const lines = splitLines(text);
  let start = 1;
  let end = lines.length;
  if (range !== undefined && range !== null) {
    const [from, to] = Array.isArray(range) ? range : [];
    if (!Array.isArray(range) || range.length !== 2 || typeof from !== "number" || typeof to !== "number" || !Number.isInteger(from) || !Number.isInteger(to)) {
      throw new ToolInputError("Invalid `view_range`: it must be two integers [start, end] (end -1 means to the end of the file).");
    }
    if (from < 1 || from > Math.max(lines.length, 1)) throw new ToolInputError(`Invalid \`view_range\`: start ${from} is outside the file's lines 1-${lines.length}.`);
    if (to !== -1 && (to < from || to > lines.length)) throw new ToolInputError(`Invalid \`view_range\`: end ${to} must be -1 or between ${from} and ${lines.length}.`);
    start = from;
    end = to === -1 ? lines.length : to;
  }
  const body = numbered(lines.slice(start - 1, end), start);
  return `Here's the result of running \`cat -n\` on ${path}:\n${body}\n`;
}

function listDirectory(path: string, entries: readonly EntryInfo[]): string {
  const visible = entries
    .filter((e) => !posix.relative(path, e.path).split("/").some((part) => part.startsWith(".")))
    .map((e) => (e.type === FileType.DIR ? `${e.path}/` : e.path))
    .sort();
  return `Files and directories up to 2 levels deep in ${path}, excluding hidden items:\n${[`${path}/`, ...visible].join("\n")}\n`;
}

/** The offset of the one occurrence of `needle`, or a tool error naming where the matches are. */
function uniqueOccurrence(text: string, needle: string, path: string): number {
  const first = text.indexOf(needle);
  if (first === -1) throw new ToolInputError(`No replacement was performed: old_str did not appear verbatim in ${path}.`);
  const lines: number[] = [];
  for (let at = first; at !== -1; at = text.indexOf(needle, at + needle.length)) lines.push(lineOf(text, at));
  if (lines.length > 1) {
    throw new ToolInputError(`No replacement was performed: old_str occurs ${lines.length} times in ${path} (lines ${lines.join(", ")}). Include more surrounding context so that it is unique.`);
  }
  return first;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function snippet(text: string, fromLine: number, toLine: number): string {
  const lines = splitLines(text);
  const start = Math.max(1, fromLine - SNIPPET_LINES);
  const end = Math.min(lines.length, Math.max(fromLine, toLine) + SNIPPET_LINES);
  return `Here's the result of running \`cat -n\` on a snippet of the file:\n${numbered(lines.slice(start - 1, end), start)}\n`;
}
