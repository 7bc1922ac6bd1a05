import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { renderTable } from "../render/table.ts";

/** `cleanup`: runs the orphan reaper now and lists the sandboxes it killed. */
export async function cleanupCommand(ctx: Context): Promise<number> {
  const result = await ctx.client.runReaper();
  const { out } = ctx;
  if (out.json) out.data(result);
  else if (result.count === 0) out.line("No orphaned sandboxes.");
  else {
    out.line(`Killed ${result.count} sandbox${result.count === 1 ? "" : "es"}:`);
    const rows = result.killed.map((k) => [k.sandboxId, k.runId ?? "-", k.reason]);
    for (const line of renderTable([{ header: "SANDBOX" }, { header: "RUN" }, { header: "REASON" }], rows, out.c)) out.line(line);
  }
  return EXIT.ok;
}
