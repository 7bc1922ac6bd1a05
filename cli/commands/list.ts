import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { runListTable } from "../render/run-view.ts";
import { resolveRepo } from "./fork.ts";

export interface ListOptions {
  status?: string;
  /** A URL as given, a local path resolved against the working folder (as `fork` does). */
  repo?: string;
  search?: string;
  limit?: number;
  cursor?: string;
}

/** The same list's next page, as a command line (each value quoted for a POSIX shell). */
function nextPageCommand(opts: ListOptions, repo: string | undefined, cursor: string): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const args = ["forkyard list --cursor", cursor];
  if (opts.limit) args.push("--limit", String(opts.limit));
  if (opts.status) args.push("--status", opts.status);
  if (repo) args.push("--repo", quote(repo));
  if (opts.search) args.push("--search", quote(opts.search));
  return args.join(" ");
}

/** `list`: runs newest first, one page at a time, filtered by status, repository and text. */
export async function listCommand(ctx: Context, opts: ListOptions): Promise<number> {
  const repo = opts.repo === undefined ? undefined : resolveRepo(opts.repo, ctx.io.cwd);
  const page = await ctx.client.listRuns({ status: opts.status, repo, q: opts.search, limit: opts.limit, cursor: opts.cursor });
  const { out } = ctx;
  if (out.json) out.data(page);
  else if (page.runs.length === 0) out.line(opts.status || repo || opts.search ? "No runs match." : "No runs.");
  else {
    for (const line of runListTable(page.runs, out.c)) out.line(line);
    if (page.nextCursor) out.line(out.c.dim(`more: ${nextPageCommand(opts, repo, page.nextCursor)}`));
  }
  return EXIT.ok;
}
