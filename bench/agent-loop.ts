/**
 * The durable agent loop's overhead: the same scripted agent (N turns, each a bash tool call,
 * then a summary; the model answers after a fixed latency) run as a Forkyard fork — every model
 * call and tool call a checkpointed Workflow step — and as a plain in-memory loop making the same
 * model and sandbox calls.
 */
import { Sandbox } from "e2b";
import { runAgent } from "../src/agent/loop.ts";
import { MemoryHost } from "../src/agent/memory-host.ts";
import { callModel } from "../src/agent/model-client.ts";
import { buildSystemPrompt, buildTools } from "../src/agent/prompt.ts";
import { executeTool } from "../src/agent/tools.ts";
import { EnvdClient } from "../src/sandbox/envd-client.ts";
import type { ScriptedAnthropic, ScriptedReply } from "../test/support/anthropic-server.ts";
import type { forkyardClient } from "../scripts/api-client.ts";
import { followToEnd } from "../scripts/api-client.ts";

export function agentScript(turns: number): ScriptedReply[] {
  const usage = { input_tokens: 500, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 2000 };
  const tool: ScriptedReply = { content: [{ type: "tool_use", name: "bash", input: { command: "echo step >> steps.log" } }], usage };
  return [...Array.from({ length: turns - 1 }, () => tool), { content: [{ type: "text", text: "Done." }], usage }];
}

/** Durable: a Forkyard agent fork; the loop's time is from model-1 starting to the last model step ending. */
export async function durableAgentLoop(api: ReturnType<typeof forkyardClient>, baseUrl: string, token: string, repo: string, turns: number): Promise<{ loopMs: number; modelCalls: number }> {
  const run = await api.createRun({ repo, task: { prompt: "Benchmark", maxTurns: turns } });
  const { events } = await followToEnd(baseUrl, token, run.id, 10 * 60_000);
  const start = events.find((e) => e.type === "step.started" && e.step === "model-1");
  const end = events.filter((e) => e.type === "step.finished" && e.step?.startsWith("model-")).at(-1);
  if (!start || !end) throw new Error("agent steps not found in the run's events");
  return { loopMs: Date.parse(end.at) - Date.parse(start.at), modelCalls: events.filter((e) => e.type === "step.finished" && e.step?.startsWith("model-")).length };
}

/** In memory: the same loop, model calls and sandbox tool calls, with no checkpoints. */
export async function inMemoryAgentLoop(opts: { anthropic: ScriptedAnthropic; apiKey: string; sandbox: { apiKey: string; apiUrl: string; sandboxUrl: string }; turns: number }): Promise<number> {
  const sandbox = await Sandbox.create("base", { ...opts.sandbox, timeoutMs: 600_000 });
  try {
    await sandbox.commands.run("mkdir -p /home/user/repo");
    const session = await EnvdClient.open({ connection: opts.sandbox, secrets: [] }, sandbox.sandboxId);
    const started = Date.now();
    await runAgent(
      new MemoryHost(),
      {
        callModel: (request) => callModel({ apiKey: opts.apiKey, baseURL: opts.anthropic.url }, request),
        executeTool: (call) => executeTool(session, call, { remainingMs: 600_000 }),
      },
      {
        prompt: "Benchmark",
        model: "claude-sonnet-5-5",
        system: buildSystemPrompt({ repo: "bench", baseBranch: "main", workBranch: "bench", fork: 1, forks: 1 }),
        tools: buildTools(),
        maxTurns: opts.turns,
      },
    );
    return Date.now() - started;
  } finally {
    await sandbox.kill();
  }
}
