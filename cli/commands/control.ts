import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { EXIT } from "../outcome.ts";
import { colorStatus } from "../render/format.ts";
import { runHeadline } from "../render/run-view.ts";

/** `pause|resume|cancel <run>`, and `cancel <run> --fork n`. */
export async function controlCommand(ctx: Context, action: "pause" | "resume" | "cancel", id: string, opts: { fork?: number } = {}): Promise<number> {
  const { out } = ctx;
  if (opts.fork !== undefined) {
    if (action !== "cancel") throw new UsageError("--fork goes with cancel only.");
    const view = await ctx.client.cancelFork(id, opts.fork);
    if (out.json) out.data(view);
    else {
      const fork = view.forks.find((f) => f.n === opts.fork);
      out.line(`fork ${opts.fork} of run ${id}: ${fork ? colorStatus(fork.status, out.c) : "cancelled"}`);
    }
    return EXIT.ok;
  }
  const view = await ctx.client.control(id, action);
  if (out.json) out.data(view);
  else out.line(runHeadline(view, out.c, Date.now()));
  return EXIT.ok;
}
