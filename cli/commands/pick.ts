import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { LOCAL_API_TOKEN } from "../local-token.ts";
import { shellWord } from "../../src/runs/fetch-command.ts";

/**
 * `pick <run> --fork n`: takes fork n (POST /v1/runs/:id/forks/:n/pick). Prints one line: the
 * pull request's URL when the run is on GitHub, else the command that fetches the fork's work
 * into a clone of the repository (it reads the token from $FORKYARD_TOKEN; on the local stack,
 * without it, the local stack's well-known token is given to it), so
 * `eval "$(forkyard pick <run> --fork n)"` takes it.
 */
export async function pickCommand(ctx: Context, id: string, opts: { fork: number }): Promise<number> {
  const result = await ctx.client.pick(id, opts.fork);
  const readsToken = !result.pullRequest && result.fetch.includes("FORKYARD_TOKEN") && !ctx.io.env.FORKYARD_TOKEN;
  // On the local stack with its well-known token (no FORKYARD_TOKEN set), the command is given that
  // token, so it works as printed; a real token is never printed: it is read from the environment.
  const local = readsToken && ctx.client.usesLocalToken;
  const fetch = local ? `FORKYARD_TOKEN=${LOCAL_API_TOKEN} sh -c ${shellWord(result.fetch)}` : result.fetch;
  if (ctx.out.json) ctx.out.data({ ...result, fetch });
  else ctx.out.line(result.pullRequest?.url ?? fetch);
  if (readsToken && !local) {
    ctx.out.note("(the command downloads the fork's patch from the API, which needs your token: it reads it from $FORKYARD_TOKEN; export it before running the command)");
  }
  return EXIT.ok;
}
