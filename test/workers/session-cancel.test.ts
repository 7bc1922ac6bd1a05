import { env } from "cloudflare:workers";
import { introspectWorkflowInstance } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { TOOL_CALL_NOT_RUN } from "../../src/objects/session/session-store";
import { sessionView } from "../../src/api/session-responses";
import type { SessionView } from "../../src/api/sessions";
import { turnInstanceId } from "../../src/protocol/session-ids";
import { modelStepName, SESSION_STEP } from "../../src/workflows/steps";
import { Sandbox } from "e2b";
import { api, e2bOptions, sandboxAdmin, scriptedModel, waitFor } from "./helpers";
import { bash, createSession, modelCalls, promptsIn, say, send, sessionEvents, setScript, transcript, turnEnded, waitForSession } from "./session-helpers";

const bindings = env as unknown as { SESSION_WORKFLOW: Workflow };

const cancelRequest = (id: string) => api(`/v1/sessions/${id}/cancel`, { method: "POST" });

/** POST …/cancel, answered 200 with the session. */
async function cancel(id: string): Promise<SessionView> {
  const res = await cancelRequest(id);
  expect(res.status).toBe(200);
  return sessionView.parse(await res.json());
}

/** Each turn's status and error code. */
const outcomes = (view: SessionView) => view.turns.map((t) => [t.status, t.error?.code ?? null]);

