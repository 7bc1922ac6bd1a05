import { beforeEach, describe, expect, it } from "vitest";
import type { SessionView, TranscriptEntry } from "../../src/api/sessions";
import { api, createRun, sandboxAdmin, scriptedModel, testEnv, waitFor, waitForRunStatus } from "./helpers";
import { bash, createSession, getSession, modelCalls, promptsIn, say, send, setScript, transcript, turnEnded, waitForSession, writeFile } from "./session-helpers";

const toolOutputs = (entries: TranscriptEntry[]) => entries.flatMap((e) => (e.role === "tool" ? [e.content] : []));

/** The session's event stream from the start, read until `until` has appeared twice (or 5 s). */
async function readEvents(id: string, until: string): Promise<string> {
  const reader = (await api(`/v1/sessions/${id}/events?after=0`)).body!.getReader();
  let text = "";
  const deadline = Date.now() + 5_000;
  while (text.split(`event: ${until}\n`).length < 3 && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
    if (chunk?.done) break;
    if (chunk?.value) text += new TextDecoder().decode(chunk.value);
  }
  await reader.cancel();
  return text;
}

/** Deleting kills the sandbox; the server drops it from its table right after answering. */
async function noSandboxesLeft(): Promise<void> {
  await waitFor("no live or paused sandbox", async () => {
    const stats = await sandboxAdmin.stats();
    return stats.live === 0 && stats.pausedNow === 0;
  }, 5_000);
}

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("sessions", () => {
  it("idles at zero compute between turns: paused between them, resumed for the next, which sees the earlier work and history", async () => {
    const session = await createSession({ idleSeconds: 1, title: "notes" });
    expect(session.status).toBe("setting_up");
    const ready = await waitForSession(session.id, "setup", (v) => v.status !== "setting_up");
    expect(ready).toMatchObject({ status: "idle", title: "notes", workBranch: `forkyard/s/${session.id}`, sandbox: { state: "running" } });

    await setScript([writeFile("notes.txt", "written in turn one"), say("I wrote notes.txt.")]);
    expect(await send(session.id, "Write notes.txt")).toBe(1);
    const afterOne = await waitForSession(session.id, "turn 1", turnEnded(1));
    expect(afterOne.turns[0]).toMatchObject({ n: 1, status: "succeeded", stopReason: "end_turn", toolCalls: 1, summary: "I wrote notes.txt." });

    // Idle past idleSeconds: the sandbox is paused, not live, and its time stops costing.
    const paused = await waitForSession(session.id, "idle pause", (v) => v.status === "paused", 20_000);
    expect(paused.sandbox.state).toBe("paused");
    const stats = await sandboxAdmin.stats();
    expect(stats).toMatchObject({ live: 0, pausedNow: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await getSession(session.id)).costUsd.sandbox).toBe(paused.costUsd.sandbox);

    await setScript([bash("cat notes.txt"), say("It says: written in turn one.")]);
    expect(await send(session.id, "What does notes.txt say?")).toBe(2);
    const afterTwo = await waitForSession(session.id, "turn 2", turnEnded(2));
    expect(afterTwo.turns[1]).toMatchObject({ n: 2, status: "succeeded", toolCalls: 1 });
    expect((await sandboxAdmin.stats()).resumed).toBeGreaterThanOrEqual(1);
    expect(toolOutputs(await transcript(session.id)).some((o) => o.includes("written in turn one"))).toBe(true);

    // The second turn's first model call carries the first turn's conversation.
    const calls = await modelCalls();
    expect(calls).toHaveLength(4);
    expect(promptsIn(calls[2]!)).toEqual(["Write notes.txt", "What does notes.txt say?"]);
    expect(afterTwo.costUsd.llm).toBeGreaterThan(0);
    expect(afterTwo.costUsd.total).toBeCloseTo(afterTwo.costUsd.llm + afterTwo.costUsd.sandbox, 8);

    const events = await readEvents(session.id, "turn.finished");
    for (const type of ["session.created", "session.ready", "turn.queued", "turn.started", "step.finished", "tool.output", "sandbox.paused", "sandbox.resumed", "turn.finished"]) {
      expect(events).toContain(`event: ${type}\n`);
    }

    const deleted = await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as SessionView).status).toBe("destroyed");
    await noSandboxesLeft();
    expect((await transcript(session.id)).length).toBeGreaterThan(0);
    const refused = await api(`/v1/sessions/${session.id}/messages`, { method: "POST", json: { prompt: "more" } });
    expect(refused.status).toBe(409);

    const metrics = await (await api("/metrics")).text();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\d+)`, "m").exec(metrics)?.[1] ?? -1);
    expect(value('forkyard_sessions{status="destroyed"}')).toBeGreaterThanOrEqual(1);
    expect(value('forkyard_session_turns_total{status="succeeded"}')).toBeGreaterThanOrEqual(2);
    expect(value("forkyard_session_turn_duration_seconds_count")).toBeGreaterThanOrEqual(2);
  });

  it("runs messages sent at once in order, one turn each", async () => {
    const session = await createSession();
    await setScript([say("one"), say("two"), say("three")]);
    const turns = [await send(session.id, "first"), await send(session.id, "second"), await send(session.id, "third")];
    expect(turns).toEqual([1, 2, 3]);
    const view = await waitForSession(session.id, "three turns", turnEnded(3));
    expect(view.turns.map((t) => [t.prompt, t.status, t.summary])).toEqual([
      ["first", "succeeded", "one"],
      ["second", "succeeded", "two"],
      ["third", "succeeded", "three"],
    ]);
    for (let i = 1; i < 3; i++) expect(Date.parse(view.turns[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(view.turns[i - 1]!.finishedAt!));
    const calls = await modelCalls();
    expect(calls.map((c) => promptsIn(c).at(-1))).toEqual(["first", "second", "third"]);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });

  it("forks into sessions with the parent's history and a copy of its workspace, independent afterwards", async () => {
    const parent = await createSession({ title: "parent" });
    await setScript([writeFile("shared.txt", "from the parent"), say("done")]);
    await send(parent.id, "Write shared.txt");
    const parentView = await waitForSession(parent.id, "parent turn", turnEnded(1));

    const res = await api(`/v1/sessions/${parent.id}/fork`, { method: "POST", json: { count: 2 } });
    expect(res.status).toBe(201);
    const { sessions } = (await res.json()) as { sessions: SessionView[] };
    expect(sessions).toHaveLength(2);
    for (const [i, child] of sessions.entries()) {
      expect(child).toMatchObject({ status: "idle", parent: { sessionId: parent.id, turn: 1 }, title: `parent (fork ${i + 1} of 2)` });
      expect(child.turns.map((t) => [t.n, t.prompt, t.status, t.summary])).toEqual(parentView.turns.map((t) => [t.n, t.prompt, t.status, t.summary]));
      expect(child.sandbox.id).not.toBe(parentView.sandbox.id);
    }
    const [a, b] = sessions as [SessionView, SessionView];
    expect((await transcript(a.id)).map((e) => e.role)).toEqual((await transcript(parent.id)).map((e) => e.role));

    await setScript([writeFile("only-a.txt", "a"), say("wrote it")]);
    await send(a.id, "Write only-a.txt");
    await waitForSession(a.id, "fork a turn", turnEnded(2));
    const probe = "cat shared.txt; test -e only-a.txt && echo A-PRESENT || echo A-ABSENT";
    for (const id of [b.id, parent.id]) {
      await setScript([bash(probe), say("checked")]);
      await send(id, "Check the files");
      const view = await waitForSession(id, "probe turn", turnEnded(2));
      expect(view.turns[1]!.status).toBe("succeeded");
      const outputs = toolOutputs(await transcript(id)).join("\n");
      expect(outputs).toContain("from the parent");
      expect(outputs).toContain("A-ABSENT");
    }

    for (const id of [a.id, b.id, parent.id]) expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
    await noSandboxesLeft();
    const listed = await api("/v1/sessions?status=destroyed&limit=100");
    const ids = ((await listed.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id, parent.id]));
  });

  it("cancels the running turn at its next step; the queued message runs next with it in its history", async () => {
    const session = await createSession();
    await setScript([bash("sleep 2 && echo slept"), say("never sent"), say("the second reply")]);
    await send(session.id, "first");
    await send(session.id, "second");
    await waitFor("turn 1's tool call", async () => (await transcript(session.id)).some((e) => e.role === "assistant"));
    const cancelled = await api(`/v1/sessions/${session.id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    const view = await waitForSession(session.id, "both turns", turnEnded(2));
    expect(view.turns.map((t) => t.status)).toEqual(["cancelled", "succeeded"]);
    expect(view.turns[1]!.summary).toBe("never sent");
    const calls = await modelCalls();
    // One call for the cancelled turn (its tool call ran to its end), one for the second turn, which sees it.
    expect(calls).toHaveLength(2);
    expect(promptsIn(calls[1]!)).toEqual(["first", "second"]);
    expect(JSON.stringify((calls[1]!.body as { messages: unknown }).messages)).toContain("slept");
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });

  it("waits out a spent budget with its sandbox paused, and continues the same turn when it is raised", async () => {
    const session = await createSession({ budgetUsd: 0.000001 });
    await setScript([say("made it")]);
    await send(session.id, "go");
    await waitForSession(session.id, "the budget wait", (v) => v.sandbox.state === "paused" && v.turns[0]?.status === "running");
    expect(await modelCalls()).toHaveLength(0);
    expect((await sandboxAdmin.stats()).live).toBe(0);
    const raised = await api(`/v1/sessions/${session.id}`, { method: "PATCH", json: { budgetUsd: 5 } });
    expect(raised.status).toBe(200);
    const view = await waitForSession(session.id, "the turn", turnEnded(1));
    expect(view.turns[0]).toMatchObject({ status: "succeeded", summary: "made it" });
    expect(view.budgetUsd).toBe(5);
    expect(await modelCalls()).toHaveLength(1);
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });

  it("continues a run's agent fork as a session: its kept workspace and its conversation", async () => {
    await setScript([writeFile("fork.txt", "from the fork"), say("fork done")]);
    const run = await createRun({ task: { prompt: "Write fork.txt" }, keepSandboxes: true, budgetUsd: 2 });
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.forks[0]).toMatchObject({ status: "succeeded", keptUntil: expect.any(String) });
    expect(await sandboxAdmin.stats()).toMatchObject({ live: 0, pausedNow: 1 });

    const res = await api(`/v1/runs/${run.id}/forks/1/session`, { method: "POST" });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const view = await getSession(id);
    expect(view).toMatchObject({ status: "paused", run: { id: run.id, fork: 1 }, workBranch: ended.forks[0]!.branch, sandbox: { state: "paused" } });
    // It inherits what the run had left of its budget.
    expect(ended.totals.costUsd.total).toBeGreaterThan(0);
    expect(view.budgetUsd).toBeCloseTo(2 - ended.totals.costUsd.total, 5);
    expect(view.turns).toEqual([expect.objectContaining({ n: 1, prompt: "Write fork.txt", status: "succeeded", summary: "fork done", toolCalls: 1 })]);
    expect((await api(`/v1/runs/${run.id}/forks/1/session`, { method: "POST" })).status).toBe(409);

    await setScript([bash("cat fork.txt"), say("saw it")]);
    await send(id, "What is in fork.txt?");
    const after = await waitForSession(id, "the session's turn", turnEnded(2));
    expect(after.turns[1]).toMatchObject({ status: "succeeded", summary: "saw it" });
    expect(toolOutputs(await transcript(id)).join("\n")).toContain("from the fork");
    const calls = await modelCalls();
    expect(promptsIn(calls[2]!)).toEqual(["Write fork.txt", "What is in fork.txt?"]);
    expect(JSON.stringify((calls[2]!.body as { messages: unknown }).messages)).toContain("fork.txt");
    await api(`/v1/sessions/${id}`, { method: "DELETE" });
    await noSandboxesLeft();
  });

  it("refuses to continue a fork whose sandbox was not kept", async () => {
    const run = await createRun({ task: { commands: ["true"] } });
    await waitForRunStatus(run.id, ["completed"]);
    const res = await api(`/v1/runs/${run.id}/forks/1/session`, { method: "POST" });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("sandbox_not_kept");
  });

  it("rejects bad input with the field at fault, and unknown sessions with 404", async () => {
    const bad = await api("/v1/sessions", { method: "POST", json: { repo: testEnv.TEST_REPO, idleSeconds: 0 } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { field: string } } }).error.details.field).toBe("idleSeconds");
    expect((await api("/v1/sessions/saaaaaaaaaaaaaaaaaaaa")).status).toBe(404);
    expect((await api("/v1/sessions/saaaaaaaaaaaaaaaaaaaa/messages", { method: "POST", json: { prompt: "x" } })).status).toBe(404);
    expect((await api("/v1/sessions/nope")).status).toBe(404);
  });

  it("takes a size profile: its template and its vCPU and memory for the sandbox cost", async () => {
    const profiles = ((await (await api("/v1/profiles")).json()) as { profiles: Record<string, { template: string; vcpu: number; memoryGib: number }> }).profiles;
    const session = await createSession({ profile: "heavy" });
    const view = await getSession(session.id);
    expect(view.sandbox).toMatchObject({ profile: "heavy", templateId: profiles.heavy!.template, vcpu: profiles.heavy!.vcpu, memoryGib: profiles.heavy!.memoryGib });
    await waitForSession(session.id, "setup", (v) => v.status !== "setting_up");
    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
  });
});
