import type { Colors } from "../output.ts";
import type { SessionSummary, SessionView, TranscriptEntry } from "../types.ts";
import { formatUsd } from "./format.ts";
import { renderTable } from "./table.ts";
import { ellipsis } from "./text.ts";

export function colorSessionStatus(status: string, c: Colors): string {
  if (status === "running" || status === "setting_up") return c.cyan(status);
  if (status === "failed") return c.red(status);
  if (status === "idle" || status === "paused") return c.green(status);
  return c.dim(status);
}

export function sessionListTable(sessions: readonly SessionSummary[], c: Colors): string[] {
  return renderTable(
    [{ header: "ID" }, { header: "STATUS" }, { header: "TITLE" }, { header: "REPO" }, { header: "TURNS", align: "right" }, { header: "COST", align: "right" }, { header: "UPDATED" }],
    sessions.map((s) => [s.id, colorSessionStatus(s.status, c), ellipsis(s.title, 40), ellipsis(s.repo, 40), String(s.turns), formatUsd(s.costUsd), s.updatedAt.replace("T", " ").replace(/\.\d+Z$/, "Z")]),
    c,
  );
}

/** A session: its state, sandbox, costs, then each turn (prompt and reply). */
export function sessionLines(view: SessionView, c: Colors): string[] {
  const lines = [
    `${c.bold(view.title)} ${c.dim(view.id)} · ${colorSessionStatus(view.status, c)}`,
    `${view.repo} ${view.branch} → ${view.workBranch} · model ${view.model} · sandbox ${view.sandbox.state ?? "-"} · cost ${formatUsd(view.costUsd.total)} (sandbox ${formatUsd(view.costUsd.sandbox)}, model ${formatUsd(view.costUsd.llm)})${view.budgetUsd !== null ? ` of ${formatUsd(view.budgetUsd)}` : ""}`,
  ];
  if (view.parent) lines.push(c.dim(`forked from ${view.parent.sessionId} at turn ${view.parent.turn}`));
  if (view.run) lines.push(c.dim(`continues run ${view.run.id} fork ${view.run.fork}`));
  if (view.error) lines.push(c.red(`${view.error.code}: ${view.error.message}`));
  for (const t of view.turns) {
    lines.push("", `${c.bold(`#${t.n}`)} ${colorSessionStatus(t.status, c)} ${c.dim(`${t.toolCalls} tool calls · ${formatUsd(t.costUsd)}`)}`, `${c.cyan(">")} ${ellipsis(t.prompt, 200)}`);
    if (t.summary) lines.push(t.summary);
    if (t.error) lines.push(c.red(`${t.error.code}: ${t.error.message}`));
  }
  if (view.queued) lines.push("", c.dim(`${view.queued} queued`));
  return lines;
}

/** A transcript entry as chat prints it: tool calls as compact lines, the agent's text in full. */
export function transcriptLines(entry: TranscriptEntry, c: Colors): string[] {
  if (entry.role === "user") return [];
  if (entry.role === "assistant") {
    const calls = entry.toolCalls.map((t) => c.dim(`  ⚙ ${t.name} ${ellipsis(toolLabel(t.input), 100)}`));
    return [...(entry.text ? [entry.text] : []), ...calls];
  }
  const first = entry.content.split("\n").find((l) => l.trim() !== "") ?? "";
  return [c.dim(`    ${entry.isError ? c.red("✗") : "→"} ${ellipsis(first, 100)}`)];
}

function toolLabel(input: unknown): string {
  const i = (input ?? {}) as Record<string, unknown>;
  if (typeof i.command === "string" && typeof i.path === "string") return `${i.command} ${i.path}`;
  if (typeof i.command === "string") return i.command;
  return JSON.stringify(input);
}
