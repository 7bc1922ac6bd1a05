// A fork near its instance's step limit (Cloudflare's `limits.steps`) goes on in a new Workflow
// instance instead of failing: FORK_CONTINUE_AFTER_STEPS is 20 here (vitest.config.ts), so a fork
// of 25 commands, or an agent of 12 turns, continues once. The Orchestrator treats the continuation
// as the same fork: one sandbox, every step once, one outcome. A run recorded on code version 1
// (before continuations) keeps its plan on this build: it never continues.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ScriptedReply } from "../support/anthropic-server";
import { api, createRun, sandboxAdmin, scriptedModel, testEnv, waitFor, waitForRunStatus } from "./helpers";
import { plantRun } from "./planted-run";

const workflows = env as unknown as { FORK_WORKFLOW: Workflow };

/** The events of an ended run (its stream ends after the log). */
async function events(runId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const text = await (await api(`/v1/runs/${runId}/events`)).text();
  return text
    .split("\n\n")
    .map((block) => ({ type: /^event: (.*)$/m.exec(block)?.[1] ?? "", data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "{}") as Record<string, unknown> }))
    .filter((e) => e.type !== "");
}

/** Commands that append 1..count to steps.log, in order: the log shows each ran exactly once. */
const numbered = (count: number) => Array.from({ length: count }, (_, i) => `echo ${i + 1} >> steps.log`);
const LOG_IS_1_TO = (count: number) => `seq 1 ${count} | diff - steps.log`;

const TOOL_USAGE = { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
const tool = (i: number): ScriptedReply => ({ content: [{ type: "tool_use", name: "bash", input: { command: `echo ${i} >> steps.log` } }], usage: TOOL_USAGE });
const done: ScriptedReply = { content: [{ type: "text", text: "Logged 11 steps." }], usage: TOOL_USAGE };

/** The three runs, started together (the file's time is the slowest one's, not their sum). */
const runs = { commands: "", agent: "", v1: "" };

beforeAll(async () => {
  await sandboxAdmin.reset();
  await scriptedModel.request("/__reset");
  await scriptedModel.script([...Array.from({ length: 11 }, (_, i) => tool(i + 1)), done]);
  const key = `v1-${crypto.randomUUID()}`;
  const v1Body = { repo: testEnv.TEST_REPO, task: { commands: numbered(25) }, check: LOG_IS_1_TO(25) };
  // Planted as a build of code version 1 would have stored it; the retry drives it (as after a crash) on this build.
  const { id } = await plantRun(v1Body, { idempotencyKey: key }, (_instance, state) => {
    state.storage.sql.exec("UPDATE run SET code_version = ?", JSON.stringify({ code: 1 }));
  });
  runs.v1 = id;
  const [commands, agent, retried] = await Promise.all([
    createRun({ task: { commands: numbered(25) }, check: LOG_IS_1_TO(25) }),
    createRun({ task: { prompt: "Log 11 steps", maxTurns: 30 }, check: LOG_IS_1_TO(11) }),
    api("/v1/runs", { method: "POST", json: v1Body, headers: { "Idempotency-Key": key } }),
  ]);
  expect(retried.status).toBe(202);
  runs.commands = commands.id;
  runs.agent = agent.id;
});

describe("forks near the step limit", () => {
  it("a commands fork goes on in instance <fork>-c1 from the command it reached: every command once, in the same sandbox", async () => {
    const id = runs.commands;
    const view = await waitForRunStatus(id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("succeeded");
    expect(fork.check).toMatchObject({ passed: true });
    expect(fork.diff).toMatchObject({ files: 1, insertions: 25 });
    expect(fork.commands).toHaveLength(25);
    // The continuation took the fork's sandbox over: no second clone, no replacement.
    expect(fork.recoveries).toBe(0);
    expect(fork.steps.find((s) => s.name === "clone")).toMatchObject({ status: "succeeded", attempts: 1 });
    const continued = (await events(id)).filter((e) => e.type === "fork.continued");
    expect(continued).toHaveLength(1);
    expect(continued[0]!.data).toMatchObject({ fork: 1, instanceId: `${id}-1-c1`, continuation: 1 });
    // The first instance ended without releasing the sandbox; the continuation finished the fork.
    expect((await (await workflows.FORK_WORKFLOW.get(`${id}-1`)).status()).status).toBe("complete");
    expect((await (await workflows.FORK_WORKFLOW.get(`${id}-1-c1`)).status()).status).toBe("complete");
  });

  it("an agent fork continues before a model call: no model call made twice, its totals count every turn", async () => {
    const id = runs.agent;
    const view = await waitForRunStatus(id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("succeeded");
    expect(fork.check).toMatchObject({ passed: true });
    expect(fork.agent).toMatchObject({ turns: 12, toolCalls: 11, stopReason: "end_turn", tokens: { input: 1200, output: 120 }, summary: "Logged 11 steps." });
    expect(await scriptedModel.calls()).toHaveLength(12);
    expect((await events(id)).filter((e) => e.type === "fork.continued")).toHaveLength(1);
    const transcript = (await (await api(`/v1/runs/${id}/forks/1/transcript`)).json()) as { entries: { step: string | null }[] };
    expect(transcript.entries).toHaveLength(1 + 12 + 11);
    expect(new Set(transcript.entries.map((e) => e.step)).size).toBe(24);
  });

  it("a run recorded on code version 1 (before continuations) keeps that plan on this build: its fork never continues", async () => {
    const view = await waitForRunStatus(runs.v1, ["completed", "failed"]);
    expect(view.codeVersion).toEqual({ code: 1 });
    expect(view.forks[0]).toMatchObject({ status: "succeeded", check: { passed: true } });
    expect((await events(runs.v1)).map((e) => e.type)).not.toContain("fork.continued");
    expect(view.forks[0]!.steps.map((s) => s.name)).not.toContain("continue");
  });

  it("every fork had one sandbox of its own and one for its verification, and none is left", async () => {
    await waitFor("the sandboxes to be released", async () => (await sandboxAdmin.stats()).live === 0);
    expect((await sandboxAdmin.stats()).created).toBe(3 * 2);
  });
});
