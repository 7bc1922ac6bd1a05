// A session's lost sandbox is rebuilt whatever its ancestry (issue 24, item 2): a session continuing
// a plain (no-prepare) run's kept fork is rebuilt from the fork's clone commit and its work (its
// commands, its conversation's tool calls, a Claude Code fork's verified patch), then its own later
// edits; and a sandbox lost outside a tool step — the resume after a budget wait, a forked session's
// work-branch step, a fork of the session at a step boundary — is rebuilt too. No model call is
// made twice.
import { beforeEach, describe, expect, it } from "vitest";
import { Sandbox } from "e2b";
import type { SessionView } from "../../src/api/sessions";
import { api, createRun, e2bOptions, gateCommand, newGate, sandboxAdmin, scriptedModel, waitFor, waitForRunStatus } from "./helpers";
import { bash, createSession, getSession, loseDuringHeldCall, modelCalls, say, send, sessionEvents as events, setScript, transcript, turnEnded, waitForSession, writeFile } from "./session-helpers";

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

/** A session continuing fork 1 of the ended run `runId`. */
async function sessionFromFork(runId: string): Promise<string> {
  const res = await api(`/v1/runs/${runId}/forks/1/session`, { method: "POST" });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const toolOutputs = async (id: string) => (await transcript(id)).flatMap((e) => (e.role === "tool" ? [e.content] : []));
const ofType = async (id: string, type: string) => (await events(id)).filter((e) => e.type === type);

describe("a session continuing a plain run's kept fork", () => {
  it("an agent fork's: lost between turns, rebuilt from the fork's clone and its tool calls; lost mid-turn, with the session's own edits too; no model call repeated", async () => {
    const gate = newGate();
    await setScript([writeFile("fork.txt", "from the fork"), say("Fork done."), writeFile("mine.txt", "session edit"), say("Edited."), bash(`${gateCommand(gate)} && cat fork.txt mine.txt`), say("Both there.")]);
    const run = await createRun({ task: { prompt: "Write fork.txt" }, keepSandboxes: true });
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.forks[0], JSON.stringify(ended.forks[0])).toMatchObject({ status: "succeeded" });
    const id = await sessionFromFork(run.id);

    // Between turns: the kept sandbox is lost before the session's first turn.
    const kept = (await getSession(id)).sandbox.id!;
    await Sandbox.kill(kept, e2bOptions());
    await send(id, "Write mine.txt");
    const two = await waitForSession(id, "turn 2", turnEnded(2));
    expect(two.turns[1], JSON.stringify(two)).toMatchObject({ status: "succeeded", summary: "Edited." });
    expect(two.sandbox.id).not.toBe(kept);

    // Mid-turn (no snapshot: the sandbox never paused): the fork's call, turn 2's, then the held command again.
    await send(id, "Read both");
    const lost = await loseDuringHeldCall(id, gate);
    const three = await waitForSession(id, "turn 3", turnEnded(3));
    expect(three.turns[2], JSON.stringify(three)).toMatchObject({ status: "succeeded", summary: "Both there." });
    expect((await toolOutputs(id)).at(-1)).toBe("from the fork\nsession edit\n[exit code: 0]");
    // 2 for the fork, 2 per session turn: none repeated.
    expect(await modelCalls()).toHaveLength(6);

    expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
    expect(await ofType(id, "sandbox.lost")).toEqual([
      expect.objectContaining({ sandboxId: kept, rebuildFrom: "origin", replay: 1 }),
      expect.objectContaining({ sandboxId: lost, step: "tool-1-1", rebuildFrom: "origin", replay: 2 }),
    ]);
    expect(await ofType(id, "session.rebuilt")).toEqual([
      expect.objectContaining({ from: "origin", replayed: 1, differences: { count: 0, calls: [] } }),
      expect.objectContaining({ from: "origin", replayed: 2, sandboxId: three.sandbox.id, differences: { count: 0, calls: [] } }),
    ]);
  });

  it("a commands fork's: rebuilt from the fork's clone commit and its commands (a session of such a fork had no origin: it failed sandbox_gone)", async () => {
    const run = await createRun({ forks: 1, keepSandboxes: true, task: { commands: ["echo one > one.txt", "mkdir -p out && echo two > out/two.txt"] } });
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.forks[0]?.status).toBe("succeeded");
    const id = await sessionFromFork(run.id);
    await Sandbox.kill((await getSession(id)).sandbox.id!, e2bOptions());

    await setScript([bash("cat one.txt out/two.txt && git status --porcelain"), say("All there.")]);
    await send(id, "Is everything there?");
    const view = await waitForSession(id, "turn 1", turnEnded(1));
    expect(view.turns[0], JSON.stringify(view)).toMatchObject({ status: "succeeded", summary: "All there." });
    expect((await toolOutputs(id)).at(-1)).toBe("one\ntwo\n?? one.txt\n?? out/\n[exit code: 0]");
    expect(await modelCalls()).toHaveLength(2);

    expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
    expect(await ofType(id, "sandbox.lost")).toEqual([expect.objectContaining({ rebuildFrom: "origin", replay: 0, setup: 2 })]);
  });

  it("a Claude Code fork's: rebuilt from the fork's clone commit and its verified patch (its calls ran inside Claude Code), then the session's own edits; a fork of that session keeps its own copy of the patch", async () => {
    const run = await createRun({ task: { prompt: "write cc.txt", runtime: "claude-code" }, keepSandboxes: true });
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.forks[0], JSON.stringify(ended.forks[0])).toMatchObject({ status: "succeeded", diff: { files: 1 } });
    const id = await sessionFromFork(run.id);
    const kept = (await getSession(id)).sandbox.id!;
    await Sandbox.kill(kept, e2bOptions());

    await setScript([writeFile("mine.txt", "session edit"), say("Edited."), bash("cat cc.txt mine.txt"), say("Both there.")]);
    await send(id, "Write mine.txt");
    const one = await waitForSession(id, "turn 1", turnEnded(1));
    expect(one.turns[0], JSON.stringify(one)).toMatchObject({ status: "succeeded", summary: "Edited." });
    // A fork of it, whose parent is then deleted for good (its R2 objects with it), loses its sandbox too.
    const forked = await api(`/v1/sessions/${id}/fork`, { method: "POST", json: { count: 1 } });
    expect(forked.status).toBe(201);
    const child = ((await forked.json()) as { sessions: SessionView[] }).sessions[0]!;
    expect((await api(`/v1/sessions/${id}?purge=true`, { method: "DELETE" })).status).toBe(200);
    await Sandbox.kill(child.sandbox.id!, e2bOptions());

    await send(child.id, "Read both");
    const view = await waitForSession(child.id, "the child's turn", turnEnded(2));
    expect(view.turns[1], JSON.stringify(view)).toMatchObject({ status: "succeeded", summary: "Both there." });
    expect((await toolOutputs(child.id)).at(-1)).toBe("write cc.txt\nsession edit\n[exit code: 0]");
    expect(await modelCalls()).toHaveLength(4);

    expect((await api(`/v1/sessions/${child.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await ofType(child.id, "sandbox.lost")).toEqual([expect.objectContaining({ sandboxId: child.sandbox.id, rebuildFrom: "origin", replay: 1 })]);
    expect(await ofType(child.id, "session.rebuilt")).toEqual([expect.objectContaining({ from: "origin", replayed: 1, differences: { count: 0, calls: [] } })]);
    const steps = (await events(child.id)).flatMap((e) => (e.type === "step.finished" && e.ok ? [e.step as string] : []));
    expect(steps).toContain("rebuild-patch");
  });
});

describe("a session's sandbox lost outside a tool step", () => {
  it("during a budget wait: the resume finds it gone, the turn rebuilds it and makes the call it waited for, once", async () => {
    const session = await createSession({ budgetUsd: 0.000001 });
    await setScript([writeFile("late.txt", "after the wait"), bash("cat late.txt"), say("Made it.")]);
    await send(session.id, "Write late.txt");
    const waiting = await waitForSession(session.id, "the budget wait", (v) => v.sandbox.state === "paused" && v.turns[0]?.status === "running");
    await Sandbox.kill(waiting.sandbox.id!, e2bOptions());
    expect((await api(`/v1/sessions/${session.id}`, { method: "PATCH", json: { budgetUsd: 5 } })).status).toBe(200);

    const view = await waitForSession(session.id, "turn 1", turnEnded(1));
    expect(view.turns[0], JSON.stringify(view)).toMatchObject({ status: "succeeded", summary: "Made it." });
    expect(view.sandbox.id).not.toBe(waiting.sandbox.id);
    expect((await toolOutputs(session.id)).at(-1)).toBe("after the wait\n[exit code: 0]");
    expect(await modelCalls()).toHaveLength(3);

    expect((await api(`/v1/sessions/${session.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await ofType(session.id, "sandbox.lost")).toEqual([expect.objectContaining({ sandboxId: waiting.sandbox.id, step: "budget-resume-1-1", rebuildFrom: "origin", replay: 0 })]);
  });

  it("during a forked session's work-branch step: rebuilt from its origin (its parent's calls) on its own branch, the step runs again", async () => {
    await setScript([writeFile("notes.txt", "from the parent"), say("Parent done."), bash("cat notes.txt && git branch --show-current"), say("Child done.")]);
    const parent = await createSession();
    await waitForSession(parent.id, "setup", (v) => v.status === "idle");
    await send(parent.id, "Write notes.txt");
    await waitForSession(parent.id, "the parent's turn", turnEnded(1));
    const forked = await api(`/v1/sessions/${parent.id}/fork`, { method: "POST", json: { count: 1 } });
    expect(forked.status).toBe(201);
    const child = ((await forked.json()) as { sessions: SessionView[] }).sessions[0]!;
    // The parent is paused, so the child's work-branch command is the next command anywhere: E2B loses the child's sandbox at it.
    expect((await api(`/v1/sessions/${parent.id}/pause`, { method: "POST" })).status).toBe(200);
    await sandboxAdmin.faults([{ op: "process.start", kill: true, sandbox: child.sandbox.id, firstK: 1 }]);

    await send(child.id, "Read notes.txt");
    const view = await waitForSession(child.id, "the child's turn", turnEnded(2));
    expect(view.turns[1], JSON.stringify(view)).toMatchObject({ status: "succeeded", summary: "Child done." });
    expect((await toolOutputs(child.id)).at(-1)).toBe(`from the parent\n${child.workBranch}\n[exit code: 0]`);
    expect(await modelCalls()).toHaveLength(4);

    for (const id of [parent.id, child.id]) expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
    expect(await ofType(child.id, "sandbox.lost")).toEqual([expect.objectContaining({ sandboxId: child.sandbox.id, step: "work-branch", rebuildFrom: "origin", replay: 1 })]);
    const steps = (await events(child.id)).flatMap((e) => (e.type === "step.finished" && e.ok ? [e.step as string] : []));
    expect(steps).toEqual(expect.arrayContaining(["rebuild-at-work-branch-finished", "work-branch-r1"]));
  });

  it("at a fork of the session at a step boundary: rebuilt, then forked from the rebuilt sandbox; the new session has the turn's files", async () => {
    const gate = newGate();
    await setScript([writeFile("notes.txt", "before the fork"), bash(gateCommand(gate)), say("Parent done."), bash("cat notes.txt"), say("Child done.")]);
    const parent = await createSession();
    await waitForSession(parent.id, "setup", (v) => v.status === "idle");
    await send(parent.id, "Write notes.txt, then wait");
    await waitFor("the held call", async () => (await transcript(parent.id)).some((e) => e.role === "assistant" && e.toolCalls.some((c) => JSON.stringify(c.input).includes(gate))));
    const forked = await api(`/v1/sessions/${parent.id}/fork`, { method: "POST", json: { count: 1 } });
    expect(forked.status).toBe(202);
    const childId = ((await forked.json()) as { pending: { id: string }[] }).pending[0]!.id;
    // E2B loses the parent's sandbox at the fork, made at the turn's next step boundary (before its third model call).
    const lost = (await getSession(parent.id)).sandbox.id!;
    await sandboxAdmin.faults([{ op: "fork", kill: true, sandbox: lost, firstK: 1 }]);
    expect(await sandboxAdmin.openGate(gate)).toBe(1);
    // The rebuild replays the held command: its gate is opened in the new sandbox too.
    await waitFor("the rebuilt sandbox", async () => {
      await sandboxAdmin.openGate(gate);
      const id = (await getSession(parent.id)).sandbox.id;
      return id !== lost && id !== null;
    });
    const view = await waitForSession(parent.id, "the parent's turn", turnEnded(1));
    expect(view.turns[0], JSON.stringify(view)).toMatchObject({ status: "succeeded", summary: "Parent done." });

    await send(childId, "Read notes.txt");
    const child = await waitForSession(childId, "the child's turn", turnEnded(2));
    expect(child.turns[1], JSON.stringify(child)).toMatchObject({ status: "succeeded", summary: "Child done." });
    expect((await toolOutputs(childId)).at(-1)).toBe("before the fork\n[exit code: 0]");
    // 3 for the parent's turn, 2 for the child's: none repeated.
    expect(await modelCalls()).toHaveLength(5);

    for (const id of [parent.id, childId]) expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
    expect(await ofType(parent.id, "sandbox.lost")).toEqual([expect.objectContaining({ sandboxId: lost, step: "fork-at-model-3", rebuildFrom: "origin", replay: 2 })]);
    expect(await ofType(parent.id, "session.forked")).toEqual([expect.objectContaining({ sessions: [childId], turn: 1 })]);
    expect(await ofType(parent.id, "session.fork_failed")).toEqual([]);
  });
});
