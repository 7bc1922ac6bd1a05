import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_MODEL_PRICES } from "../../src/agent/pricing";
import { MODEL_ALIASES } from "../../src/agent/models";
import { editTurn } from "../support/agent-turns";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { api, createRun, getRun, sandboxAdmin, scriptedModel, waitFor, waitForRunStatus } from "./helpers";

const anthropic = env as unknown as { ANTHROPIC_BASE_URL: string; ANTHROPIC_API_KEY: string; FORK_WORKFLOW: Workflow };

const scripted = (path: string, body?: unknown) => scriptedModel.request(path, body);
const setScript = (turns: ScriptedReply[]) => scriptedModel.script(turns);
const modelCalls = () => scriptedModel.calls();

const SONNET = MODEL_ALIASES.sonnet;
/** Exact cost of one call at the list price of the default model, USD. */
function cost(usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number }): number {
  const p = DEFAULT_MODEL_PRICES[SONNET]!;
  return (usage.input_tokens * p.input + usage.output_tokens * p.output + usage.cache_creation_input_tokens * p.cacheWrite + usage.cache_read_input_tokens * p.cacheRead) / 1e6;
}

const EDIT_TURN = editTurn({ input_tokens: 1200, output_tokens: 80, cache_creation_input_tokens: 2000, cache_read_input_tokens: 0 });
const BASH_TURN: ScriptedReply = {
  content: [{ type: "tool_use", name: "bash", input: { command: "cat hello.txt && echo fork=$FORKYARD_FORK && sleep 1" } }],
  usage: { input_tokens: 300, output_tokens: 40, cache_creation_input_tokens: 150, cache_read_input_tokens: 2000 },
};
const SUMMARY_TURN: ScriptedReply = {
  content: [{ type: "text", text: "Created hello.txt and checked its contents with cat." }],
  usage: { input_tokens: 400, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 2150 },
};

beforeEach(async () => {
  await scripted("/__reset");
  await sandboxAdmin.reset();
});

