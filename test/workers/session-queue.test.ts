import { beforeEach, describe, expect, it } from "vitest";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { api, sandboxAdmin, scriptedModel } from "./helpers";
import { bash, createSession, modelCalls, say, send, setScript, transcript, turnEnded, waitForSession } from "./session-helpers";

/** Turn n of a scenario: its prompt, the command its first call runs, what that prints, its closing words. */
const turnOf = (n: number) => ({ prompt: `write q.txt ${n}`, command: `echo ${n} > q.txt && cat q.txt`, result: `${n} / [exit code: 0]`, said: `wrote ${n}` });

interface Block {
  type: string;
  text?: string;
  input?: { command?: string };
  content?: string | { text: string }[];
}

const resultText = (content: Block["content"]) => (typeof content === "string" ? content : (content ?? []).map((c) => c.text).join("")).trimEnd().replaceAll("\n", " / ");

/** A request's messages as `role[block, block]`: texts as they are, tool calls as `bash(command)`, results as `result(output)`. */
function sequenceOf(call: RecordedCall): string[] {
  const { messages } = call.body as { messages: { role: string; content: string | Block[] }[] };
  const describe = (b: Block) => (b.type === "text" ? b.text : b.type === "tool_use" ? `bash(${b.input?.command})` : b.type === "tool_result" ? `result(${resultText(b.content)})` : b.type);
  return messages.map((m) => `${m.role}[${typeof m.content === "string" ? m.content : m.content.map(describe).join(", ")}]`);
}

/** What turn n's calls are sent: every earlier turn whole and in order, then its own prompt (and, for its second call, its tool call and result). */
function expectedCalls(n: number): string[][] {
  const history = Array.from({ length: n - 1 }, (_, i) => {
    const t = turnOf(i + 1);
    return [`user[${t.prompt}]`, `assistant[bash(${t.command})]`, `user[result(${t.result})]`, `assistant[${t.said}]`];
  }).flat();
  const t = turnOf(n);
  const first = [...history, `user[${t.prompt}]`];
  return [first, [...first, `assistant[bash(${t.command})]`, `user[result(${t.result})]`]];
}

/** `earlier` turns one at a time, then `queued` messages posted at once to the idle session. */
async function queuedScenario(earlier: number, queued: number): Promise<void> {
  const total = earlier + queued;
  const turns = Array.from({ length: total }, (_, i) => turnOf(i + 1));
  await setScript(turns.flatMap((t): ScriptedReply[] => [bash(t.command), say(t.said)]));
  const session = await createSession();
  await waitForSession(session.id, "setup", (v) => v.status !== "setting_up");
  for (let n = 1; n <= earlier; n++) {
    expect(await send(session.id, turns[n - 1]!.prompt)).toBe(n);
    await waitForSession(session.id, `turn ${n}`, turnEnded(n));
  }
  const sent: number[] = [];
  for (let n = earlier + 1; n <= total; n++) sent.push(await send(session.id, turns[n - 1]!.prompt));
  expect(sent).toEqual(Array.from({ length: queued }, (_, i) => earlier + i + 1));
  const view = await waitForSession(session.id, `${queued} queued turns`, turnEnded(total), 80_000);
  expect(view.turns.map((t) => [t.prompt, t.status, t.summary])).toEqual(turns.map((t) => [t.prompt, "succeeded", t.said]));

  // Every turn's two requests, message by message.
  const calls = await modelCalls();
  expect(calls.map(sequenceOf)).toEqual(turns.flatMap((_, i) => expectedCalls(i + 1)));
  // GET …/transcript: the same order, turn by turn.
  const entries = await transcript(session.id);
  expect(entries.map((e) => `${e.turn}:${e.role}`)).toEqual(turns.flatMap((_, i) => ["user", "assistant", "tool", "assistant"].map((role) => `${i + 1}:${role}`)));
  expect(entries.filter((e) => e.role === "user").map((e) => e.text)).toEqual(turns.map((t) => t.prompt));
  await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
}

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("messages queued at once", () => {
  it("replays three queued messages after two turns in turn order, in every request", () => queuedScenario(2, 3));

  it("replays ten queued messages after one turn in turn order, in every request", () => queuedScenario(1, 10));
});
