// A session's sandbox lost DURING a turn (issue 24, item 2): the tool step that finds it gone has
// the workspace rebuilt — here a fork of a session, with no snapshot, so from its origin: its
// parent's clone and tool calls, then this turn's finished ones — and runs the interrupted call
// again in the new sandbox. No model call is made twice.
import { beforeEach, describe, expect, it } from "vitest";
import { Sandbox } from "e2b";
import type { SessionView } from "../../src/api/sessions";
import { api, createRun, e2bOptions, gateCommand, newGate, sandboxAdmin, scriptedModel, waitForRunStatus } from "./helpers";
import { bash, createSession, getSession, loseDuringHeldCall, modelCalls, say, send, sessionEvents as events, setScript, transcript, turnEnded, waitForSession, writeFile } from "./session-helpers";

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("a sandbox lost during a turn", () => {
  it("is rebuilt from the last snapshot and this turn's finished calls, the call runs again; lost again in that call, the turn fails but the session does not: the next turn rebuilds", async () => {
    const gate = newGate();
    const held = `${gateCommand(gate)} && cat notes.txt two.txt`;
    await setScript([writeFile("notes.txt", "turn one"), say("One."), bash("echo two > two.txt"), bash(held), bash("cat notes.txt two.txt"), say("Three.")]);
    const session = await createSession();
    await waitForSession(session.id, "setup", (v) => v.status === "idle");
    await send(session.id, "Write notes.txt");
    await waitForSession(session.id, "turn 1", turnEnded(1));
    expect((await api(`/v1/sessions/${session.id}/pause`, { method: "POST" })).status).toBe(200);
    await waitForSession(session.id, "paused", (v) => v.sandbox.state === "paused");

    await send(session.id, "Write two.txt, then read both");
    const lost = await loseDuringHeldCall(session.id, gate, false);
    // The rebuilt sandbox is lost too, in the same call (its re-run, held by the gate): the turn fails.
    await Sandbox.kill((await getSession(session.id)).sandbox.id!, e2bOptions());
    const two = await waitForSession(session.id, "turn 2", turnEnded(2));
    expect(two.turns[1], JSON.stringify(two)).toMatchObject({ status: "failed", error: expect.objectContaining({ code: "sandbox_gone" }) });
    expect(two.status).toBe("idle");

    await send(session.id, "Read both");
    const three = await waitForSession(session.id, "turn 3", turnEnded(3));
    expect(three.turns[2], JSON.stringify(three)).toMatchObject({ status: "succeeded", summary: "Three." });
    expect((await transcript(session.id)).flatMap((e) => (e.role === "tool" ? [e.content] : [])).at(-1)).toBe("turn one\ntwo\n[exit code: 0]");
    // 2 per turn: none repeated (turn 2 stopped in its second tool call).
    expect(await modelCalls()).toHaveLength(6);

    expect((await api(`/v1/sessions/${session.id}`, { method: "DELETE" })).status).toBe(200);
    const log = await events(session.id);
    expect(log.filter((e) => e.type === "sandbox.lost")).toEqual([
      expect.objectContaining({ sandboxId: lost, step: "tool-2-1", rebuildFrom: "snapshot", replay: 1 }),
      expect.objectContaining({ fork: 3, rebuildFrom: "snapshot", replay: 1 }),
    ]);
    expect(log.filter((e) => e.type === "session.rebuilt")).toEqual([
      expect.objectContaining({ from: "snapshot", replayed: 1, differences: { count: 0, calls: [] } }),
      expect.objectContaining({ from: "snapshot", replayed: 1, sandboxId: three.sandbox.id }),
    ]);
  });

  it("is rebuilt by the tool step that finds it gone (a fork of a session, from its origin: its parent's calls and this turn's), the call runs again, no model call repeated", async () => {
    const gate = newGate();
    const held = `${gateCommand(gate)} && cat notes.txt mid.txt`;
    await setScript([writeFile("notes.txt", "from the parent"), say("Parent done."), writeFile("mid.txt", "before the loss"), bash(held), say("Child done.")]);
    const parent = await createSession();
    await waitForSession(parent.id, "setup", (v) => v.status === "idle");
    await send(parent.id, "Write notes.txt");
    await waitForSession(parent.id, "the parent's turn", turnEnded(1));
    const forked = await api(`/v1/sessions/${parent.id}/fork`, { method: "POST", json: { count: 1 } });
    expect(forked.status).toBe(201);
    const child = ((await forked.json()) as { sessions: SessionView[] }).sessions[0]!;

    await send(child.id, "Write mid.txt, then read both");
    // The turn's second model answer (the held command) is recorded: its tool step runs, or is about to.
    const lost = await loseDuringHeldCall(child.id, gate);

    const view = await waitForSession(child.id, "the child's turn", turnEnded(2));
    expect(view.turns[1], JSON.stringify(view)).toMatchObject({ status: "succeeded", summary: "Child done.", toolCalls: 2 });
    expect(view.status).toBe("idle");
    // The parent's file (replayed from its turn) and this turn's (replayed from its finished call).
    const outputs = (await transcript(child.id)).flatMap((e) => (e.role === "tool" ? [e.content] : []));
    expect(outputs.at(-1)).toBe("from the parent\nbefore the loss\n[exit code: 0]");
    // 2 for the parent's turn, 3 for the child's: none repeated.
    expect(await modelCalls()).toHaveLength(5);

    for (const id of [parent.id, child.id]) expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
    const log = await events(child.id);
    expect(log.filter((e) => e.type === "sandbox.lost")).toEqual([expect.objectContaining({ sandboxId: lost, step: "tool-2-1", rebuildFrom: "origin", replay: 2 })]);
    expect(log.filter((e) => e.type === "session.rebuilt")).toEqual([expect.objectContaining({ from: "origin", replayed: 2, sandboxId: view.sandbox.id, differences: { count: 0, calls: [] } })]);
    const steps = log.flatMap((e) => (e.type === "step.finished" && e.ok ? [e.step as string] : []));
    expect(steps).toEqual(expect.arrayContaining(["rebuild-at-tool-2-1-plan", "rebuild-at-tool-2-1-acquire-sandbox", "rebuild-at-tool-2-1-clone", "rebuild-at-tool-2-1-replay-1", "rebuild-at-tool-2-1-finished", "tool-2-1-r1"]));
  });

  it("a session continuing a prepared run's fork, lost with no snapshot, is rebuilt from its origin: the prepared commit, the prepare commands (still kept out of git) and the fork's commands", async () => {
    const run = await createRun({ forks: 1, keepSandboxes: true, prepare: { commands: ["echo prepared > prepared.txt", "mkdir -p build && echo built > build/out.txt"] }, task: { commands: ["echo task > task.txt"] } });
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.prepared?.status).toBe("forked");
    const res = await api(`/v1/runs/${run.id}/forks/1/session`, { method: "POST" });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const lost = (await getSession(id)).sandbox.id!;
    await Sandbox.kill(lost, e2bOptions());

    await setScript([bash("cat prepared.txt build/out.txt task.txt && git status --porcelain"), say("All there.")]);
    await send(id, "Is everything there?");
    const view = await waitForSession(id, "turn 1", turnEnded(1));
    expect(view.turns[0], JSON.stringify(view)).toMatchObject({ status: "succeeded" });
    expect(view.sandbox.id).not.toBe(lost);
    expect((await transcript(id)).flatMap((e) => (e.role === "tool" ? [e.content] : [])).at(-1)).toBe("prepared\nbuilt\ntask\n?? task.txt\n[exit code: 0]");
    expect(await modelCalls()).toHaveLength(2);

    expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
    const log = await events(id);
    expect(log.filter((e) => e.type === "sandbox.lost")).toEqual([expect.objectContaining({ rebuildFrom: "origin", replay: 0, setup: 4 })]);
    expect(log.filter((e) => e.type === "session.rebuilt")).toEqual([expect.objectContaining({ from: "origin", replayed: 0, differences: { count: 0, calls: [] } })]);
  });
});
