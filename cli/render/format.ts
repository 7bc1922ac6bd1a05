import type { Colors } from "../output.ts";
import type { ForkStatus, ForkView, RunStatus, RunView, StepView, TokenCounts } from "../types.ts";
import { isTerminalFork } from "../types.ts";
import { ellipsis } from "./text.ts";

/** 850ms, 4.2s, 3m05s, 1h02m */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Sandbox costs are fractions of a cent: more decimals for small amounts. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return "-";
  if (usd === 0) return "$0";
  return `$${usd.toFixed(usd < 0.01 ? 5 : usd < 1 ? 4 : 2)}`;
}

/** How long a fork has run: start to finish, or to now while it runs. */
export function forkElapsedMs(fork: Pick<ForkView, "startedAt" | "finishedAt">, now: number): number | null {
  if (!fork.startedAt) return null;
  const end = fork.finishedAt ? Date.parse(fork.finishedAt) : now;
  return end - Date.parse(fork.startedAt);
}

/** Run wall time: creation to last update once ended, to now while going. */
export function runElapsedMs(view: Pick<RunView, "createdAt" | "updatedAt">, ended: boolean, now: number): number {
  return (ended ? Date.parse(view.updatedAt) : now) - Date.parse(view.createdAt);
}

/** Steps every fork ends with, whatever happened: not where a fork "was". */
const BOOKKEEPING_STEPS = ["release-sandbox", "report"];

/**
 * The step worth showing: the running one; for an ended fork the step where it stopped (none when
 * it succeeded); else the last one.
 */
export function currentStep(fork: ForkView): StepView | undefined {
  const running = fork.steps.findLast((s) => s.status === "running");
  if (running) return running;
  if (fork.status === "succeeded") return undefined;
  if (isTerminalFork(fork)) return fork.steps.find((s) => s.status === "failed") ?? fork.steps.findLast((s) => !BOOKKEEPING_STEPS.includes(s.name));
  return fork.steps[fork.steps.length - 1];
}

export function commandIndex(stepName: string): number | null {
  const m = /^command-(\d+)$/.exec(stepName);
  return m ? Number(m[1]) - 1 : null;
}

/** A step's name; a command step also shows its command. */
export function stepLabel(step: StepView | undefined, commands: readonly string[] | undefined, max = 32): string {
  if (!step) return "-";
  const i = commandIndex(step.name);
  const command = i !== null ? commands?.[i] : undefined;
  return ellipsis(command ? `${step.name}: ${command}` : step.name, max);
}

export function taskCommands(view: RunView): readonly string[] | undefined {
  return "commands" in view.request.task ? view.request.task.commands : undefined;
}

/** 950, 12.3k, 184k, 4.1M */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "-";
  if (n < 1000) return String(Math.round(n));
  if (n < 100_000) return `${(n / 1000).toFixed(1).replace(/\.0$/, "")}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, "")}M`;
}

/** `1.9k in / 150 out (cache 4.2k read, 2.2k written)` */
export function formatTokens(t: TokenCounts): string {
  const cache = t.cacheRead || t.cacheWrite ? ` (cache ${formatCount(t.cacheRead)} read, ${formatCount(t.cacheWrite)} written)` : "";
  return `${formatCount(t.input)} in / ${formatCount(t.output)} out${cache}`;
}

export const isAgentRun = (view: Pick<RunView, "request">): boolean => "prompt" in view.request.task;

/** Turns and tool calls of an agent fork: its result once it ended, else counted from its steps so far (a running call counts). */
export function agentProgress(fork: ForkView): { turns: number; toolCalls: number; final: boolean } | undefined {
  if (fork.agent) return { turns: fork.agent.turns, toolCalls: fork.agent.toolCalls, final: true };
  // A failed step is a call that did not happen (refused for budget, or given up on).
  const turns = fork.steps.filter((s) => /^model-\d+$/.test(s.name) && s.status !== "failed").length;
  const toolCalls = fork.steps.filter((s) => /^tool-\d+-\d+$/.test(s.name) && s.status !== "failed").length;
  return turns > 0 ? { turns, toolCalls, final: false } : undefined;
}

/**
 * What an agent fork did, on one plain line: `claude-sonnet-4-5 · 3 turns · 2 tool calls ·
 * tokens 1.9k in / 150 out · model $0.0123` (`· stopped: max_turns` when it did not end on its
 * own); while it runs, the turns and tool calls so far. Undefined for a fork with no agent yet.
 */
export function agentStats(fork: ForkView, model?: string): string | undefined {
  const progress = agentProgress(fork);
  if (!progress) return undefined;
  const a = fork.agent;
  const parts = [
    ...(a?.model || model ? [a?.model || model!] : []),
    plural(progress.turns, "turn"),
    plural(progress.toolCalls, "tool call") + (progress.final ? "" : " so far"),
    ...(a ? [`tokens ${formatTokens(a.tokens)}`] : []),
    ...(fork.costUsd.llm > 0 ? [`model ${formatUsd(fork.costUsd.llm)}`] : []),
    ...(a && a.stopReason !== "end_turn" ? [`stopped: ${a.stopReason}`] : []),
  ];
  return parts.join(" · ");
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function formatDiff(fork: Pick<ForkView, "diff">): string {
  if (!fork.diff) return "-";
  const { files, insertions, deletions } = fork.diff;
  return files === 0 ? "none" : `${files} file${files === 1 ? "" : "s"} +${insertions} -${deletions}`;
}

export function formatCheck(fork: Pick<ForkView, "check">, c: Colors): string {
  if (!fork.check) return "-";
  return fork.check.passed ? c.green("pass") : c.red(`fail (${fork.check.exitCode})`);
}

export function formatError(fork: ForkView, max = 60): string {
  return fork.error ? ellipsis(`${fork.error.code}: ${fork.error.message}`.replace(/\s+/g, " "), max) : "";
}

export function colorStatus(status: ForkStatus | RunStatus, c: Colors): string {
  switch (status) {
    case "succeeded":
    case "completed":
      return c.green(status);
    case "failed":
    case "timed_out":
    case "budget_exceeded":
      return c.red(status);
    case "cancelled":
    case "paused":
      return c.yellow(status);
    case "running":
      return c.cyan(status);
    default:
      return c.dim(status);
  }
}
