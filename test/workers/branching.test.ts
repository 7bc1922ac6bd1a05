// Branching a fork: new forks of the same run start from a fork's workspace (and conversation) as
// it is at its next step boundary, or from its kept sandbox once it has ended; the fork itself
// carries on unaffected and no model call is made twice.
import { beforeEach, describe, expect, it } from "vitest";
import type { ScriptedReply } from "../support/anthropic-server";
import { Sandbox } from "e2b";
import { api, createRun, e2bOptions, gateCommand, getRun, newGate, sandboxAdmin, scriptedModel, waitFor, waitForListedRun, waitForRunStatus } from "./helpers";

const BRANCH_PROMPT = "Now also write b.txt";

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

async function branch(runId: string, n: number, body: Record<string, unknown>): Promise<Response> {
  return api(`/v1/runs/${runId}/forks/${n}/branch`, { method: "POST", json: body });
}

/** Waits until fork n's running step is `step` (e.g. a tool call waiting on a gate). */
async function waitForRunningStep(runId: string, n: number, step: string): Promise<void> {
  await waitFor(`fork ${n} running ${step}`, async () => (await getRun(runId)).forks.find((f) => f.n === n)?.steps.some((s) => s.name === step && s.status === "running"), 30_000, 100);
}

async function noSandboxLeft(): Promise<void> {
  await waitFor("no live sandbox", async () => (await sandboxAdmin.stats()).live === 0, 15_000);
}

