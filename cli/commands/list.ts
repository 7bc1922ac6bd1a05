import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { runListTable } from "../render/run-view.ts";

/** `list`: runs newest first, one page at a time. */
export async function listCommand(ctx: Context, opts: { status?: string; limit?: number; cursor?: string }): Promise<number> {
  const page = await ctx.client.listRuns(opts);
  const { out } = ctx;
  if (out.json) out.data(page);
  else if (page.runs.length === 0) out.line("No runs.");
  else {
    for (const line of runListTable(page.runs, out.c)) out.line(line);
    if (page.nextCursor) out.line(out.c.dim(`more: forkyard list --cursor ${page.nextCursor}${opts.limit ? ` --limit ${opts.limit}` : ""}${opts.status ? ` --status ${opts.status}` : ""}`));
  }
  return EXIT.ok;
}
