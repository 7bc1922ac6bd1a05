import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { followForCommand } from "../follow.ts";
import { EXIT, runExitCode } from "../outcome.ts";
import { colorStatus, forkElapsedMs, formatDuration } from "../render/format.ts";
import { colorEntry, LogTracker, type LogEntry } from "../render/logs.ts";
import type { LiveChunk, RunView } from "../types.ts";
import { isSettledRun } from "../types.ts";
import { interrupted } from "./watch.ts";

/**
 * `logs <run>`: each fork's steps and command outputs, grouped by fork. With --follow, new lines
 * as they happen (`fork n │ …`) until the run ends; --json prints entries (NDJSON when following).
 */
export async function logsCommand(ctx: Context, id: string, opts: { fork?: number; follow?: boolean }): Promise<number> {
  const tracker = new LogTracker(opts.fork);
  if (!opts.follow) {
    const view = await ctx.client.getRun(id);
    requireFork(view, opts.fork);
    const entries = tracker.next(view);
    if (ctx.out.json) ctx.out.data(entries);
    else printGrouped(ctx, view, entries, opts.fork);
    return EXIT.ok;
  }

  const { out } = ctx;
  const abort = new AbortController();
  const stopListening = ctx.io.onInterrupt(() => abort.abort());
  let last: RunView | undefined;
  const print = (entries: LogEntry[]) => {
    for (const entry of entries) {
      if (out.json) out.stdout.write(JSON.stringify(entry) + "\n");
      else out.line(opts.fork !== undefined ? colorEntry(entry, out.c) : `${out.c.dim(`fork ${entry.fork} │`)} ${colorEntry(entry, out.c)}`);
    }
  };
  try {
    // Running commands' lines print as they come (command.output), before the run is re-read.
    // (Held until the first read of the run has printed the steps before them.)
    const early: LiveChunk[] = [];
    const views = followForCommand(ctx.client, id, abort.signal, (message) => out.warn(message), (chunk) => (last ? print(tracker.live(chunk)) : early.push(chunk)));
    for await (const view of views) {
      if (!last) requireFork(view, opts.fork);
      last = view;
      print(tracker.next(view));
      for (const chunk of early.splice(0)) print(tracker.live(chunk));
    }
  } finally {
    stopListening();
  }
  if (!last || !isSettledRun(last)) return interrupted(ctx, id);
  out.line(`run ${last.id}: ${colorStatus(last.status, out.c)}`);
  return runExitCode(last);
}

function requireFork(view: RunView, n: number | undefined): void {
  if (n !== undefined && !view.forks.some((f) => f.n === n)) throw new UsageError(`run ${view.id} has no fork ${n} (it has ${view.forks.length}).`);
}

function printGrouped(ctx: Context, view: RunView, entries: LogEntry[], only: number | undefined): void {
  const { out } = ctx;
  const now = Date.now();
  for (const fork of view.forks) {
    if (only !== undefined && fork.n !== only) continue;
    const mine = entries.filter((e) => e.fork === fork.n && e.kind !== "status");
    out.line(`${out.c.bold(`fork ${fork.n}`)} ${colorStatus(fork.status, out.c)} ${out.c.dim(`${fork.branch} · ${formatDuration(forkElapsedMs(fork, now))}`)}`);
    if (mine.length === 0) out.line(out.c.dim("  (nothing yet)"));
    for (const entry of mine) out.line(`  ${colorEntry(entry, out.c)}`);
    out.line();
  }
}
