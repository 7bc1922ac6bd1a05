import { beforeEach, describe, expect, it } from "vitest";
import type { SessionView } from "../../src/api/sessions";
import { api, sandboxAdmin, scriptedModel } from "./helpers";
import { bash, createSession, getSession, say, send, setScript, transcript, turnEnded, waitForSession, writeFile } from "./session-helpers";

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
});
