import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { colorStatus, formatCheck, formatDiff, formatUsd } from "../render/format.ts";
import { renderTable } from "../render/table.ts";

/** `compare <run>`: the forks side by side, best first (GET /v1/runs/:id/compare), and the winner. */
export async function compareCommand(ctx: Context, id: string): Promise<number> {
  const view = await ctx.client.compare(id);
  const { out } = ctx;
  if (out.json) {
    out.data(view);
    return EXIT.ok;
  }
  const c = out.c;
  const forks = [...view.forks].sort((a, b) => (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER) || a.n - b.n);
  const rows = forks.map((f) => [
    f.rank === null ? "-" : String(f.rank),
    `${f.n}${f.n === view.winner ? " ⭐" : ""}`,
    colorStatus(f.status, c),
    formatCheck(f, c),
    f.score === undefined ? "-" : `${f.score}/10`,
    formatDiff(f),
    formatUsd(f.costUsd.total),
    f.branch,
  ]);
  const columns = ["RANK", "FORK", "STATUS", "CHECK", "SCORE", "DIFF", "COST", "BRANCH"].map((header) => ({ header }));
  for (const line of renderTable(columns, rows, c)) out.line(line);
  if (view.winner !== null) out.line(`winner: fork ${view.winner} · forkyard diff ${view.runId} --fork ${view.winner}`);
  else out.line(c.dim(view.ranking.length === 0 && view.status !== "running" ? "no fork succeeded" : "no winner yet"));
  return EXIT.ok;
}