describe("agent forks", () => {
  it("edits a file, runs a command and summarises; diff, check, usage and cost are exact", async () => {
    await setScript([EDIT_TURN, BASH_TURN, SUMMARY_TURN]);
    const run = await createRun({ task: { prompt: "Add hello.txt", model: "sonnet" }, check: "grep -q agent hello.txt" });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("succeeded");
    expect(view.request.task).toEqual({ prompt: "Add hello.txt", model: SONNET });
    expect(fork.agent).toEqual({
      model: SONNET,
      stopReason: "end_turn",
      turns: 3,
      toolCalls: 2,
      tokens: { input: 1900, output: 150, cacheRead: 4150, cacheWrite: 2150 },
      summary: "Created hello.txt and checked its contents with cat.",
    });
    expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(fork.check).toMatchObject({ passed: true, exitCode: 0 });
    const llm = [EDIT_TURN, BASH_TURN, SUMMARY_TURN].reduce((sum, t) => sum + cost(t.usage as never), 0);
    expect(fork.costUsd.llm).toBeCloseTo(llm, 8);
    expect(fork.costUsd.verification).toBeGreaterThan(0);
    expect(fork.costUsd.total).toBeCloseTo(llm + fork.costUsd.sandbox + fork.costUsd.verification!, 8);
    expect(fork.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(["model-1", "tool-1-1", "model-2", "tool-2-1", "model-3", "verify-export", "verify-build", "verify-check", "release-sandbox"]),
    );

    const calls = await modelCalls();
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.apiKeyMatched)).toBe(true);
    const second = calls[1]!.body as { messages: { role: string; content: { type: string; content?: string; is_error?: boolean }[] }[]; system: { cache_control?: unknown }[] };
    expect(second.system[0]?.cache_control).toEqual({ type: "ephemeral" });
    const toolResult = second.messages.at(-1)!.content.find((b) => b.type === "tool_result")!;
    expect(toolResult.is_error).toBeFalsy();
    const third = JSON.stringify(calls[2]!.body);
    expect(third).toContain("hello from the agent");
    expect(third).toContain("fork=1");
    for (const call of calls) expect(JSON.stringify(call)).not.toContain(anthropic.ANTHROPIC_API_KEY);
  });

  it("replays completed model calls from checkpoints when the instance restarts mid-tool-call", async () => {
    await setScript([EDIT_TURN, { ...BASH_TURN, content: [{ type: "tool_use", name: "bash", input: { command: "sleep 3 && cat hello.txt" } }] }, SUMMARY_TURN]);
    const run = await createRun({ task: { prompt: "Add hello.txt" } });
    await waitFor("the fork to be inside its second tool call", async () => (await getRun(run.id)).forks[0]?.steps.some((s) => s.name === "tool-2-1" && s.status === "running"));
    const instance = await anthropic.FORK_WORKFLOW.get(`${run.id}-1`);
    await instance.pause();
    await waitFor("the instance to pause", async () => (await instance.status()).status === "paused", 30_000);
    await instance.resume();
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks[0]?.status).toBe("succeeded");
    expect(await modelCalls()).toHaveLength(3);
    expect(view.forks[0]?.steps.filter((s) => s.name.startsWith("model-")).every((s) => s.attempts === 1)).toBe(true);
    expect(view.forks[0]?.agent?.turns).toBe(3);
    // The transcript was recorded across the restart once per step: no entry twice, none missing.
    const transcript = (await (await api(`/v1/runs/${run.id}/forks/1/transcript`)).json()) as { entries: { seq: number; step: string | null }[] };
    expect(transcript.entries.map((e) => [e.seq, e.step])).toEqual([[1, null], [2, "model-1"], [3, "tool-1-1"], [4, "model-2"], [5, "tool-2-1"], [6, "model-3"]]);
  });

  it("stops at the model call that no longer fits the budget, keeps its state, and continues when the budget is raised", async () => {
    const expensive: ScriptedReply = { ...EDIT_TURN, usage: { input_tokens: 80_000, output_tokens: 100, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } };
    await setScript([expensive, SUMMARY_TURN]);
    const run = await createRun({ task: { prompt: "Add hello.txt" }, budgetUsd: 0.3 });
    const stopped = await waitForRunStatus(run.id, ["budget_exceeded", "completed", "failed"]);
    expect(stopped.status).toBe("budget_exceeded");
    const fork = await waitFor("the fork to wait for budget", async () => {
      const f = (await getRun(run.id)).forks[0]!;
      return f.steps.some((s) => s.name === "budget-wait-2-1" && s.status === "succeeded") ? f : undefined;
    });
    expect(fork.status).toBe("budget_exceeded");
    expect(fork.steps.find((s) => s.name === "model-2")).toMatchObject({ status: "failed", attempts: 1 });
    expect(fork.costUsd.llm).toBeCloseTo(cost(expensive.usage as never), 8);
    expect(await modelCalls()).toHaveLength(1);
    const paused = await sandboxAdmin.stats();
    expect(paused.live).toBe(0);

    expect((await api(`/v1/runs/${run.id}/budget`, { method: "POST", json: { budgetUsd: 0.2 } })).status).toBe(400);
    const raised = await api(`/v1/runs/${run.id}/budget`, { method: "POST", json: { budgetUsd: 5 } });
    expect(raised.status).toBe(200);
    const done = await waitForRunStatus(run.id, ["completed", "failed"]);
    const finished = done.forks[0]!;
    expect(finished.status).toBe("succeeded");
    expect(finished.agent?.turns).toBe(2);
    expect(finished.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(await modelCalls()).toHaveLength(2);
    // The fork's one sandbox, paused and resumed, and then its verification sandbox.
    expect((await sandboxAdmin.stats()).created).toBe(2);
    await waitFor("the sandbox to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it.each(["overloaded", "server_error", "rate_limit"] as const)("retries a %s answer from the model with backoff", async (kind) => {
    await setScript([SUMMARY_TURN]);
    await scripted("/__faults", { errors: [{ kind, count: 1, retryAfterSeconds: 0 }] });
    const run = await createRun({ task: { prompt: "Say hi" } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks[0]?.status).toBe("succeeded");
    expect(view.forks[0]?.steps.find((s) => s.name === "model-1")?.attempts).toBe(2);
    expect(await modelCalls()).toHaveLength(2);
  });

  it("fails the fork at once with a clear error when the model API rejects the key", async () => {
    await setScript([SUMMARY_TURN]);
    await scripted("/__faults", { errors: [{ kind: "auth", count: 5 }] });
    const run = await createRun({ task: { prompt: "Say hi" } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("failed");
    expect(fork.error?.code).toBe("model_auth_failed");
    expect(fork.error?.message).not.toContain(anthropic.ANTHROPIC_API_KEY);
    expect(fork.steps.find((s) => s.name === "model-1")?.attempts).toBe(1);
    expect(await modelCalls()).toHaveLength(1);
    await waitFor("the sandbox to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it("rejects unknown model names at POST time", async () => {
    const res = await api("/v1/runs", { method: "POST", json: { repo: "https://github.com/a/b.git", task: { prompt: "x", model: "gpt-9" } } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("task.model");
  });
});

describe("budgets that hold", () => {
  it("a model call that fails gives its reservation back: a retry is not stopped by the budget it left behind", async () => {
    // Calibrate: the first call's expected cost, as the budget stop reports it.
    await setScript([SUMMARY_TURN]);
    const probe = await createRun({ task: { prompt: "Say hi" }, budgetUsd: 0.001 });
    const probed = await waitFor("the probe to stop for budget", async () => {
      const f = (await getRun(probe.id)).forks[0]!;
      return f.steps.find((s) => s.name === "model-1" && s.status === "failed") ? f : undefined;
    });
    expect(probed.steps.find((s) => s.name === "model-1")?.attempts).toBe(1);
    // The run still waits for budget, so its event stream stays open: read until the stop's message.
    const reader = (await api(`/v1/runs/${probe.id}/events`)).body!.pipeThrough(new TextDecoderStream()).getReader();
    let events = "";
    while (!/about \$[0-9.]+/.test(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      events += value;
    }
    await reader.cancel();
    const expected = Number(/about \$([0-9.]+)/.exec(events)?.[1]);
    expect(expected).toBeGreaterThan(0);
    await api(`/v1/runs/${probe.id}/cancel`, { method: "POST" });

    // Room for one call's reservation, not two: the failed attempt's must be given back.
    await scripted("/__reset");
    await setScript([SUMMARY_TURN]);
    await scripted("/__faults", { errors: [{ kind: "server_error", count: 1 }] });
    const run = await createRun({ task: { prompt: "Say hi" }, budgetUsd: Number((expected * 1.5).toFixed(6)) });
    const view = await waitForRunStatus(run.id, ["completed", "failed", "budget_exceeded"]);
    expect(view.status).toBe("completed");
    expect(view.forks[0]?.steps.find((s) => s.name === "model-1")?.attempts).toBe(2);
  });
});

describe("budgets a user can reason about", () => {
  /** The run's event stream (open while it waits for budget), read until `pattern` shows. */
  async function eventsUntil(runId: string, pattern: RegExp): Promise<string> {
    const reader = (await api(`/v1/runs/${runId}/events`)).body!.pipeThrough(new TextDecoderStream()).getReader();
    let events = "";
    while (!pattern.test(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      events += value;
    }
    await reader.cancel();
    return events;
  }

  it("a budget stop says what the call reserves and why; a lower task.maxTokens fits the same budget", async () => {
    await setScript([SUMMARY_TURN]);
    // $0.05 does not hold a call of up to 16,000 output tokens at Sonnet's list price (about $0.17).
    const stopped = await createRun({ task: { prompt: "Say hi" }, budgetUsd: 0.05 });
    const events = await eventsUntil(stopped.id, /output tokens/);
    expect(events).toMatch(/The next model call would reserve about \$0\.\d{4} \(\$0\.\d+\) for a call of up to 16,000 output tokens \(and about [\d,]+ input tokens\) at list price/);
    // Spent so far: only the sandbox's seconds before the call (a fraction of a cent, more on a slow machine).
    expect(events).toMatch(/spent \$0\.00\d* of the run's budget of \$0\.05\. Raise the budget, or lower task\.maxTokens\./);
    expect(await modelCalls()).toHaveLength(0);
    await api(`/v1/runs/${stopped.id}/cancel`, { method: "POST" });

    const fits = await createRun({ task: { prompt: "Say hi", maxTokens: 1000 }, budgetUsd: 0.05 });
    const view = await waitForRunStatus(fits.id, ["completed", "failed", "budget_exceeded"]);
    expect(view.status).toBe("completed");
    expect(view.request.task).toMatchObject({ maxTokens: 1000 });
    expect((await modelCalls()).map((c) => (c.body as { max_tokens: number }).max_tokens)).toEqual([1000]);
  });

  it("refuses a task.maxTokens out of bounds", async () => {
    for (const maxTokens of [100, 64_001, 1.5]) {
      const res = await api("/v1/runs", { method: "POST", json: { repo: "https://github.com/a/b.git", task: { prompt: "x", maxTokens } } });
      expect(res.status).toBe(400);
      // The task is a union (commands or prompt): the field at fault is `task`, its message says why.
      expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toMatch(/^task/);
    }
  });
});
