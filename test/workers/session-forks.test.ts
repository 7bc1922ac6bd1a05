import { beforeEach, describe, expect, it } from "vitest";
import type { SessionView } from "../../src/api/sessions";
import { api, gateCommand, newGate, sandboxAdmin, scriptedModel, waitFor } from "./helpers";
import { bash, createSession, getSession, modelCalls, say, send, setScript, transcript, turnEnded, waitForSession, writeFile } from "./session-helpers";

async function fork(id: string, body: Record<string, unknown>): Promise<SessionView[]> {
  const res = await api(`/v1/sessions/${id}/fork`, { method: "POST", json: body });
  if (res.status !== 201) throw new Error(`POST fork: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sessions: SessionView[] }).sessions;
}

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("forking a session", () => {
  it("gives each new session its own work branch, a distinct title and an even share of the parent's remaining budget", async () => {
    const parent = await createSession({ title: "parent", budgetUsd: 1 });
    await setScript([writeFile("p.txt", "from the parent"), say("done")]);
    await send(parent.id, "Write p.txt");
    await waitForSession(parent.id, "parent turn", turnEnded(1));
    // Paused, the parent's spend stands still: what is left of its budget is known.
    expect((await api(`/v1/sessions/${parent.id}/pause`, { method: "POST" })).status).toBe(200);
    const before = await getSession(parent.id);
    const left = 1 - before.costUsd.total;
    expect(before.costUsd.total).toBeGreaterThan(0);

    const children = await fork(parent.id, { count: 3 });
    expect(children.map((c) => c.title)).toEqual(["parent (fork 1 of 3)", "parent (fork 2 of 3)", "parent (fork 3 of 3)"]);
    expect(children.map((c) => c.workBranch)).toEqual(children.map((c) => `forkyard/s/${c.id}`));
    for (const child of children) {
      expect(child.budgetUsd).toBeCloseTo(left / 3, 5);
      expect(child.budgetUsd!).toBeLessThanOrEqual(left / 3);
    }
    const after = await getSession(parent.id);
    expect([after.title, after.workBranch, after.budgetUsd]).toEqual(["parent", before.workBranch, 1]);

    // The child's first turn works on its own branch, in its copy of the parent's workspace.
    const child = children[1]!;
    await setScript([bash("git rev-parse --abbrev-ref HEAD; cat p.txt"), say("checked")]);
    await send(child.id, "Where am I?");
    const ran = await waitForSession(child.id, "the child's turn", turnEnded(2));
    expect(ran.turns[1]).toMatchObject({ status: "succeeded", summary: "checked" });
    const output = (await transcript(child.id)).flatMap((e) => (e.role === "tool" ? [e.content] : [])).at(-1);
    expect(output).toBe(`forkyard/s/${child.id}\nfrom the parent\n[exit code: 0]`);

    // Budgets asked for: one each, or one for all.
    const bad = await api(`/v1/sessions/${parent.id}/fork`, { method: "POST", json: { count: 3, budgetUsd: [1, 2] } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { field: string } } }).error.details.field).toBe("budgetUsd");
    const [single] = await fork(parent.id, { count: 1, budgetUsd: 0.25 });
    expect(single).toMatchObject({ title: "parent (fork)", budgetUsd: 0.25, workBranch: `forkyard/s/${single!.id}` });

    for (const s of [parent, ...children, single!]) expect((await api(`/v1/sessions/${s.id}`, { method: "DELETE" })).status).toBe(200);
  });

  it("forks mid-turn at the running turn's next step boundary: the turn as far as it got and the workspace of that moment", async () => {
    const gate = newGate();
    const held = `${gateCommand(gate)} && echo mid > mid.txt && echo wrote`;
    await setScript([bash(held), say("parent done"), bash("cat mid.txt; git rev-parse --abbrev-ref HEAD"), say("child saw it")]);
    const parent = await createSession({ title: "live" });
    await send(parent.id, "work");
    await waitFor("the parent's tool call", async () => (await transcript(parent.id)).some((e) => e.role === "assistant"));

    // Asked while the tool call runs: made at the boundary after it (before the turn's next model call).
    const res = await api(`/v1/sessions/${parent.id}/fork`, { method: "POST", json: { count: 2 } });
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { sessions: unknown[]; pending: { id: string; title: string }[]; turn: number };
    expect(answer).toMatchObject({ sessions: [], turn: 1 });
    expect(answer.pending.map((p) => p.title)).toEqual(["live (fork 1 of 2)", "live (fork 2 of 2)"]);
    const [a, b] = answer.pending.map((p) => p.id) as [string, string];
    expect((await api(`/v1/sessions/${a}`)).status).toBe(404);

    await sandboxAdmin.openGate(gate);
    const parentView = await waitForSession(parent.id, "the parent's turn", turnEnded(1));
    expect(parentView.turns[0]).toMatchObject({ status: "succeeded", summary: "parent done" });
    for (const id of [a, b]) {
      const child = await waitForSession(id, "the forked session", (v) => v.status === "idle");
      expect(child).toMatchObject({ parent: { sessionId: parent.id, turn: 1 }, workBranch: `forkyard/s/${id}` });
      expect(child.turns).toEqual([expect.objectContaining({ n: 1, prompt: "work", status: "cancelled", error: expect.objectContaining({ code: "forked" }), toolCalls: 1 })]);
      // The turn as far as the boundary: its tool call and result, not the parent's closing words.
      expect((await transcript(id)).map((e) => (e.role === "tool" ? `tool:${e.content}` : e.role))).toEqual(["user", "assistant", "tool:wrote\n[exit code: 0]"]);
    }

    // The workspace of the same moment: the tool call's file, on the child's own branch.
    await send(a, "look");
    const ran = await waitForSession(a, "the child's turn", turnEnded(2));
    expect(ran.turns[1]).toMatchObject({ status: "succeeded", summary: "child saw it" });
    expect((await transcript(a)).flatMap((e) => (e.role === "tool" ? [e.content] : [])).at(-1)).toBe(`mid\nforkyard/s/${a}\n[exit code: 0]`);
    const calls = await modelCalls();
    const lastMessages = JSON.stringify((calls.at(-2)!.body as { messages: unknown }).messages);
    expect(lastMessages).toContain("wrote");
    expect(lastMessages).not.toContain("parent done");

    for (const id of [parent.id, a, b]) expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
  });
});
