import { beforeEach, describe, expect, it } from "vitest";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { api, sandboxAdmin, scriptedModel } from "./helpers";
import { bash, createSession, modelCalls, say, send, sessionEvents, setScript, transcript, turnEnded, waitForSession } from "./session-helpers";

/**
 * A turn longer than its instance may be: the tests' SESSION_TURN_CONTINUE_AFTER_STEPS is 20
 * (vitest.config.ts), so a turn of 13 model calls (12 of them a bash call) goes on in a second
 * instance after its ninth call. In production the limit is 8,000 steps (a turn of hundreds of
 * calls); before continuations such a turn failed at Cloudflare's 10,000 with step_limit_exceeded.
 */
const CALLS = 12;
const usage = { input_tokens: 100, output_tokens: 10 };
const appended = (i: number) => `echo ${i} >> log.txt`;

const messageCount = (call: RecordedCall) => (call.body as { messages: unknown[] }).messages.length;

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("a session turn near its instance's step limit", () => {
  it("goes on in a new instance from its calls so far: every call made once, in one conversation, counted whole", async () => {
    const long: ScriptedReply[] = Array.from({ length: CALLS }, (_, i) => ({ ...bash(appended(i + 1)), usage }));
    await setScript([...long, { ...say("appended twelve lines"), usage }, bash("cat log.txt"), say("read it")]);
    const session = await createSession();
    await waitForSession(session.id, "setup", (v) => v.status !== "setting_up");

    expect(await send(session.id, "append twelve lines")).toBe(1);
    const view = await waitForSession(session.id, "the long turn", turnEnded(1), 120_000);
    const turn = view.turns[0]!;
    expect([turn.status, turn.summary]).toEqual(["succeeded", "appended twelve lines"]);
    // The turn's totals are every instance's: 12 tool calls, 13 model calls' tokens.
    expect(turn.toolCalls).toBe(CALLS);
    expect([turn.tokens.input, turn.tokens.output]).toEqual([13 * usage.input_tokens, 13 * usage.output_tokens]);

    // 13 model calls, none made twice: call k carries the prompt and the k-1 calls before it with
    // their results (the second instance's first call has all nine of the first's).
    const calls = await modelCalls();
    expect(calls.map(messageCount)).toEqual(Array.from({ length: 13 }, (_, k) => 1 + 2 * k));
    // The transcript: the prompt, 12 tool calls with their results, the reply.
    const entries = await transcript(session.id);
    expect(entries.filter((e) => e.role === "tool")).toHaveLength(CALLS);

    // Every command ran once, in the one sandbox the session keeps; the next turn sees the whole turn as history.
    expect(await send(session.id, "show the log")).toBe(2);
    await waitForSession(session.id, "turn 2", turnEnded(2));
    const all = await modelCalls();
    expect(all).toHaveLength(15);
    const shown = JSON.stringify((all[14]!.body as { messages: unknown[] }).messages.at(-1));
    expect(shown).toContain(Array.from({ length: CALLS }, (_, i) => i + 1).join("\\n"));
    expect(messageCount(all[13]!)).toBe(1 + 2 * CALLS + 1 + 1);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });

    // Turn 1 went on in a second instance, once, without starting again (the event stream ends with the session).
    const events = await sessionEvents(session.id);
    const ofTurn1 = (type: string) => events.filter((e) => e.type === type && e.fork === 1);
    expect(ofTurn1("turn.continued").map((e) => e.instanceId)).toEqual([`${session.id}-t1-c1`]);
    expect([ofTurn1("turn.started").length, ofTurn1("turn.finished").length]).toEqual([1, 1]);
  });
});
