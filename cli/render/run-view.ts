import type { Colors } from "../output.ts";
import type { ForkView, RunSummary, RunView } from "../types.ts";
import { isSettledRun } from "../types.ts";
import {
  agentStats,
  colorStatus,
  currentStep,
  forkElapsedMs,
  formatCheck,
  formatDiff,
  formatDuration,
  formatError,
  formatUsd,
  isAgentRun,
  runElapsedMs,
  stepLabel,
  taskCommands,
} from "./format.ts";
import { renderTable } from "./table.ts";
import { ellipsis, safeText } from "./text.ts";

/** `run r_x · running · 1 succeeded · 1 running · 0 queued · $0.0001 · 3.2s` */
export function runHeadline(view: RunView, c: Colors, now: number): string {
  const t = view.totals;
  const overBudget = view.forks.filter((f) => f.status === "budget_exceeded").length;
  const parts = [
    `${c.bold("run")} ${view.id}`,
    colorStatus(view.status, c),
    `${t.succeeded}/${view.forks.length} succeeded`,
    ...(t.failed ? [c.red(`${t.failed} failed`)] : []),
    ...(t.cancelled ? [c.yellow(`${t.cancelled} cancelled`)] : []),
    ...(overBudget ? [c.red(`${overBudget} over budget`)] : []),
    ...(t.running ? [`${t.running} running`] : []),
    ...(t.queued ? [`${t.queued} queued`] : []),
    formatUsd(t.costUsd.total),
    formatDuration(runElapsedMs(view, isSettledRun(view), now)),
  ];
  return parts.join(c.dim(" · "));
}

/** The full per-fork table of `forkyard status`. */
export function forkTable(view: RunView, c: Colors, now: number, maxWidth?: number): string[] {
  const commands = taskCommands(view);
  return renderTable(
    [
      { header: "FORK", align: "right" },
      { header: "STATUS" },
      { header: "STEP" },
      { header: "ATTEMPTS", align: "right" },
      { header: "ELAPSED", align: "right" },
      { header: "DIFF" },
      { header: "CHECK" },
      { header: "COST", align: "right" },
      { header: "ERROR" },
    ],
    view.forks.map((f) => [
      String(f.n),
      colorStatus(f.status, c),
      stepLabel(currentStep(f), commands),
      String(f.attempts),
      formatDuration(forkElapsedMs(f, now)),
      formatDiff(f),
      formatCheck(f, c),
      formatUsd(f.costUsd.total),
      f.error ? c.red(formatError(f)) : "",
    ]),
    c,
    maxWidth,
  );
}

/** The compact table the live view redraws: status, step, elapsed, cost. */
export function liveForkTable(view: RunView, c: Colors, now: number, maxWidth?: number): string[] {
  const commands = taskCommands(view);
  return renderTable(
    [{ header: "FORK", align: "right" }, { header: "STATUS" }, { header: "STEP" }, { header: "ELAPSED", align: "right" }, { header: "COST", align: "right" }],
    view.forks.map((f) => [String(f.n), colorStatus(f.status, c), stepLabel(currentStep(f), commands, 40), formatDuration(forkElapsedMs(f, now)), formatUsd(f.costUsd.total)]),
    c,
    maxWidth,
  );
}

/** Lines under the table once a run has ended: the headline and each unsuccessful fork's error. */
export function runSummary(view: RunView, c: Colors, now: number): string[] {
  const lines = [runHeadline(view, c, now)];
  const budget = view.request.budgetUsd;
  if (view.status === "budget_exceeded") {
    lines.push(c.red(`  over budget: spent ${formatUsd(view.totals.costUsd.total)}${budget !== undefined ? ` of ${formatUsd(budget)}` : ""}; raising the budget resumes the run`));
  }
  for (const f of view.forks) {
    if (f.status === "succeeded") continue;
    const why = f.error ? `${f.error.code}: ${f.error.message}` : f.status;
    lines.push(`  fork ${f.n} ${colorStatus(f.status, c)}: ${ellipsis(why.replace(/\s+/g, " "), 200)}`);
  }
  const agents = agentDetails(view, c, { compact: true });
  if (agents.length) lines.push(c.bold("agents:"), ...agents);
  lines.push(verdictLine(view, c));
  return lines;
}

/** The last line of an ended run: the fork to take, and how many of the forks' checks passed. */
export function verdictLine(view: Pick<RunView, "forks" | "winner">, c: Colors): string {
  const checked = view.forks.filter((f) => f.check);
  const passed = checked.filter((f) => f.check!.passed).length;
  const checks = checked.length ? ` · ${passed} of ${checked.length} checks passed` : " · no check";
  return view.winner != null ? c.bold(`winner: fork ${view.winner}${checks}`) : c.yellow(`no winner${checks}`);
}

/** The model an agent run asked for (resolved by the API), if any. */
export function requestedModel(view: RunView): string | undefined {
  return "prompt" in view.request.task ? view.request.task.model : undefined;
}

/** A merge fork's sources and, once computed, how many hunks of each survived in its patch. */
export function mergeLine(f: ForkView): string | undefined {
  if (!f.merge) return undefined;
  const kept = f.merge.provenance?.forks.map((p) => `fork ${p.n} ${p.survived}/${p.total} hunks (${Math.round(p.share * 100)} %)`);
  return `merges forks ${f.merge.forks.join(", ")}${kept ? ` · survived: ${kept.join(", ")}` : ""}`;
}

/**
 * What each agent fork did: model, turns, tool calls, tokens, model cost, and the agent's summary
 * (in full, indented, for `status`; cut to one line with `compact`, for the end of a watch).
 */
export function agentDetails(view: RunView, c: Colors, opts: { compact?: boolean } = {}): string[] {
  if (!isAgentRun(view)) return [];
  const model = requestedModel(view);
  const lines: string[] = [];
  for (const f of view.forks) {
    const stats = agentStats(f, model);
    if (!stats) continue;
    const label = `fork ${f.n}`;
    lines.push(`  ${c.bold(label)}  ${stats}`);
    const merge = mergeLine(f);
    if (merge) lines.push(`${" ".repeat(label.length + 4)}${merge}`);
    const summary = f.agent?.summary.trim();
    if (!summary) continue;
    const indent = " ".repeat(label.length + 4);
    if (opts.compact) lines.push(`${indent}${c.dim(ellipsis(summary.replace(/\s+/g, " "), 160))}`);
    else for (const line of summary.replace(/\r\n?/g, "\n").split("\n")) lines.push(line ? `${indent}${line}` : "");
  }
  return lines;
}

export function runListTable(runs: readonly RunSummary[], c: Colors): string[] {
  return renderTable(
    [
      { header: "ID" },
      { header: "STATUS" },
      { header: "TITLE" },
      { header: "REPO" },
      { header: "BRANCH" },
      { header: "FORKS", align: "right" },
      { header: "OK", align: "right" },
      { header: "FAILED", align: "right" },
      { header: "COST", align: "right" },
      { header: "CREATED" },
    ],
    runs.map((r) => [
      r.id,
      colorStatus(r.status, c),
      // A title holds what the task said: shown without its control characters.
      ellipsis(safeText(r.title || r.task || "—").replace(/\s+/g, " "), 40),
      ellipsis(r.repo, 40),
      r.branch,
      String(r.forks),
      String(r.succeeded),
      r.failed ? c.red(String(r.failed)) : "0",
      formatUsd(r.costUsd),
      r.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z"),
    ]),
    c,
  );
}
