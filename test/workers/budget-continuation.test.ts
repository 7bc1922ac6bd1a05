// Raising the budget continues forks that a budget stop ended (issue 25 item 6): once their wait
// outlasted BUDGET_WAIT_SECONDS (an agent fork) or a command's gate refused them (a commands fork),
// their sandbox was released; a raise continues each in a new instance that acquires a new sandbox,
// rebuilds the workspace from the fork's journal (no model call repeated) and carries on from the
// step where it stopped, even when the run had ended.
import { env } from "cloudflare:workers";
import { introspectWorkflow } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { editTurn } from "../support/agent-turns";
import type { ScriptedReply } from "../support/anthropic-server";
import { api, createRun, getRun, sandboxAdmin, scriptedModel, waitFor, waitForRunStatus } from "./helpers";

const bindings = env as unknown as { FORK_WORKFLOW: Workflow };

const EXPENSIVE_EDIT = editTurn({ input_tokens: 80_000, output_tokens: 100, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
const SUMMARY_TURN: ScriptedReply = {
  content: [{ type: "text", text: "Created hello.txt." }],
  usage: { input_tokens: 400, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
};

async function raise(runId: string, budgetUsd: number): Promise<Response> {
  return api(`/v1/runs/${runId}/budget`, { method: "POST", json: { budgetUsd } });
}

async function eventTypes(runId: string): Promise<{ type: string; fork: number | null; data: Record<string, unknown> }[]> {
  const text = await (await api(`/v1/runs/${runId}/events?after=0`, { headers: { accept: "text/event-stream" } })).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)) as { type: string; fork: number | null } & Record<string, unknown>)
    .map(({ type, fork, ...data }) => ({ type, fork, data }));
}

beforeEach(async () => {
  await scriptedModel.request("/__reset");
  await sandboxAdmin.reset();
});

describe("raising the budget after a budget stop ended the forks", () => {
  it("an agent fork whose wait outlasted BUDGET_WAIT_SECONDS goes on in a rebuilt sandbox from the model call it stopped at: no call repeated", async () => {
    // The fork's wait for a raise times out at once (as BUDGET_WAIT_SECONDS ending it would).
    await using introspector = await introspectWorkflow(bindings.FORK_WORKFLOW);
    await introspector.modifyAll(async (m) => m.forceEventTimeout({ name: "budget-raised-2-1" }));
    await scriptedModel.script([EXPENSIVE_EDIT, SUMMARY_TURN]);
    const run = await createRun({ task: { prompt: "Add hello.txt" }, budgetUsd: 0.3, check: "grep -q agent hello.txt" });
    const stopped = await waitFor("the fork to end for budget", async () => {
      const view = await getRun(run.id);
      return view.forks[0]?.finishedAt ? view : undefined;
    });
    const ended = stopped.forks[0]!;
    expect(ended.status).toBe("budget_exceeded");
    expect(ended.error?.message).toContain("was not raised within");
    expect(ended.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["model-1", "tool-1-1", "budget-wait-2-1", "budget-stop", "release-sandbox"]));
    expect(await scriptedModel.calls()).toHaveLength(1);
    await waitFor("its sandbox to be released", async () => (await sandboxAdmin.stats()).live === 0);

    const raised = await raise(run.id, 5);
    expect(raised.status).toBe(200);
    expect(((await raised.json()) as { status: string }).status).toBe("running");
    const done = await waitForRunStatus(run.id, ["completed", "failed"], 90_000);
    const fork = done.forks[0]!;
    expect(fork.status, JSON.stringify(fork.error)).toBe("succeeded");
    // Its workspace rebuilt from the journal (the edit re-executed), then the call it stopped at.
    expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(fork.check).toMatchObject({ passed: true });
    expect(fork.agent).toMatchObject({ turns: 2, toolCalls: 1, summary: "Created hello.txt." });
    expect(fork.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["resume-1-acquire-sandbox", "resume-1-restore", "model-2", "verify-check"]));
    const calls = await scriptedModel.calls();
    expect(calls).toHaveLength(2);
    // The second call is the one it stopped at: it carries the first call's tool result, not a new start.
    expect(JSON.stringify(calls[1]!.body)).toContain("tool_result");
    // Both lives' sandboxes and model calls are in its cost; the run's total is its forks'.
    expect(fork.costUsd.sandbox).toBeGreaterThan(0);
    expect(done.totals.costUsd.total).toBeCloseTo(fork.costUsd.total, 8);
    const events = await eventTypes(run.id);
    expect(events.find((e) => e.type === "run.resumed")).toMatchObject({ data: { forks: [1] } });
    expect(events.find((e) => e.type === "fork.resumed" && e.fork === 1)).toMatchObject({ data: { instanceId: `${run.id}-1-c1`, rebuilt: true } });
    await waitFor("the sandboxes to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it("a commands fork the budget ended (the run failed) goes on from its next command in a rebuilt sandbox; the run runs and ends again", async () => {
    // The `ml` profile costs about $0.000256 a second: $0.0011 is spent during the first command's 6 s.
    const run = await createRun({ budgetUsd: 0.0011, profile: "ml", task: { commands: ["echo one > notes.txt; sleep 6", "echo two >> notes.txt"] } });
    const failed = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(failed.status).toBe("failed");
    expect(failed.forks[0]).toMatchObject({ status: "budget_exceeded", error: { code: "budget_exceeded" } });
    // Stopped at a command's gate (the second, or on a slow machine already the first): the second never ran.
    expect(failed.forks[0]!.commands.map((c) => c.command)).not.toContain("echo two >> notes.txt");

    expect((await raise(run.id, 0.001)).status).toBe(400);
    expect((await raise(run.id, 1)).status).toBe(200);
    const done = await waitForRunStatus(run.id, ["completed", "failed"], 90_000);
    const fork = done.forks[0]!;
    expect(fork.status, JSON.stringify(fork.error)).toBe("succeeded");
    expect(fork.diff).toEqual({ files: 1, insertions: 2, deletions: 0 });
    expect(fork.commands.map((c) => c.command)).toEqual(["echo one > notes.txt; sleep 6", "echo two >> notes.txt"]);
    const statuses = (await eventTypes(run.id)).filter((e) => e.type === "run.status" || e.type === "run.finished").map((e) => e.data.status);
    expect(statuses).toEqual(["failed", "running", "completed"]);

    // An ended run with nothing left that stopped for budget is refused.
    const again = await raise(run.id, 2);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("run_finished");
    await waitFor("the sandboxes to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it("a cancelled run is refused with run_cancelled, a deleted one with run_deleted", async () => {
    const run = await createRun({ budgetUsd: 1, task: { commands: ["sleep 30"] } });
    expect((await api(`/v1/runs/${run.id}/cancel`, { method: "POST" })).status).toBe(200);
    const code = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    expect(await code(await raise(run.id, 2))).toEqual([409, "run_cancelled"]);
    await waitFor("the sandboxes to be released", async () => (await sandboxAdmin.stats()).live === 0);
    expect((await api(`/v1/runs/${run.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await code(await raise(run.id, 2))).toEqual([409, "run_deleted"]);
  });
});
