import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { EXIT } from "../outcome.ts";
import { forkTranscriptLines } from "../render/fork-transcript.ts";
import { isTerminalFork } from "../types.ts";
import { interrupted } from "./watch.ts";

const POLL_MS = 500;

/**
 * `logs <run> --fork n --transcript`: what fork n's agent did — its prompt, the model's messages,
 * each command or edit and its output — page by page; with --follow, new entries as the fork's
 * steps end, until it ends. --json prints the entries (NDJSON when following).
 */
export async function forkTranscriptCommand(ctx: Context, id: string, n: number | undefined, follow: boolean): Promise<number> {
  if (n === undefined) throw new UsageError("--transcript needs --fork <n> (one fork's transcript).");
  const { out } = ctx;
  const view = await ctx.client.getRun(id);
  const fork = view.forks.find((f) => f.n === n);
  if (!fork) throw new UsageError(`run ${view.id} has no fork ${n} (it has ${view.forks.length}).`);
  if (!("prompt" in view.request.task)) {
    out.warn(`fork ${n} runs commands, not an agent: its commands' output is in \`forkyard logs ${id} --fork ${n}\`.`);
    return EXIT.ok;
  }
  let stop = false;
  const stopListening = follow ? ctx.io.onInterrupt(() => (stop = true)) : () => {};
  const all: unknown[] = [];
  let after = 0;
  try {
    for (let ended = !follow || isTerminalFork(fork); ; ) {
      const page = await ctx.client.forkTranscript(id, n, after);
      for (const entry of page.entries) {
        after = entry.seq;
        if (out.json && follow) out.stdout.write(JSON.stringify(entry) + "\n");
        else if (out.json) all.push(entry);
        else for (const line of forkTranscriptLines(entry, out.c)) out.line(line);
      }
      if (page.next !== null) continue;
      if (ended || stop) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
      // The fork's state is read before the page that follows it, so nothing recorded before it ended is missed.
      const now = (await ctx.client.getRun(id)).forks.find((f) => f.n === n);
      ended = !now || isTerminalFork(now);
    }
  } finally {
    stopListening();
  }
  if (out.json && !follow) out.data(all);
  if (stop) return interrupted(ctx, id);
  if (after === 0 && !out.json) out.line(out.c.dim("(no transcript yet)"));
  return EXIT.ok;
}
