import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { colorStatus, formatUsd } from "../render/format.ts";
import { runHeadline } from "../render/run-view.ts";

/**
 * `budget <run> <usd>`: sets a higher budget for the whole run (POST /v1/runs/:id/budget). A run
 * stopped at `budget_exceeded` goes on: forks waiting for budget continue where they stopped.
 * The API judges the amount (more than the current budget, at most 100000).
 */
export async function budgetCommand(ctx: Context, id: string, usd: number): Promise<number> {
  const view = await ctx.client.raiseBudget(id, usd);
  const { out } = ctx;
  if (out.json) {
    out.data(view);
    return EXIT.ok;
  }
  const c = out.c;
  const waiting = view.forks.filter((f) => f.status === "budget_exceeded").length;
  out.line(
    `run ${view.id}: budget ${formatUsd(view.request.budgetUsd ?? usd)}, spent ${formatUsd(view.totals.costUsd.total)}` +
      (waiting ? ` · ${waiting} fork${waiting === 1 ? "" : "s"} waiting for budget continue` : "") +
      ` · ${colorStatus(view.status, c)}`,
  );
  out.line(runHeadline(view, c, Date.now()));
  if (view.status === "running") out.line(c.dim(`watch it: forkyard status ${view.id} --watch`));
  return EXIT.ok;
}
