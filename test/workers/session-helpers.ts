import { expect } from "vitest";
import type { SessionView, TranscriptEntry } from "../../src/api/sessions";
import { sessionView } from "../../src/api/session-responses";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { Sandbox } from "e2b";
import { api, e2bOptions, sandboxAdmin, scriptedModel, testEnv, waitFor } from "./helpers";

/** What the session tests share: the session API, waits on a session's view, scripted replies. */
export const setScript = (turns: ScriptedReply[]) => scriptedModel.script(turns);
export const modelCalls = () => scriptedModel.calls();

export const writeFile = (path: string, text: string): ScriptedReply => ({ content: [{ type: "tool_use", name: "str_replace_based_edit_tool", input: { command: "create", path, file_text: `${text}\n` } }] });
export const bash = (command: string): ScriptedReply => ({ content: [{ type: "tool_use", name: "bash", input: { command } }] });
export const say = (text: string): ScriptedReply => ({ content: [{ type: "text", text }] });

/** The text of each user prompt the model was sent in a call, in order. */
export function promptsIn(call: RecordedCall): string[] {
  const body = call.body as { messages: { role: string; content: { type: string; text?: string }[] }[] };
  return body.messages.flatMap((m) => (m.role === "user" ? m.content.flatMap((b) => (b.type === "text" && b.text ? [b.text] : [])) : []));
}

export async function createSession(body: Record<string, unknown> = {}): Promise<{ id: string; status: string; links: Record<string, string> }> {
  const res = await api("/v1/sessions", { method: "POST", json: { repo: testEnv.TEST_REPO, ...body } });
  if (res.status !== 201) throw new Error(`POST /v1/sessions: ${res.status} ${await res.text()}`);
  return (await res.json()) as never;
}

export async function getSession(id: string): Promise<SessionView> {
  const res = await api(`/v1/sessions/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/sessions/${id}: ${res.status} ${await res.text()}`);
  // What the API answers is what the OpenAPI document describes.
  return sessionView.parse(await res.json());
}

export async function send(id: string, prompt: string): Promise<number> {
  const res = await api(`/v1/sessions/${id}/messages`, { method: "POST", json: { prompt } });
  if (res.status !== 202) throw new Error(`POST messages: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { turn: number }).turn;
}

export async function waitForSession(id: string, what: string, probe: (view: SessionView) => boolean, timeoutMs = 60_000): Promise<SessionView> {
  let last: SessionView | undefined;
  try {
    return await waitFor(what, async () => {
      last = await getSession(id);
      return probe(last) ? last : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last view: ${JSON.stringify(last)?.slice(0, 3000)}`);
  }
}

export const turnEnded = (n: number) => (v: SessionView) => v.turns.length >= n && v.turns.slice(0, n).every((t) => !["queued", "running"].includes(t.status)) && v.status !== "running";

/** Forks session `id` into one new session (201) and answers it. */
export async function forkOne(id: string): Promise<SessionView> {
  const forked = await api(`/v1/sessions/${id}/fork`, { method: "POST", json: { count: 1 } });
  expect(forked.status).toBe(201);
  return ((await forked.json()) as { sessions: SessionView[] }).sessions[0]!;
}

/** A new session whose first turn (`prompt`, on the scripted model) has ended; answers its id. */
export async function sessionAfterOneTurn(prompt: string): Promise<string> {
  const session = await createSession();
  await waitForSession(session.id, "setup", (v) => v.status === "idle");
  await send(session.id, prompt);
  await waitForSession(session.id, "the first turn", turnEnded(1));
  return session.id;
}

export async function transcript(id: string): Promise<TranscriptEntry[]> {
  const res = await api(`/v1/sessions/${id}/transcript?limit=500`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { entries: TranscriptEntry[] }).entries;
}

/** A session's whole event log so far (a destroyed session's stream ends after it). */
export async function sessionEvents(id: string): Promise<{ type: string; data?: Record<string, unknown>; [key: string]: unknown }[]> {
  const text = await (await api(`/v1/sessions/${id}/events?after=0`)).text();
  return text.split("\n\n").flatMap((block) => {
    const data = /^data: (.+)$/m.exec(block)?.[1];
    return data ? [JSON.parse(data) as { type: string }] : [];
  });
}

/** Waits until the running turn's held tool call (waiting on `gate`) is recorded, kills the sandbox, and (`open`) opens the gate in its replacement. */
export async function loseDuringHeldCall(id: string, gate: string, open = true): Promise<string> {
  await waitFor("the held tool call", async () => (await transcript(id)).some((e) => e.role === "assistant" && e.toolCalls.some((c) => JSON.stringify(c.input).includes(gate))));
  const lost = (await getSession(id)).sandbox.id!;
  await Sandbox.kill(lost, e2bOptions());
  // The call runs again in the rebuilt sandbox, held by the same gate until it is opened there.
  await waitForSession(id, "the rebuilt sandbox", (v) => v.sandbox.id !== lost && v.sandbox.id !== null);
  if (open) expect(await sandboxAdmin.openGate(gate)).toBeGreaterThanOrEqual(1);
  return lost;
}