/** Failed first attempts of turn 1's `history` step (retried 0.2, 0.4, 0.8, 1.6, 3.2 s later; a control step retries 5 times): the window the cancel lands in. */
const HISTORY_FAILURES = 5;
/** A latency the local sandbox server holds calls for until the test clears it (a hold, not a clock). */
const HELD_MS = 120_000;

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("cancelling a session's turn", () => {
  it("during a model call: the call's answer is kept, its tool call never runs, and the next message is told so", async () => {
    // The first answer is held back until the test has cancelled (it waits for the call to arrive).
    await setScript([{ ...bash("echo ran > ran.txt"), delayMs: 1_500 }, say("next done")]);
    const session = await createSession();
    await send(session.id, "first");
    await send(session.id, "second");
    await waitFor("the model call", async () => (await modelCalls()).length === 1);
    await cancel(session.id);
    const view = await waitForSession(session.id, "both turns", turnEnded(2));
    expect(view.turns.map((t) => [t.status, t.toolCalls])).toEqual([["cancelled", 0], ["succeeded", 0]]);
    expect((await transcript(session.id)).filter((e) => e.turn === 1).map((e) => e.role)).toEqual(["user", "assistant"]);
    const calls = await modelCalls();
    expect(calls).toHaveLength(2);
    expect(JSON.stringify((calls[1]!.body as { messages: unknown }).messages)).toContain(TOOL_CALL_NOT_RUN);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });

  it("during a tool call: its running command is stopped (not left to run for 10 minutes), and the queue goes on", async () => {
    await setScript([bash("touch /tmp/started; sleep 600"), say("second done")]);
    const session = await createSession();
    await send(session.id, "first");
    await send(session.id, "second");
    const { sandbox } = await waitForSession(session.id, "the sandbox", (v) => v.sandbox.id !== null);
    const sbx = await Sandbox.connect(sandbox.id!, e2bOptions());
    await waitFor("the command to run", () => sbx.files.exists("/tmp/started"));
    await cancel(session.id);
    // The next heartbeat's answer (every STALE_FORK_SECONDS / 3 = 2 s here) stops the command.
    const view = await waitForSession(session.id, "both turns", turnEnded(2));
    expect(view.turns.map((t) => [t.status, t.summary])).toEqual([["cancelled", null], ["succeeded", "second done"]]);
    expect(view.turns[0]!.error?.code).toBe("cancelled");
    expect(await modelCalls()).toHaveLength(2);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });

  it("during a budget wait: the turn ends at once (no model call), its sandbox stays paused, and the queue goes on", async () => {
    const session = await createSession({ budgetUsd: 0.000001 });
    await setScript([say("never")]);
    await send(session.id, "first");
    await waitForSession(session.id, "the budget wait", (v) => v.sandbox.state === "paused" && v.turns[0]?.status === "running");
    await send(session.id, "second");
    await cancel(session.id);
    const view = await waitForSession(session.id, "the cancelled turn", (v) => v.turns[0]?.status === "cancelled", 15_000);
    expect(view.turns[0]!.error?.code).toBe("cancelled");
    expect(await modelCalls()).toHaveLength(0);
    // The second turn waits for budget in its turn (nothing was raised).
    const waiting = await waitForSession(session.id, "the second turn's wait", (v) => v.turns[1]?.status === "running" && v.sandbox.state === "paused");
    // Paused at the sandbox server too (no sandbox time billed while it waits); other tests' sandboxes may still be going.
    await waitFor("the sandbox paused", async () => (await Sandbox.getInfo(waiting.sandbox.id!, e2bOptions())).state === "paused");
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });

  it("during its first step, the resume of the paused sandbox: no model call, and the queued message runs next", async () => {
    const session = await createSession();
    await waitForSession(session.id, "setup", (v) => v.status === "idle");
    expect((await api(`/v1/sessions/${session.id}/pause`, { method: "POST" })).status).toBe(200);
    await setScript([say("second done")]);
    // The resume is held, so the cancel lands while the turn's first step waits for it.
    await sandboxAdmin.latency({ resume: HELD_MS, connect: HELD_MS });
    await send(session.id, "first");
    await send(session.id, "second");
    await waitFor("the resume", async () => {
      const { calls } = await sandboxAdmin.stats();
      return (calls.resume ?? 0) + (calls.connect ?? 0) > 0;
    });
    await cancel(session.id);
    await sandboxAdmin.latency({});
    const view = await waitForSession(session.id, "both turns", turnEnded(2));
    expect(view.turns.map((t) => [t.status, t.summary])).toEqual([["cancelled", null], ["succeeded", "second done"]]);
    const calls = await modelCalls();
    expect(calls).toHaveLength(1);
    expect(JSON.stringify((calls[0]!.body as { messages: unknown }).messages)).toContain("second");
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });

  it("during its history step, after its first step: no model call for it, and the queue goes on", async () => {
    await setScript([say("second done")]);
    const session = await createSession();
    await waitForSession(session.id, "setup", (v) => v.status === "idle");
    // Turn 1's history step fails its first attempts: its instance waits to retry it, past its begin step, when the cancel lands.
    await using turn1 = await introspectWorkflowInstance(bindings.SESSION_WORKFLOW, turnInstanceId(session.id, 1));
    await turn1.modify(async (m) => m.mockStepError({ name: SESSION_STEP.history }, new Error("history unavailable"), HISTORY_FAILURES));
    await send(session.id, "first");
    await send(session.id, "second");
    await turn1.waitForStepResult({ name: SESSION_STEP.begin });
    await cancel(session.id);
    const view = await waitForSession(session.id, "both turns", turnEnded(2));
    expect(outcomes(view)).toEqual([["cancelled", "cancelled"], ["succeeded", null]]);
    const calls = await modelCalls();
    expect(calls).toHaveLength(1);
    // The second turn's history has the cancelled turn's prompt (it started), with no answer.
    expect(promptsIn(calls[0]!)).toEqual(["first", "second"]);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
    // Its history step went on (it asks nothing), then its first model step refused it.
    const steps = (await sessionEvents(session.id)).filter((e) => e.type === "step.finished" && e.fork === 1 && e.step !== SESSION_STEP.finish);
    expect(steps.map((e) => [e.step, e.attempt, e.ok])).toEqual([
      [SESSION_STEP.begin, 1, true],
      [SESSION_STEP.history, HISTORY_FAILURES + 1, true],
      [modelStepName(1), 1, false],
    ]);
  });

  it("during the session's setup: the turn it gets ready for ends cancelled with no model call, setup completes, and the next message runs", async () => {
    await setScript([say("second done")]);
    // The sandbox's creation is held: the cancel lands while the session is set up.
    await sandboxAdmin.latency({ create: HELD_MS });
    const session = await createSession();
    await send(session.id, "first");
    await send(session.id, "second");
    await waitFor("the sandbox's creation", async () => ((await sandboxAdmin.stats()).calls.create ?? 0) > 0);
    const cancelled = await cancel(session.id);
    await sandboxAdmin.latency({});
    expect(cancelled.status).toBe("setting_up");
    expect(outcomes(cancelled)).toEqual([["cancelled", "cancelled"], ["queued", null]]);
    const view = await waitForSession(session.id, "the second turn", turnEnded(2));
    expect(view.status).toBe("idle");
    expect(view.turns.map((t) => [t.status, t.summary, t.startedAt])).toEqual([["cancelled", null, null], ["succeeded", "second done", expect.any(String)]]);
    const calls = await modelCalls();
    expect(calls).toHaveLength(1);
    // The cancelled message never ran: it is in no history.
    expect(promptsIn(calls[0]!)).toEqual(["second"]);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });
});

describe("cancelling with no turn running or queued", () => {
  it("is refused with 409 nothing_to_cancel, during setup and once idle", async () => {
    const session = await createSession();
    const refused = async () => {
      const res = await cancelRequest(session.id);
      expect(res.status).toBe(409);
      return ((await res.json()) as { error: { code: string; details: { status: string } } }).error;
    };
    expect(await refused()).toMatchObject({ code: "nothing_to_cancel" });
    await waitForSession(session.id, "setup", (v) => v.status === "idle");
    expect(await refused()).toMatchObject({ code: "nothing_to_cancel", details: { status: "idle" } });
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });
});
