import type { Colors } from "../output.ts";
import type { ForkView, LiveChunk, RunView } from "../types.ts";
import { isTerminalFork } from "../types.ts";
import { agentStats, colorStatus, commandIndex, formatDuration, taskCommands } from "./format.ts";

/** One line of a fork's log, as printed (`text`) and as emitted by `logs --json` (NDJSON). */
export interface LogEntry {
  fork: number;
  kind: "status" | "step" | "command" | "stdout" | "stderr" | "exit" | "check" | "diff" | "agent" | "summary" | "error";
  text: string;
}

/** What was printed of one stream of a running step: up to `end`, the last line held until it ends. */
interface LiveSeen {
  step: string;
  stream: "stdout" | "stderr";
  end: number;
  partial: string;
}

interface ForkSeen {
  status: string;
  /** Live output printed, by `step|stream`. */
  live: Map<string, LiveSeen>;
  steps: Map<string, string>;
  commandStarted: Set<number>;
  commandDone: Set<number>;
  check: boolean;
  diff: boolean;
  agent: boolean;
  error: boolean;
}

/**
 * Turns successive snapshots of a run into the log lines that are new in each: step transitions,
 * each command with its output and exit code, the check, the diff, an agent's stats and summary,
 * the error and status changes.
 * The first snapshot yields everything so far, so `logs` and `logs --follow` share one path.
 */
export class LogTracker {
  readonly #forks = new Map<number, ForkSeen>();
  readonly #only: number | undefined;

  constructor(onlyFork?: number) {
    this.#only = onlyFork;
  }

