import { beforeEach, describe, expect, it } from "vitest";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { api, gateCommand, newGate, sandboxAdmin, scriptedModel, waitFor } from "./helpers";
import { bash, createSession, getSession, modelCalls, say, send, setScript, transcript, turnEnded, waitForSession } from "./session-helpers";

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

/** The user prompts of a request (its text blocks), in order. */
function promptsOf(call: RecordedCall): string[] {
  const { messages } = call.body as { messages: { role: string; content: string | Block[] }[] };
  return messages.flatMap((m) => (m.role !== "user" ? [] : typeof m.content === "string" ? [m.content] : m.content.flatMap((b) => (b.type === "text" && b.text ? [b.text] : []))));
}

/** A session whose turn 1 holds on a gate (its first tool call), so the messages sent next stay queued. */
async function heldSession(gate: string, replies: ScriptedReply[]): Promise<string> {
  await setScript([bash(`${gateCommand(gate)} && echo held`), ...replies]);
  const session = await createSession();
  expect(await send(session.id, "hold")).toBe(1);
  await waitFor("turn 1's tool call", async () => (await transcript(session.id)).some((e) => e.role === "assistant"));
  return session.id;
}

describe("the queue", () => {
  it("runs the queued messages after a failed turn, with the failed turn's recorded exchange in their history", async () => {
    const gate = newGate();
    const id = await heldSession(gate, [say("second done"), say("third done")]);
    expect([await send(id, "second"), await send(id, "third")]).toEqual([2, 3]);
    // Turn 1's next model call is refused (401: never retried), so turn 1 fails after its tool call.
    await scriptedModel.request("/__faults", { errors: [{ kind: "auth", count: 1 }] });
    await sandboxAdmin.openGate(gate);
    const view = await waitForSession(id, "three turns", turnEnded(3));
    expect(view.turns.map((t) => [t.status, t.error?.code ?? null, t.summary])).toEqual([
      ["failed", "model_auth_failed", null],
      ["succeeded", null, "second done"],
      ["succeeded", null, "third done"],
    ]);
    const calls = await modelCalls();
    expect(calls.map((c) => c.status)).toEqual([200, 401, 200, 200]);
    // Turn 2's request: turn 1's prompt, its tool call and result (the failed turn's exchange), then its own prompt.
    expect(sequenceOf(calls[2]!)).toEqual(["user[hold]", `assistant[bash(${gateCommand(gate)} && echo held)]`, "user[result(held / [exit code: 0]), second]"]);
    expect(sequenceOf(calls[3]!)).toEqual([...sequenceOf(calls[2]!), "assistant[second done]", "user[third]"]);
    await api(`/v1/sessions/${id}`, { method: "DELETE" });
  });

  it("refuses a message past SESSION_QUEUE_LIMIT with 429 queue_full, and removes queued messages (never run) but not a started one", async () => {
    const gate = newGate();
    const id = await heldSession(gate, [say("held done"), say("kept 3"), say("kept 22")]);
    for (let n = 2; n <= 21; n++) expect(await send(id, `m${n}`)).toBe(n);
    const full = await api(`/v1/sessions/${id}/messages`, { method: "POST", json: { prompt: "one too many" } });
    expect(full.status).toBe(429);
    expect(full.headers.get("Retry-After")).toBe("10");
    expect(((await full.json()) as { error: { code: string; details: { limit: number } } }).error).toMatchObject({ code: "queue_full", details: { limit: 20 } });

    const removed = await api(`/v1/sessions/${id}/messages/5`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    const view = (await removed.json()) as { queued: number; turns: { n: number; status: string; error?: { code: string } }[] };
    expect(view.queued).toBe(19);
    expect(view.turns[4]).toMatchObject({ n: 5, status: "cancelled", error: { code: "removed" } });
    const code = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    expect(await code(await api(`/v1/sessions/${id}/messages/5`, { method: "DELETE" }))).toEqual([409, "turn_not_queued"]);
    expect(await code(await api(`/v1/sessions/${id}/messages/1`, { method: "DELETE" }))).toEqual([409, "turn_not_queued"]);
    expect(await code(await api(`/v1/sessions/${id}/messages/99`, { method: "DELETE" }))).toEqual([404, "not_found"]);
    expect(await code(await api(`/v1/sessions/${id}/messages/first`, { method: "DELETE" }))).toEqual([400, "invalid_input"]);
    expect(await code(await api("/v1/sessions/saaaaaaaaaaaaaaaaaaaa/messages/2", { method: "DELETE" }))).toEqual([404, "not_found"]);

    // Room again: the next message is turn 22. Every queued one but 3 and 22 is removed, then turn 1 goes on.
    expect(await send(id, "m22")).toBe(22);
    for (let n = 2; n <= 21; n++) if (n !== 3 && n !== 5) expect((await api(`/v1/sessions/${id}/messages/${n}`, { method: "DELETE" })).status).toBe(200);
    expect((await getSession(id)).queued).toBe(2);
    await sandboxAdmin.openGate(gate);
    const ended = await waitForSession(id, "the turns left", turnEnded(22));
    expect(ended.turns.filter((t) => t.status === "succeeded").map((t) => [t.n, t.summary])).toEqual([[1, "held done"], [3, "kept 3"], [22, "kept 22"]]);
    const calls = await modelCalls();
    expect(calls.map((c) => promptsOf(c).at(-1))).toEqual(["hold", "hold", "m3", "m22"]);
    expect(promptsOf(calls[3]!)).toEqual(["hold", "m3", "m22"]);
    expect((await transcript(id)).filter((e) => e.role === "user").map((e) => e.text)).toEqual(["hold", "m3", "m22"]);
    await api(`/v1/sessions/${id}`, { method: "DELETE" });
  });
});
