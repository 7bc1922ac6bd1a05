import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { followTurn, lastSeq } from "./session.ts";

/**
 * `chat <session>`: an interactive prompt. Each line is sent as a message and its turn streams
 * back (tool calls as compact lines, the answer in full); an empty line is ignored, end of input
 * (Ctrl-D) leaves. The session stays: it pauses itself when idle.
 */
export async function chatCommand(ctx: Context, id: string): Promise<number> {
  const { out, io } = ctx;
  const view = await ctx.client.getSession(id);
  out.line(out.c.dim(`${view.title} (${view.status}, ${view.turns.length} turns) · Ctrl-D to leave`));
  let after = await lastSeq(ctx, id);
  for await (const line of io.readLines()) {
    const prompt = line.trim();
    if (!prompt) continue;
    const { turn } = await ctx.client.sendMessage(id, prompt);
    await followTurn(ctx, id, turn, after);
    after = await lastSeq(ctx, id);
    out.line();
  }
  return EXIT.ok;
}