  next(view: RunView): LogEntry[] {
    const commands = taskCommands(view) ?? [];
    const out: LogEntry[] = [];
    for (const fork of view.forks) {
      if (this.#only !== undefined && fork.n !== this.#only) continue;
      let seen = this.#forks.get(fork.n);
      if (!seen) {
        seen = this.#seen(fork.n);
      }
      out.push(...forkEntries(fork, seen, commands));
    }
    this.#commands = commands;
    return out;
  }

  /**
   * The lines of a running step's live output (`logs --follow`): complete lines as they come (the
   * last one once it ends), a gap said as such, what was printed already skipped (offsets). A
   * command whose output was printed live does not print its stored tail again when it ends.
   */
  live(chunk: LiveChunk): LogEntry[] {
    if (this.#only !== undefined && chunk.fork !== this.#only) return [];
    const seen = this.#forks.get(chunk.fork) ?? this.#seen(chunk.fork);
    const out: LogEntry[] = [];
    const ci = commandIndex(chunk.step);
    if (ci !== null && !seen.commandStarted.has(ci)) {
      seen.commandStarted.add(ci);
      out.push({ fork: chunk.fork, kind: "command", text: `$ ${this.#commands[ci] ?? chunk.step}` });
    }
    if (ci !== null && seen.commandDone.has(ci)) return out;
    const key = `${chunk.step}|${chunk.stream}`;
    // What was printed is not printed again (a repeated tail; also a re-run attempt's output up to where the last one got).
    let state = seen.live.get(key);
    if (!state) {
      state = { step: chunk.step, stream: chunk.stream, end: 0, partial: "" };
      seen.live.set(key, state);
    }
    let data = chunk.data;
    if (chunk.offset > state.end) {
      out.push(...partialLine(state, chunk.fork), { fork: chunk.fork, kind: chunk.stream, text: `[… ${chunk.offset - state.end} characters not shown]` });
    } else {
      data = data.slice(state.end - chunk.offset);
    }
    state.end = Math.max(state.end, chunk.offset + chunk.data.length);
    const parts = (state.partial + data).replace(/\r\n/g, "\n").split("\n");
    state.partial = parts.pop() ?? "";
    for (const text of parts) out.push({ fork: chunk.fork, kind: chunk.stream, text });
    return out;
  }

  #commands: readonly string[] = [];

  #seen(n: number): ForkSeen {
    const seen: ForkSeen = { status: "queued", live: new Map(), steps: new Map(), commandStarted: new Set(), commandDone: new Set(), check: false, diff: false, agent: false, error: false };
    this.#forks.set(n, seen);
    return seen;
  }
}

/** The held last line of a live stream, printed (it ended, or a gap follows). */
function partialLine(state: LiveSeen, fork: number): LogEntry[] {
  if (state.partial === "") return [];
  const text = state.partial;
  state.partial = "";
  return [{ fork, kind: state.stream, text }];
}

/** Ends the live output of the steps `which` picks: their held last lines. Null when none was printed live. */
function flushLive(seen: ForkSeen, fork: number, which: (step: string) => boolean): LogEntry[] | null {
  let printed = false;
  const out: LogEntry[] = [];
  for (const [key, state] of seen.live) {
    if (!which(state.step)) continue;
    printed = true;
    out.push(...partialLine(state, fork));
    seen.live.delete(key);
  }
  return printed ? out : null;
}

function forkEntries(fork: ForkView, seen: ForkSeen, commands: readonly string[]): LogEntry[] {
  const n = fork.n;
  const out: LogEntry[] = [];
  const terminal = isTerminalFork(fork);
  const statusChanged = fork.status !== seen.status;
  seen.status = fork.status;
  if (statusChanged && !terminal) out.push({ fork: n, kind: "status", text: fork.status });

  const commandStart = (i: number, fallback: string) => {
    if (seen.commandStarted.has(i)) return;
    seen.commandStarted.add(i);
    out.push({ fork: n, kind: "command", text: `$ ${commands[i] ?? fork.commands[i]?.command ?? fallback}` });
  };
  const commandResult = (i: number) => {
    const result = fork.commands[i];
    if (!result || seen.commandDone.has(i)) return;
    seen.commandDone.add(i);
    commandStart(i, result.command);
    const streamed = flushLive(seen, n, (step) => commandIndex(step) === i);
    if (streamed) out.push(...streamed);
    for (const line of streamed ? [] : lines(result.stdoutTail)) out.push({ fork: n, kind: "stdout", text: line });
    for (const line of streamed ? [] : lines(result.stderrTail)) out.push({ fork: n, kind: "stderr", text: line });
    out.push({ fork: n, kind: "exit", text: `exit ${result.exitCode} (${formatDuration(result.durationMs)})` });
  };

  for (const step of fork.steps) {
    const key = `${step.status}|${step.attempts}`;
    const before = seen.steps.get(step.name);
    const ci = commandIndex(step.name);
    if (before === key) {
      if (ci !== null) commandResult(ci); // the result may land after the step's status
      continue;
    }
    seen.steps.set(step.name, key);
    if (step.status !== "running") out.push(...(flushLive(seen, n, (s) => s === step.name && ci === null) ?? []));
    if (ci !== null) {
      // A command shows as `$ cmd` when it starts, then its output and exit code once it ends.
      commandStart(ci, step.name);
      commandResult(ci);
      if (step.status === "failed" && !fork.commands[ci]) out.push({ fork: n, kind: "step", text: `✗ ${step.name} failed after ${plural(step.attempts, "attempt")}` });
      continue;
    }
    const tries = step.attempts > 1 ? `, ${plural(step.attempts, "attempt")}` : "";
    if (step.status === "running") {
      if (before === undefined) out.push({ fork: n, kind: "step", text: `▸ ${step.name}${step.attempts > 1 ? ` (attempt ${step.attempts})` : ""}` });
      else out.push({ fork: n, kind: "step", text: `↻ ${step.name} (attempt ${step.attempts})` });
    } else {
      const mark = step.status === "succeeded" ? "✓" : "✗";
      out.push({ fork: n, kind: "step", text: `${mark} ${step.name}${step.status === "failed" ? " failed" : ""} (${formatDuration(step.durationMs)}${tries})` });
    }
  }
  // Results without a step row (an outcome reported without step callbacks).
  for (let i = 0; i < fork.commands.length; i++) commandResult(i);

  if (fork.check && !seen.check) {
    seen.check = true;
    const { check } = fork;
    const took = check.durationMs !== undefined ? `, ${formatDuration(check.durationMs)}` : "";
    const where = check.verified ? " in a fresh sandbox" : "";
    out.push({ fork: n, kind: "check", text: `check ${check.passed ? "passed" : "failed"}${where} (exit ${check.exitCode}${took}): ${check.command}` });
    for (const line of lines(check.stdoutTail ?? "")) out.push({ fork: n, kind: "stdout", text: line });
    for (const line of lines(check.stderrTail ?? "")) out.push({ fork: n, kind: "stderr", text: line });
  }
  if (fork.diff && !seen.diff) {
    seen.diff = true;
    out.push({ fork: n, kind: "diff", text: `diff: ${plural(fork.diff.files, "file")} +${fork.diff.insertions} -${fork.diff.deletions}` });
  }
  if (fork.agent && !seen.agent) {
    // What the agent did, then its closing words (the agent's own summary), once it has ended.
    seen.agent = true;
    out.push({ fork: n, kind: "agent", text: `agent: ${agentStats(fork)}` });
    for (const line of lines(fork.agent.summary.trim())) out.push({ fork: n, kind: "summary", text: line });
  }
  if (fork.error && !seen.error) {
    seen.error = true;
    out.push({ fork: n, kind: "error", text: `error: ${fork.error.code}: ${fork.error.message}` });
  }
  if (statusChanged && terminal) out.push({ fork: n, kind: "status", text: fork.status });
  return out;
}

function lines(text: string): string[] {
  if (!text) return [];
  return text.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Colors one entry's text for a terminal. */
export function colorEntry(entry: LogEntry, c: Colors): string {
  switch (entry.kind) {
    case "command":
      return c.bold(entry.text);
    case "stderr":
      return c.red(entry.text);
    case "exit":
    case "step":
      return entry.text.startsWith("✗") || /^exit [1-9]/.test(entry.text) ? c.red(entry.text) : c.dim(entry.text);
    case "error":
      return c.red(entry.text);
    case "agent":
      return c.bold(entry.text);
    case "status":
      return colorStatus(entry.text as ForkView["status"], c);
    default:
      return entry.text;
  }
}
