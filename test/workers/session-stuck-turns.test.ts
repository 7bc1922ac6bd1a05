// A turn whose Workflow instance stops making progress behind Forkyard's back is taken up again by
// its Session's alarm (STALE_FORK_SECONDS is 6 in tests), with no model call repeated. Locally a
// paused instance stops between steps (the engine lets the running step end first), so this is the
// paused case; the restart from a step the instance went silent inside is in
// test/unit/session-stuck-turns.test.ts.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { turnInstanceId } from "../../src/protocol/session-ids";
import { api, gateCommand, newGate, sandboxAdmin, scriptedModel, waitFor } from "./helpers";
import { bash, createSession, modelCalls, say, send, sessionEvents as events, setScript, turnEnded, waitForSession } from "./session-helpers";

const workflows = env as unknown as { SESSION_WORKFLOW: Workflow };

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("a stuck session turn", () => {
  it("paused behind Forkyard's back during a tool call: taken up again, and the turn succeeds with no model call repeated", async () => {
    const gate = newGate();
    await setScript([bash(`${gateCommand(gate)}; echo through`), say("done")]);
    const session = await createSession();
    const n = await send(session.id, "run it");
    await waitFor("the tool call", async () => (await modelCalls()).length === 1);
    const instance = await workflows.SESSION_WORKFLOW.get(turnInstanceId(session.id, n));
    await instance.pause();
    await sandboxAdmin.openGate(gate);
    await waitFor("the pause", async () => (await instance.status()).status === "paused", 10_000);

    const view = await waitForSession(session.id, "the turn", turnEnded(1), 30_000);
    expect(view.turns[0]!.status).toBe("succeeded");
    expect(view.turns[0]!.summary).toBe("done");
    expect(await modelCalls()).toHaveLength(2);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
    const restarted = (await events(session.id)).filter((e) => e.type === "turn.restarted");
    expect(restarted).toHaveLength(1);
  }, 45_000);
});
