import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";

/** `branch <run> --fork n [-n count] [-p prompt] [--at-step model-3 [-m model]]`: new forks of the run from fork n as it is now, or before an earlier step. */
export async function branchCommand(ctx: Context, id: string, opts: { fork: number; count: number; prompt?: string; atStep?: string; model?: string }): Promise<number> {
  const answer = await ctx.client.branch(id, opts.fork, {
    count: opts.count,
    ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}),
    ...(opts.atStep !== undefined ? { atStep: opts.atStep } : {}),
    ...(opts.model !== undefined ? { model: opts.model } : {}),
  });
  const { out } = ctx;
  if (out.json) {
    out.data(answer);
    return EXIT.ok;
  }
  const forks = answer.forks.join(", ");
  const where = opts.atStep !== undefined ? `as it stood before ${opts.atStep} (rebuilt in a fresh sandbox)` : "(forked at its next step boundary)";
  out.line(`fork${answer.forks.length > 1 ? "s" : ""} ${forks} branched from fork ${opts.fork} ${where}`);
  out.line(out.c.dim(`forkyard status ${answer.runId} --watch · forkyard compare ${answer.runId}`));
  return EXIT.ok;
}
