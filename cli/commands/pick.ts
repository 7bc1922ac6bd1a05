import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";

/**
 * `pick <run> --fork n`: takes fork n (POST /v1/runs/:id/forks/:n/pick). Prints one line: the
 * pull request's URL when the run is on GitHub, else the command that fetches the fork's work
 * into a clone of the repository (it reads the token from $FORKYARD_TOKEN), so
 * `eval "$(forkyard pick <run> --fork n)"` takes it.
 */
export async function pickCommand(ctx: Context, id: string, opts: { fork: number }): Promise<number> {
  const result = await ctx.client.pick(id, opts.fork);
  if (ctx.out.json) ctx.out.data(result);
  else ctx.out.line(result.pullRequest?.url ?? result.fetch);
  // The command downloads the patch with the token from the environment, never from this output.
  if (!result.pullRequest && result.fetch.includes("FORKYARD_TOKEN") && !ctx.io.env.FORKYARD_TOKEN) {
    ctx.out.note("(the command reads your API token from $FORKYARD_TOKEN: export it before running it)");
  }
  return EXIT.ok;
}
