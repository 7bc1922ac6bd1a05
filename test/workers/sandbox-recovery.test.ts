// A sandbox that vanishes mid-fork (E2B's "sandbox not found") is replaced: the fork acquires a new
// one, clones the same commit, replays what it had done (commands re-run, tool calls re-executed, no
// model call), and runs the interrupted step again.
import { beforeEach, describe, expect, it } from "vitest";
import type { ForkView, RunView } from "../../src/api/runs";
import { editTurn } from "../support/agent-turns";
import type { ScriptedReply } from "../support/anthropic-server";
import { api, createRun, gateCommand, getRun, newGate, sandboxAdmin, scriptedModel, waitFor, waitForRunStatus } from "./helpers";

const scripted = (path: string, body?: unknown) => scriptedModel.request(path, body);
const modelCalls = () => scriptedModel.calls();

/** Waits until the fork is inside the given step; returns its sandbox. */
async function stepRunning(runId: string, step: string): Promise<string> {
  return waitFor(`step ${step} to run`, async () => {
    const fork = (await getRun(runId)).forks[0];
    return fork?.steps.some((s) => s.name === step && s.status === "running") ? fork.sandboxId : undefined;
  }, 60_000, 100);
}

/**
 * Waits until the fork is inside the given step (a command waiting on a gate: it cannot end
 * meanwhile), then expires its sandbox behind Forkyard's back.
 */
async function loseSandboxDuring(runId: string, step: string): Promise<string> {
  const sandboxId = await stepRunning(runId, step);
  const res = await sandboxAdmin.request(`/admin/sandboxes/${sandboxId}/expire`, { method: "POST" });
  if (!res.ok) throw new Error(`expire: ${res.status}`);
  return sandboxId!;
}

const stepNames = (fork: ForkView) => fork.steps.map((s) => s.name);

beforeEach(async () => {
  await scripted("/__reset");
  await sandboxAdmin.reset();
});

describe("a lost sandbox", () => {
  it("a commands fork re-runs its finished commands in a new sandbox and continues: same diff, one recovery", async () => {
    const gate = newGate();
    const run = await createRun({ task: { commands: ["echo one > notes.txt", gateCommand(gate), "echo two >> notes.txt"] } });
    const lost = await loseSandboxDuring(run.id, "command-2");
    // The new sandbox re-runs the interrupted command: its gate is opened there.
    await stepRunning(run.id, "command-2-r1");
    expect(await sandboxAdmin.openGate(gate)).toBe(1);
    const view = await waitForRunStatus(run.id, ["completed", "failed"], 90_000);
    const fork = view.forks[0]!;
    expect(fork.status, JSON.stringify(fork.error)).toBe("succeeded");
    expect(fork.recoveries).toBe(1);
    expect(fork.sandboxId).not.toBe(lost);
    expect(fork.diff).toEqual({ files: 1, insertions: 2, deletions: 0 });
    expect(stepNames(fork)).toEqual(expect.arrayContaining(["recover-1-release", "recover-1-acquire-sandbox", "recover-1-restore", "command-2-r1", "command-3"]));
    const stats = await sandboxAdmin.stats();
    // The lost sandbox, its replacement, and the fork's verification sandbox.
    expect({ created: stats.created, live: stats.live }).toEqual({ created: 3, live: 0 });
  });

  it("an agent fork re-executes its tool calls without any model call: same model calls and the same final diff as without the loss", async () => {
    const gate = newGate();
    const turns: ScriptedReply[] = [
      editTurn({ input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }),
      { content: [{ type: "tool_use", name: "bash", input: { command: `${gateCommand(gate)} && cat hello.txt` } }], usage: { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
      { content: [{ type: "text", text: "Done." }], usage: { input_tokens: 100, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
    ];
    const runAgent = async (lose: boolean): Promise<RunView> => {
      await scripted("/__reset");
      await scripted("/__script", { turns });
      const run = await createRun({ task: { prompt: "Add hello.txt", model: "sonnet" } });
      if (lose) await loseSandboxDuring(run.id, "tool-2-1");
      // The bash call (re-executed in the new sandbox after a loss) waits for the gate.
      await stepRunning(run.id, lose ? "tool-2-1-r1" : "tool-2-1");
      await sandboxAdmin.openGate(gate);
      return waitForRunStatus(run.id, ["completed", "failed"], 90_000);
    };
    const clean = await runAgent(false);
    const cleanCalls = (await modelCalls()).length;
    const recovered = await runAgent(true);
    const calls = await modelCalls();
    const fork = recovered.forks[0]!;
    expect(fork.status, JSON.stringify(fork.error)).toBe("succeeded");
    expect(fork.recoveries).toBe(1);
    expect(calls).toHaveLength(cleanCalls);
    expect(fork.agent?.turns).toBe(clean.forks[0]!.agent?.turns);
    expect(fork.diff).toEqual(clean.forks[0]!.diff);
    // The re-run bash call found the replayed edit in the new sandbox.
    expect(JSON.stringify(calls.at(-1)!.body)).toContain("hello from the agent");
  });

  it("a budget wait after a recovery pauses and resumes the replacement sandbox (its own lease), and the fork completes when the budget is raised", async () => {
    const gate = newGate();
    // The first model call costs about $0.24 of the $0.30: the second no longer fits and waits.
    const expensive = { input_tokens: 80_000, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    await scripted("/__script", {
      turns: [
        { content: [{ type: "tool_use", name: "bash", input: { command: `${gateCommand(gate)} && echo held > held.txt` } }], usage: expensive },
        { content: [{ type: "text", text: "Done." }], usage: { input_tokens: 100, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
      ],
    });
    const run = await createRun({ task: { prompt: "Hold, then write held.txt", model: "sonnet" }, budgetUsd: 0.3 });
    await loseSandboxDuring(run.id, "tool-1-1");
    await stepRunning(run.id, "tool-1-1-r1");
    await sandboxAdmin.openGate(gate);
    const waiting = await waitFor("the fork to wait for budget", async () => {
      const f = (await getRun(run.id)).forks[0]!;
      return f.steps.some((s) => s.name.startsWith("budget-wait-") && s.status === "succeeded") ? f : undefined;
    });
    expect(waiting.recoveries).toBe(1);
    // The replacement was paused for the wait (nothing live), not the released first lease.
    await waitFor("the replacement to be paused", async () => (await sandboxAdmin.stats()).live === 0);
    expect((await api(`/v1/runs/${run.id}/budget`, { method: "POST", json: { budgetUsd: 5 } })).status).toBe(200);
    const view = await waitForRunStatus(run.id, ["completed", "failed"], 90_000);
    const fork = view.forks[0]!;
    expect(fork.status, JSON.stringify(fork.error)).toBe("succeeded");
    expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(await modelCalls()).toHaveLength(2);
    // The lost sandbox, its replacement (paused and resumed), and the verification sandbox.
    expect((await sandboxAdmin.stats()).created).toBe(3);
  });

  it("a second loss within the same step fails the fork with sandbox_gone, leaving nothing running", async () => {
    const run = await createRun({ task: { commands: [gateCommand(newGate())] } });
    await loseSandboxDuring(run.id, "command-1");
    await loseSandboxDuring(run.id, "command-1-r1");
    const view = await waitForRunStatus(run.id, ["completed", "failed"], 90_000);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("failed");
    expect(fork.error?.code).toBe("sandbox_gone");
    expect(fork.recoveries).toBe(1);
    await waitFor("no sandbox left", async () => (await sandboxAdmin.stats()).live === 0);
  });
});