describe("branching a fork", () => {
  it("branches a running agent fork: the new fork's first model call carries the parent's transcript, the parent continues, no call repeats", async () => {
    // The parent's tool call waits on a gate, opened once the branch is asked for: it is taken at the next boundary.
    const gate = newGate();
    const script: ScriptedReply[] = [
      { content: [{ type: "tool_use", name: "bash", input: { command: `echo one > a.txt && ${gateCommand(gate)} && echo wrote-a` } }] },
      { when: { excludes: BRANCH_PROMPT }, content: [{ type: "text", text: "Parent: done with a.txt." }] },
      { when: { includes: BRANCH_PROMPT }, content: [{ type: "tool_use", name: "bash", input: { command: "cat a.txt && echo two > b.txt" } }] },
      { when: { includes: BRANCH_PROMPT }, content: [{ type: "text", text: "Branch: wrote b.txt as well." }] },
    ];
    await scriptedModel.script(script);
    const run = await createRun({ task: { prompt: "Write a.txt" } });
    await waitForRunningStep(run.id, 1, "tool-1-1");

    const res = await branch(run.id, 1, { count: 1, prompt: BRANCH_PROMPT });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ runId: run.id, forks: [2] });
    const queued = await getRun(run.id);
    expect(queued.forks[1]).toMatchObject({ n: 2, status: "queued", parent: { n: 1, turn: null } });
    await sandboxAdmin.openGate(gate);

    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const [parent, child] = view.forks;
    expect(parent).toMatchObject({ status: "succeeded", diff: { files: 1 } });
    expect(parent!.agent).toMatchObject({ turns: 2, summary: "Parent: done with a.txt." });
    expect(parent!.steps.map((s) => s.name)).toContain("branch-at-model-2");
    // The branch started from fork 1 after its first model call and tool call: a.txt is there, no clone.
    expect(child).toMatchObject({ n: 2, status: "succeeded", parent: { n: 1, turn: 1 }, diff: { files: 2 } });
    expect(child!.agent).toMatchObject({ turns: 2, toolCalls: 1, summary: "Branch: wrote b.txt as well." });
    expect(child!.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["branch", "model-1", "tool-1-1", "model-2"]));
    expect(child!.steps.map((s) => s.name)).not.toContain("clone");

    // Four scripted replies, four calls: each answered once, none repeated.
    const calls = await scriptedModel.calls();
    expect(calls).toHaveLength(4);
    expect(calls.every((c) => c.status === 200 && !c.scriptExhausted)).toBe(true);
    const childCalls = calls.filter((c) => JSON.stringify(c.body).includes(BRANCH_PROMPT));
    expect(childCalls).toHaveLength(2);
    // Its first call carries the parent's conversation: the task, the parent's tool call and its result, then the new prompt.
    const first = JSON.stringify((childCalls[0]!.body as { messages: unknown[] }).messages);
    for (const part of ["Write a.txt", "echo one > a.txt", "wrote-a", BRANCH_PROMPT]) expect(first).toContain(part);
    expect(first.indexOf("wrote-a")).toBeLessThan(first.indexOf(BRANCH_PROMPT));

    const stats = await sandboxAdmin.stats();
    // The parent's sandbox (the child's is forked from it), then each fork's verification sandbox.
    expect(stats.calls.create).toBe(1 + 2);
    expect(stats.forked).toBe(1);
    await noSandboxLeft();
  });

  it("a session continuing a branched agent fork has the whole conversation: its parent's exchange, then its own", async () => {
    const gate = newGate();
    await scriptedModel.script([
      { content: [{ type: "tool_use", name: "bash", input: { command: `echo one > a.txt && ${gateCommand(gate)}` } }] },
      { when: { excludes: BRANCH_PROMPT }, content: [{ type: "text", text: "Parent: done." }] },
      { when: { includes: BRANCH_PROMPT }, content: [{ type: "text", text: "Branch: done." }] },
    ]);
    const run = await createRun({ keepSandboxes: true, task: { prompt: "Write a.txt" } });
    await waitForRunningStep(run.id, 1, "tool-1-1");
    expect((await branch(run.id, 1, { count: 1, prompt: BRANCH_PROMPT })).status).toBe(202);
    await sandboxAdmin.openGate(gate);
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.forks[1]).toMatchObject({ status: "succeeded", parent: { n: 1, turn: 1 } });

    const res = await api(`/v1/runs/${run.id}/forks/2/session`, { method: "POST" });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const session = (await (await api(`/v1/sessions/${id}`)).json()) as { turns: { n: number; prompt: string; summary: string | null; toolCalls: number; costUsd: number }[] };
    // The parent's exchange up to the branch (its task, one tool call; its cost stays the parent's), then the branch's own.
    expect(session.turns).toEqual([
      expect.objectContaining({ n: 1, prompt: "Write a.txt", toolCalls: 1, costUsd: 0 }),
      expect.objectContaining({ n: 2, prompt: BRANCH_PROMPT, summary: "Branch: done." }),
    ]);
    await api(`/v1/sessions/${id}`, { method: "DELETE" });
    await Sandbox.kill(ended.forks[0]!.sandboxId!, e2bOptions());
    await waitFor("no paused sandbox", async () => (await sandboxAdmin.stats()).pausedNow === 0, 15_000);
  });

  it("branches a running commands fork N ways: each new fork runs the rest of the commands in a copy of its workspace", async () => {
    const gate = newGate();
    const run = await createRun({ task: { commands: ["echo one > a.txt", gateCommand(gate), 'echo "$FORKYARD_FORK" > c.txt && cat a.txt c.txt'] } });
    await waitForRunningStep(run.id, 1, "command-2");
    const res = await branch(run.id, 1, { count: 2 });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { forks: number[] }).forks).toEqual([2, 3]);
    await sandboxAdmin.openGate(gate);

    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(view.forks[0]!.commands).toHaveLength(3);
    for (const child of view.forks.slice(1)) {
      expect(child.parent).toEqual({ n: 1, turn: 2 });
      // Only the third command ran in the branch; a.txt came from the parent's workspace.
      expect(child.commands.map((c) => c.command)).toEqual(['echo "$FORKYARD_FORK" > c.txt && cat a.txt c.txt']);
      expect(child.commands[0]!.stdoutTail).toBe(`one\n${child.n}\n`);
      expect(child.diff).toEqual({ files: 2, insertions: 2, deletions: 0 });
    }
    // The runs list counts the branched forks too ("3 / 3 succeeded", not "3 / 1").
    const row = await waitForListedRun(run.id, (r) => r.status === "completed" && r.succeeded === 3);
    expect(row).toMatchObject({ forks: 3, succeeded: 3, failed: 0, cancelled: 0, budgetExceeded: 0 });
    const stats = await sandboxAdmin.stats();
    // The parent's sandbox (the children's are forked from it), then each fork's verification sandbox.
    expect(stats.calls.create).toBe(1 + 3);
    expect(stats.calls.fork).toBe(1);
    expect(stats.forked).toBe(2);
    await noSandboxLeft();
  });

  it("a branch with no room for its sandboxes now waits at that boundary and is taken there when room frees", async () => {
    const gate = newGate();
    const run = await createRun({ task: { commands: ["echo one > a.txt", gateCommand(gate), "cat a.txt"] } });
    await waitForRunningStep(run.id, 1, "command-2");
    // The first two forks of the sandbox find no room (E2B's 429): the fork waits, then takes it.
    await sandboxAdmin.faults([{ op: "fork", status: 429, firstK: 2 }]);
    expect((await branch(run.id, 1, { count: 1 })).status).toBe(202);
    await sandboxAdmin.openGate(gate);

    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
    // Taken at the boundary where it found no room (before command-3), not at a later one.
    expect(view.forks[1]!.parent).toEqual({ n: 1, turn: 2 });
    expect(view.forks[1]!.commands.map((c) => c.stdoutTail)).toEqual(["one\n"]);
    const branchSteps = view.forks[0]!.steps.map((s) => s.name).filter((name) => name.startsWith("branch-at-"));
    expect(branchSteps).toEqual(["branch-at-command-3", "branch-at-command-3-2", "branch-at-command-3-3"]);
    expect((await sandboxAdmin.stats()).calls.fork).toBe(3);
    await noSandboxLeft();
  });

  it("branches an ended fork whose sandbox was kept: the run runs again for the new fork", async () => {
    const run = await createRun({ keepSandboxes: true, task: { commands: ["echo one > a.txt", "echo kept"] } });
    const ended = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(ended.forks[0]!.keptUntil).toBeDefined();

    const res = await branch(run.id, 1, { count: 1 });
    expect(res.status).toBe(202);
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const child = view.forks[1]!;
    expect(child).toMatchObject({ n: 2, status: "succeeded", parent: { n: 1, turn: 2 }, diff: { files: 1 } });
    expect(child.commands).toEqual([]);
    expect(child.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["branch-sandbox-1", "branch"]));
    expect((await sandboxAdmin.stats()).forked).toBe(1);
    // Both forks' sandboxes are kept (paused) until KEEP_SANDBOX_SECONDS: gone now, for the suites that count them.
    for (const fork of view.forks) await Sandbox.kill(fork.sandboxId!, e2bOptions());
    await waitFor("no paused sandbox", async () => (await sandboxAdmin.stats()).pausedNow === 0, 15_000);
  });

  it("a fork that ends before its next step boundary, its sandbox not kept, fails its branches (branch_not_taken)", async () => {
    const gate = newGate();
    const run = await createRun({ task: { commands: [`${gateCommand(gate)}; exit 3`] } });
    await waitForRunningStep(run.id, 1, "command-1");
    expect((await branch(run.id, 1, { count: 1 })).status).toBe(202);
    await sandboxAdmin.openGate(gate);
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks[1]).toMatchObject({ status: "failed", parent: { n: 1, turn: null }, error: { code: "branch_not_taken" } });
    await noSandboxLeft();
  });

  it("refuses bad branches with the field at fault", async () => {
    const run = await createRun({ task: { commands: ["echo hi"] } });
    await waitForRunStatus(run.id, ["completed"]);
    const cases: [Record<string, unknown>, number, number, string, string?][] = [
      [{ count: 0 }, 1, 400, "invalid_input", "count"],
      [{ count: 21 }, 1, 400, "invalid_input", "count"],
      [{ count: 1, prompt: "x" }, 1, 400, "invalid_input", "prompt"],
      [{ count: 1 }, 7, 404, "not_found"],
      [{ count: 1 }, 1, 409, "fork_ended"],
    ];
    for (const [body, n, status, code, field] of cases) {
      const res = await branch(run.id, n, body);
      const error = ((await res.json()) as { error: { code: string; details?: { field?: string } } }).error;
      expect({ status: res.status, code: error.code, field: error.details?.field }).toEqual({ status, code, field });
    }
    expect((await branch("rnotarun0000000000000", 1, { count: 1 })).status).toBe(404);
    expect((await getRun(run.id)).forks).toHaveLength(1);
  });
});
