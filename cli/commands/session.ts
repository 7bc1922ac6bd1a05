import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { sessionLines, sessionListTable, transcriptLines } from "../render/session-view.ts";
import type { SessionView } from "../types.ts";

const POLL_MS = 400;

/** `session new <repo>`: starts a session (its setup runs at once). */
export async function sessionNewCommand(ctx: Context, repo: string, opts: { model?: string; title?: string; branch?: string; idle?: number; budget?: number }): Promise<number> {
  const created = await ctx.client.createSession({
    repo,
    ...(opts.branch ? { branch: opts.branch } : {}),
    ...(opts.model ? { model: opts.model } : {}),
    ...(opts.title ? { title: opts.title } : {}),
    ...(opts.idle ? { idleSeconds: opts.idle } : {}),
    ...(opts.budget ? { budgetUsd: opts.budget } : {}),
  });
  if (ctx.out.json) ctx.out.data(created);
  else {
    ctx.out.line(`session ${created.id} (${created.status}): ${created.title}`);
    ctx.out.line(ctx.out.c.dim(`talk to it: forkyard chat ${created.id}`));
  }
  return EXIT.ok;
}

/** `session send <id> <prompt>`: queues a turn; with --follow, prints it as it runs. */
export async function sessionSendCommand(ctx: Context, id: string, prompt: string, opts: { follow?: boolean; model?: string }): Promise<number> {
  const after = opts.follow ? await lastSeq(ctx, id) : 0;
  const { turn } = await ctx.client.sendMessage(id, prompt, opts.model);
  if (!opts.follow) {
    if (ctx.out.json) ctx.out.data({ turn });
    else ctx.out.line(`turn ${turn} queued`);
    return EXIT.ok;
  }
  const view = await followTurn(ctx, id, turn, after);
  if (ctx.out.json) ctx.out.data(view.turns.find((t) => t.n === turn));
  return view.turns.find((t) => t.n === turn)?.status === "succeeded" ? EXIT.ok : EXIT.failed;
}

export async function sessionListCommand(ctx: Context, opts: { status?: string; limit?: number; cursor?: string }): Promise<number> {
  const page = await ctx.client.listSessions({ status: opts.status, limit: opts.limit, cursor: opts.cursor });
  if (ctx.out.json) ctx.out.data(page);
  else if (page.sessions.length === 0) ctx.out.line("No sessions.");
  else {
    for (const line of sessionListTable(page.sessions, ctx.out.c)) ctx.out.line(line);
    if (page.nextCursor) ctx.out.line(ctx.out.c.dim(`more: forkyard session list --cursor ${page.nextCursor}`));
  }
  return EXIT.ok;
}

export async function sessionShowCommand(ctx: Context, id: string): Promise<number> {
  return printView(ctx, await ctx.client.getSession(id));
}

export async function sessionForkCommand(ctx: Context, id: string, opts: { count: number; title?: string; budget?: number }): Promise<number> {
  const answer = await ctx.client.forkSession(id, opts.count, opts.title, opts.budget);
  const { sessions } = answer;
  if (ctx.out.json) ctx.out.data(answer);
  else if (answer.pending) for (const p of answer.pending) ctx.out.line(`session ${p.id} (made at turn ${answer.turn}'s next step boundary): ${p.title}`);
  else for (const s of sessions) ctx.out.line(`session ${s.id} (${s.status}): ${s.title}, ${s.turns.length} turns of history, branch ${s.workBranch}, budget ${s.budgetUsd === null ? "none" : `$${s.budgetUsd}`}`);
  return EXIT.ok;
}

/** `session dequeue <id> <turn>`: removes a message still queued. */
export async function sessionDequeueCommand(ctx: Context, id: string, turn: number): Promise<number> {
  const view = await ctx.client.removeMessage(id, turn);
  if (ctx.out.json) ctx.out.data(view);
  else ctx.out.line(`turn ${turn} removed from the queue (${view.queued} still queued)`);
  return EXIT.ok;
}

/** `session pause|cancel|rm <id>`; `rm --purge` deletes the session for good (its transcript too). */
export async function sessionControlCommand(ctx: Context, action: "pause" | "cancel" | "rm", id: string, opts: { purge?: boolean } = {}): Promise<number> {
  if (action === "rm" && opts.purge) {
    const deleted = await ctx.client.deleteSession(id);
    if (ctx.out.json) ctx.out.data(deleted);
    else ctx.out.line(`session ${deleted.id} deleted ${ctx.out.c.dim(`(${deleted.objectsDeleted} stored objects)`)}`);
    return EXIT.ok;
  }
  const view = action === "rm" ? await ctx.client.destroySession(id) : await ctx.client.sessionAction(id, action);
  return printView(ctx, view);
}

function printView(ctx: Context, view: SessionView): number {
  if (ctx.out.json) ctx.out.data(view);
  else for (const line of sessionLines(view, ctx.out.c)) ctx.out.line(line);
  return EXIT.ok;
}

export async function lastSeq(ctx: Context, id: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await ctx.client.transcript(id, after);
    if (page.entries.length > 0) after = page.entries[page.entries.length - 1]!.seq;
    if (page.next === null) return after;
  }
}

/** Prints the turn's transcript as it grows (tool calls compact, the agent's text whole) until the turn ends. */
export async function followTurn(ctx: Context, id: string, turn: number, after: number): Promise<SessionView> {
  const { out } = ctx;
  for (;;) {
    const view = await ctx.client.getSession(id);
    const page = await ctx.client.transcript(id, after);
    for (const entry of page.entries) {
      after = entry.seq;
      if (entry.turn === turn) for (const line of transcriptLines(entry, out.c)) out.line(line);
    }
    const t = view.turns.find((x) => x.n === turn);
    const ended = !t || !["queued", "running"].includes(t.status) || view.status === "failed" || view.status === "destroyed";
    if (ended && page.next === null) {
      if (t && t.status !== "succeeded") out.line(out.c.red(`turn ${turn} ${t.status}${t.error ? `: ${t.error.message}` : ""}`));
      return view;
    }
    if (page.next === null) await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
