import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";

/** `merge <run> <n> <n…> [-p prompt] [-m model]`: a new fork of the run whose agent combines these forks' patches. */
export async function mergeCommand(ctx: Context, id: string, forks: number[], opts: { prompt?: string; model?: string }): Promise<number> {
  const answer = await ctx.client.merge(id, { forks, ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}), ...(opts.model !== undefined ? { model: opts.model } : {}) });
  const { out } = ctx;
  if (out.json) {
    out.data(answer);
    return EXIT.ok;
  }
  out.line(`fork ${answer.fork} merges forks ${answer.forks.join(", ")} (queued; its view's merge.provenance says what of each survived)`);
  out.line(out.c.dim(`forkyard status ${answer.runId} --watch · forkyard compare ${answer.runId}`));
  return EXIT.ok;
}
