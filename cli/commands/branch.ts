import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";

/** `branch <run> --fork n [-n count] [-p prompt]`: new forks of the run from fork n as it is now. */
export async function branchCommand(ctx: Context, id: string, opts: { fork: number; count: number; prompt?: string }): Promise<number> {
  const answer = await ctx.client.branch(id, opts.fork, { count: opts.count, ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}) });
  const { out } = ctx;
  if (out.json) {
    out.data(answer);
    return EXIT.ok;
  }
  const forks = answer.forks.join(", ");
  out.line(`fork${answer.forks.length > 1 ? "s" : ""} ${forks} branched from fork ${opts.fork} (forked at its next step boundary)`);
  out.line(out.c.dim(`forkyard status ${answer.runId} --watch · forkyard compare ${answer.runId}`));
  return EXIT.ok;
}
