// Branching from an earlier step (POST …/forks/:n/branch with `atStep`): with step snapshots a
// new fork starts where fork n stood before that step — its workspace and its conversation exactly
// — while fork n runs on, and again once its sandbox is gone; without snapshots a commands fork's
// step is rebuilt by replaying its commands, and the new fork's view says which.
import { beforeEach, describe, expect, it } from "vitest";
import { resolveModel } from "../../src/agent/models";
import type { ScriptedReply } from "../support/anthropic-server";
import { api, createRun, gateCommand, getRun, newGate, sandboxAdmin, scriptedModel, waitFor, waitForRunStatus } from "./helpers";

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

async function branch(runId: string, n: number, body: Record<string, unknown>): Promise<Response> {
  return api(`/v1/runs/${runId}/forks/${n}/branch`, { method: "POST", json: body });
}

async function patchOf(runId: string, n: number): Promise<string> {
  const res = await api(`/v1/runs/${runId}/forks/${n}/patch`);
  expect(res.status).toBe(200);
  return res.text();
}

async function refused(runId: string, n: number, body: Record<string, unknown>): Promise<{ status: number; code: string; field?: string }> {
  const res = await branch(runId, n, body);
  const { error } = (await res.json()) as { error: { code: string; details?: { field?: string } } };
  return { status: res.status, code: error.code, field: error.details?.field };
}

const bash = (command: string) => ({ content: [{ type: "tool_use" as const, name: "bash", input: { command } }] });

