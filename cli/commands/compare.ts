import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { EXIT } from "../outcome.ts";
import { colorStatus, formatCheck, formatDiff, formatUsd } from "../render/format.ts";
import { renderTable } from "../render/table.ts";

/** `compare <run> [a b]`: the forks side by side, best first (GET /v1/runs/:id/compare), and the winner; with two forks, fork a's work against fork b's. */
export async function compareCommand(ctx: Context, id: string, a?: number, b?: number): Promise<number> {
  if (a !== undefined && b !== undefined) return diffForksCommand(ctx, id, a, b);
  if (a !== undefined) throw new UsageError("compare: give two forks (compare <run> <a> <b>), or none");
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
  for (const f of forks) if (f.noPatch && f.status !== "queued" && f.status !== "running") out.line(c.dim(`fork ${f.n}: no patch — ${f.noPatch}`));
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

/** `compare <run> <a> <b>`: fork a's version of each file against fork b's (GET …/compare/:a/:b), git-diff style without git's headers. */
async function diffForksCommand(ctx: Context, id: string, a: number, b: number): Promise<number> {
  const diff = await ctx.client.diffForks(id, a, b);
  const { out } = ctx;
  if (out.json) {
    out.data(diff);
    return EXIT.ok;
  }
  const c = out.c;
  if (diff.files.length === 0) out.line(c.dim(`neither fork ${a} nor fork ${b} changed a file`));
  for (const f of diff.files) {
    const what = (n: number, change: string | null) => `${n}: ${change ?? "as in the base"}`;
    const verdict = f.status === "same" ? "same in both" : f.status === "unavailable" ? `not diffed — ${f.reason ?? ""}` : f.missingIn ? `only in fork ${f.missingIn === "a" ? b : a}` : "differs";
    out.line(`${c.bold(f.path)} ${c.dim(`(${what(a, f.a)} · ${what(b, f.b)})`)} ${verdict}`);
    for (const hunk of f.hunks ?? []) {
      out.line(c.cyan(hunk.header));
      for (const line of hunk.lines) out.line(line.startsWith("+") ? c.green(line) : line.startsWith("-") ? c.red(line) : line);
    }
  }
  return EXIT.ok;
}
