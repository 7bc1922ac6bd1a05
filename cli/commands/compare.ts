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

const JUDGE_POLL_MS = 500;

/** `judge <run>`: a model scores each fork that succeeded (POST …/judge); waits for it, then prints the comparison. */
export async function judgeCommand(ctx: Context, id: string, opts: { model?: string; rubric?: string; tournament?: boolean }): Promise<number> {
  let view = await ctx.client.judge(id, { ...(opts.model ? { model: opts.model } : {}), ...(opts.rubric ? { rubric: opts.rubric } : {}) }, opts.tournament ? "tournament" : undefined);
  while (view.judging?.status === "running") {
    await new Promise((r) => setTimeout(r, JUDGE_POLL_MS));
    view = await ctx.client.getRun(id);
  }
  if (view.judging?.status === "failed") {
    ctx.out.error(`judging failed: ${view.judging.error?.code}: ${view.judging.error?.message}`);
    return EXIT.failed;
  }
  if (!ctx.out.json) for (const s of view.judging?.scores ?? []) ctx.out.line(`fork ${s.n}: ${s.score ?? "-"}/10 — ${s.reason}`);
  const tournament = view.judging?.tournament;
  if (!ctx.out.json && tournament) {
    ctx.out.line(`tournament (${tournament.format.replace("_", " ")}, ${tournament.calls} calls):`);
    for (const s of tournament.standings) ctx.out.line(`fork ${s.n}: seed ${s.seed}, ${s.wins} won, ${s.ties} tied, ${s.losses} lost`);
    const selected = view.judging?.selected;
    if (selected) ctx.out.line(`ranked by the ${selected.rankedBy}: fork ${selected.tournament ?? "-"} (the scores alone: fork ${selected.pointwise ?? "-"})`);
  }
  return compareCommand(ctx, id);
}
