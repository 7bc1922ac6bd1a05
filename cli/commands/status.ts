import type { Context } from "../context.ts";
import { runExitCode } from "../outcome.ts";
import { formatUsd } from "../render/format.ts";
import { agentDetails, forkTable, runHeadline } from "../render/run-view.ts";
import { ellipsis } from "../render/text.ts";
import { watchRun } from "./watch.ts";

/** `status <run>`: the run and a row per fork; exits with the run's outcome once it has ended. */
export async function statusCommand(ctx: Context, id: string, opts: { watch?: boolean }): Promise<number> {
  if (opts.watch) return watchRun(ctx, id);
  const view = await ctx.client.getRun(id);
  const { out } = ctx;
  if (out.json) {
    out.data(view);
    return runExitCode(view);
  }
  const c = out.c;
  const req = view.request;
  const task =
    "commands" in req.task
      ? `${req.task.commands.length} command(s): ${ellipsis(req.task.commands.join(" && "), 80)}`
      : [`prompt: ${ellipsis(req.task.prompt.replace(/\s+/g, " "), 80)}`, ...(req.task.model ? [`model ${req.task.model}`] : []), ...(req.task.maxTurns ? [`max ${req.task.maxTurns} turns`] : [])].join(" · ");
  const now = Date.now();
  out.line(runHeadline(view, c, now));
  out.line(c.dim(`repo ${req.repo}@${req.branch} · ${task}`));
  out.line(c.dim(`created ${view.createdAt} · updated ${view.updatedAt}${req.budgetUsd !== undefined ? ` · budget ${formatUsd(req.budgetUsd)}` : ""}`));
  out.line();
  for (const line of forkTable(view, c, now)) out.line(line);
  const agents = agentDetails(view, c);
  if (agents.length) {
    out.line();
    out.line(c.bold("agents"));
    for (const line of agents) out.line(line);
  }
  return runExitCode(view);
}
