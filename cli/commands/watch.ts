import type { Context } from "../context.ts";
import { followForCommand } from "../follow.ts";
import { EXIT, runExitCode } from "../outcome.ts";
import { createLiveView } from "../render/live.ts";
import type { RunView } from "../types.ts";
import { isSettledRun } from "../types.ts";

/**
 * Watches a run until it ends: a live table (or --json: nothing until the final RunView), then
 * the summary. Follows the run's event stream (re-reading the run at each event), or polls every
 * second when the API offers no stream. Returns the run's exit code, or 130 on Ctrl-C (the run keeps going).
 */
export async function watchRun(ctx: Context, id: string): Promise<number> {
  const { out } = ctx;
  const abort = new AbortController();
  const stopListening = ctx.io.onInterrupt(() => abort.abort());
  const live = out.json ? null : createLiveView(out.stdout, out.c);
  let last: RunView | undefined;
  try {
    const views = followForCommand(ctx.client, id, abort.signal, (message) => out.warn(message));
    for await (const view of views) {
      last = view;
      if (!isSettledRun(view)) live?.update(view, Date.now());
    }
  } finally {
    stopListening();
  }
  if (!last || !isSettledRun(last)) return interrupted(ctx, id);
  if (out.json) out.data(last);
  else live?.end(last, Date.now());
  return runExitCode(last);
}

export function interrupted(ctx: Context, id: string): number {
  ctx.out.note(`\nStopped watching; run ${id} keeps running. Watch it again: forkyard status ${id} --watch · cancel it: forkyard cancel ${id}`);
  return EXIT.interrupted;
}
