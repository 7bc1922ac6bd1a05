import type { Colors } from "../output.ts";
import type { ForkView, RunView } from "../types.ts";
import { isTerminalFork } from "../types.ts";
import { agentStats, colorStatus, commandIndex, formatDuration, taskCommands } from "./format.ts";

/** One line of a fork's log, as printed (`text`) and as emitted by `logs --json` (NDJSON). */
export interface LogEntry {
  fork: number;
  kind: "status" | "step" | "command" | "stdout" | "stderr" | "exit" | "check" | "diff" | "agent" | "summary" | "error";
  text: string;
}

interface ForkSeen {
  status: string;
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
        seen = { status: "queued", steps: new Map(), commandStarted: new Set(), commandDone: new Set(), check: false, diff: false, agent: false, error: false };
        this.#forks.set(fork.n, seen);
      }
      out.push(...forkEntries(fork, seen, commands));
    }
    return out;
  }
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
    for (const line of lines(result.stdoutTail)) out.push({ fork: n, kind: "stdout", text: line });
    for (const line of lines(result.stderrTail)) out.push({ fork: n, kind: "stderr", text: line });
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