describe("branching at an earlier step", () => {
  it("with snapshots: the branch at model-2 has a.txt's first version and no b.txt, and its first request's messages are fork 1's at model-2 — while fork 1 runs, and after its sandbox is gone", async () => {
    const gate = newGate();
    const script: ScriptedReply[] = [
      bash("echo one > a.txt"),
      bash("echo two > a.txt"),
      bash(`echo bee > b.txt && ${gateCommand(gate)} && echo wrote-b`),
      { when: { includes: "wrote-b" }, content: [{ type: "text", text: "Fork 1: done." }] },
      { when: { excludes: "wrote-b" }, content: [{ type: "text", text: "Branch: stopped before the edit." }] },
      { when: { excludes: "wrote-b" }, content: [{ type: "text", text: "Second branch: stopped before the edit." }] },
    ];
    await scriptedModel.script(script);
    const run = await createRun({ snapshots: "steps", task: { prompt: "Write a.txt, edit it, write b.txt" } });
    await waitFor("fork 1 at tool-3-1", async () => (await getRun(run.id)).forks[0]!.steps.some((s) => s.name === "tool-3-1" && s.status === "running"), 30_000, 100);

    // Bad steps: not a step, the other kind, one fork 1 has not reached.
    expect(await refused(run.id, 1, { atStep: "tool-2-1" })).toEqual({ status: 400, code: "invalid_input", field: "atStep" });
    expect(await refused(run.id, 1, { atStep: "command-1" })).toEqual({ status: 400, code: "invalid_input", field: "atStep" });
    expect(await refused(run.id, 1, { atStep: "model-5" })).toEqual({ status: 409, code: "step_not_reached", field: "atStep" });
    expect(await refused(run.id, 1, { atStep: "model-2", model: "gpt-4" })).toEqual({ status: 400, code: "invalid_input", field: "model" });

    // While fork 1 waits in its third tool call: the step before its edit, with another model.
    const res = await branch(run.id, 1, { atStep: "model-2", model: "haiku" });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ runId: run.id, forks: [2] });
    const whileRunning = await waitFor("fork 2 ended", async () => {
      const fork = (await getRun(run.id)).forks[1];
      return fork && ["succeeded", "failed"].includes(fork.status) ? fork : undefined;
    });
    expect((await getRun(run.id)).forks[0]!.status).toBe("running");
    await sandboxAdmin.openGate(gate);
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.forks[0]).toMatchObject({ status: "succeeded", diff: { files: 2 } });
    // Fork 1's snapshots are R2 objects: its own repository holds no trace of them (its patch: a.txt and b.txt only).
    expect(ended.forks[0]!.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["snapshot-model-1", "snapshot-model-2", "snapshot-model-3", "snapshot-model-4"]));
    const parentPatch = await patchOf(run.id, 1);
    expect(parentPatch.match(/^diff --git .*$/gm)).toEqual(["diff --git a/a.txt b/a.txt", "diff --git a/b.txt b/b.txt"]);

    // Fork 1's sandbox is gone (released at its end): the same branch again.
    await waitFor("no live sandbox", async () => (await sandboxAdmin.stats()).live === 0, 15_000);
    expect((await branch(run.id, 1, { atStep: "model-2" })).status).toBe(202);
    const again = await waitForRunStatus(run.id, ["completed", "failed"]);

    for (const child of [whileRunning, again.forks[2]!]) {
      expect(child).toMatchObject({ status: "succeeded", parent: { n: 1, turn: 1, atStep: "model-2", rebuiltFrom: "snapshots", rerun: [] }, diff: { files: 1, insertions: 1, deletions: 0 } });
      expect(child.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["branch-rebuild", "model-2"]));
      expect(child.steps.map((s) => s.name)).not.toContain("clone");
      const patch = await patchOf(run.id, child.n);
      expect(patch).toContain("+++ b/a.txt\n@@ -0,0 +1 @@\n+one\n");
      expect(patch).not.toContain("b.txt");
    }
    expect(again.forks[1]!.agent).toMatchObject({ model: resolveModel("haiku"), summary: "Branch: stopped before the edit." });

    // Each branch's first model call sent exactly fork 1's messages at its model-2 (the history before the edit).
    const calls = await scriptedModel.calls();
    expect(calls).toHaveLength(6);
    expect(calls.every((c) => c.status === 200 && !c.scriptExhausted)).toBe(true);
    const parentModel2 = (calls[1]!.body as { messages: unknown[] }).messages;
    // The branches' calls: after fork 1's first two, the ones without its edit in them.
    const firsts = calls.slice(2).filter((c) => !JSON.stringify((c.body as { messages: unknown[] }).messages).includes("echo two"));
    expect(firsts).toHaveLength(2);
    for (const call of firsts) expect((call.body as { messages: unknown[] }).messages).toEqual(parentModel2);
    expect(firsts.map((c) => (c.body as { model: string }).model)).toEqual([resolveModel("haiku"), (calls[0]!.body as { model: string }).model]);
  });

  it("without snapshots: an ended agent fork's earlier step is rebuilt by replaying its tool calls, with its conversation before that step", async () => {
    const gate = newGate();
    await scriptedModel.script([
      bash("echo one > a.txt"),
      bash(`echo two > a.txt && ${gateCommand(gate)}`),
      { when: { includes: "echo two" }, content: [{ type: "text", text: "Fork 1: done." }] },
      { when: { excludes: "echo two" }, content: [{ type: "text", text: "Branch: done." }] },
    ]);
    const run = await createRun({ task: { prompt: "Write a.txt, then edit it" } });
    await waitFor("fork 1 at tool-2-1", async () => (await getRun(run.id)).forks[0]!.steps.some((s) => s.name === "tool-2-1" && s.status === "running"), 30_000, 100);
    // Its journal and conversation are stored when it ends.
    expect(await refused(run.id, 1, { atStep: "model-2" })).toEqual({ status: 409, code: "fork_running", field: "atStep" });
    await sandboxAdmin.openGate(gate);
    await waitForRunStatus(run.id, ["completed"]);
    expect(await refused(run.id, 1, { atStep: "model-4" })).toEqual({ status: 409, code: "step_not_reached", field: "atStep" });

    expect((await branch(run.id, 1, { atStep: "model-2" })).status).toBe(202);
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks[1]).toMatchObject({ status: "succeeded", parent: { n: 1, turn: 1, atStep: "model-2", rebuiltFrom: "journal", rerun: ["bash: echo one > a.txt"] }, agent: { summary: "Branch: done." } });
    const patch = await patchOf(run.id, 2);
    expect(patch).toContain("+++ b/a.txt\n@@ -0,0 +1 @@\n+one\n");
    const calls = await scriptedModel.calls();
    expect(calls).toHaveLength(4);
    expect((calls[3]!.body as { messages: unknown[] }).messages).toEqual((calls[1]!.body as { messages: unknown[] }).messages);
  });

  it("without snapshots: a commands fork's earlier step is rebuilt by replaying its commands, and the new fork says which it re-ran", async () => {
    const run = await createRun({ task: { commands: ["echo one > a.txt", "echo two >> a.txt", "echo three > b.txt"] } });
    await waitForRunStatus(run.id, ["completed"]);
    expect(await refused(run.id, 1, { atStep: "command-4" })).toEqual({ status: 400, code: "invalid_input", field: "atStep" });
    expect(await refused(run.id, 1, { atStep: "model-1" })).toEqual({ status: 400, code: "invalid_input", field: "atStep" });
    expect(await refused(run.id, 1, { atStep: "command-2", model: "haiku" })).toEqual({ status: 400, code: "invalid_input", field: "model" });

    // A retried POST (same Idempotency-Key) starts nothing new; the key with another step is refused.
    const headers = { "Idempotency-Key": `k-${run.id}` };
    const first = await api(`/v1/runs/${run.id}/forks/1/branch`, { method: "POST", json: { atStep: "command-2" }, headers });
    const retried = await api(`/v1/runs/${run.id}/forks/1/branch`, { method: "POST", json: { atStep: "command-2" }, headers });
    expect([first.status, await first.json(), retried.status, await retried.json()]).toEqual([202, { runId: run.id, forks: [2] }, 202, { runId: run.id, forks: [2] }]);
    const other = await api(`/v1/runs/${run.id}/forks/1/branch`, { method: "POST", json: { atStep: "command-3" }, headers });
    expect(other.status).toBe(409);
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const child = view.forks[1]!;
    expect(child).toMatchObject({ n: 2, status: "succeeded", parent: { n: 1, turn: 1, atStep: "command-2", rebuiltFrom: "journal", rerun: ["echo one > a.txt"] } });
    // Command 1 was replayed in the rebuild; commands 2 and 3 ran as the fork's own.
    expect(child.commands.map((c) => c.command)).toEqual(["echo two >> a.txt", "echo three > b.txt"]);
    expect(child.diff).toEqual({ files: 2, insertions: 3, deletions: 0 });
    expect(await patchOf(run.id, 2)).toContain("+one\n+two\n");
  });
});
