import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { parseClaudeCodeStream } from "../../src/agent/claude-code";
import { api, createRun, sandboxAdmin, waitForRunStatus } from "./helpers";

const bindings = env as unknown as { ANTHROPIC_API_KEY: string };

describe("the claude-code runtime", () => {
  beforeEach(async () => {
    await sandboxAdmin.reset();
  });

  it("parses Claude Code's stream-json output into an agent result", () => {
    const stream = [
      '{"type":"system","subtype":"init","session_id":"s"}',
      '{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}},{"type":"tool_use","id":"t2","name":"Read","input":{}}],"usage":{"input_tokens":10,"output_tokens":5}}}',
      "not json",
      '{"type":"assistant","message":{"content":[{"type":"text","text":"All done."}],"usage":{"input_tokens":3,"output_tokens":2}}}',
      '{"type":"result","subtype":"error_max_turns","is_error":false,"num_turns":7,"result":"Stopped.","total_cost_usd":0.5,"usage":{"input_tokens":13,"output_tokens":7,"cache_read_input_tokens":4,"cache_creation_input_tokens":2}}',
    ].join("\n");
    expect(parseClaudeCodeStream(stream, "claude-opus-5-5")).toEqual({
      model: "claude-opus-5-5",
      stopReason: "max_turns",
      turns: 7,
      toolCalls: 2,
      tokens: { input: 13, output: 7, cacheRead: 4, cacheWrite: 2 },
      summary: "Stopped.",
      isError: false,
      reportedCostUsd: 0.5,
    });
    expect(parseClaudeCodeStream('{"type":"system"}\n', "m")).toBeNull();
  });

  it("runs the CLI in the sandbox and reports its turns, tokens, cost, summary and diff", async () => {
    const run = await createRun({ task: { prompt: "write cc.txt", runtime: "claude-code", maxTurns: 9 }, check: "grep -q 'write cc.txt' cc.txt" });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("succeeded");
    expect(fork.agent).toMatchObject({ stopReason: "end_turn", turns: 2, toolCalls: 1, summary: "Wrote cc.txt (max turns 9).", tokens: { input: 1200, output: 70, cacheRead: 3000, cacheWrite: 3000 } });
    // The CLI reports $0.0123, but made no call through the model proxy: billing is the proxy's (model-proxy.test.ts).
    expect(fork.costUsd.llm).toBe(0);
    expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(fork.check?.passed).toBe(true);
    expect(fork.steps.map((s) => s.name)).toContain("claude-code");
    // Its transcript, from the CLI's stream: the prompt, its messages, its tool call and the result.
    const transcript = (await (await api(`/v1/runs/${run.id}/forks/1/transcript`)).json()) as { entries: Record<string, unknown>[]; next: number | null };
    const at = expect.any(String);
    expect(transcript).toEqual({
      entries: [
        { seq: 1, turn: 1, step: null, at, role: "user", text: "write cc.txt" },
        { seq: 2, turn: 1, step: "claude-code", at, role: "assistant", text: "Writing the file.", stopReason: "tool_use", toolCalls: [{ id: "toolu_1", name: "Write", input: { file_path: "cc.txt" } }] },
        { seq: 3, turn: 1, step: "claude-code", at, role: "tool", toolUseId: "toolu_1", name: "Write", input: { file_path: "cc.txt" }, content: "ok", isError: false },
        { seq: 4, turn: 2, step: "claude-code", at, role: "assistant", text: "Wrote cc.txt.", stopReason: "end_turn", toolCalls: [] },
      ],
      next: null,
    });
    expect(JSON.stringify(view)).not.toContain(bindings.ANTHROPIC_API_KEY);
    expect((await sandboxAdmin.stats()).live).toBe(0);
  });

  it("takes the cost the CLI reports as advisory: an absurd one neither fails the fork nor is booked", async () => {
    const run = await createRun({ task: { prompt: "cost=1e309", runtime: "claude-code" } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("succeeded");
    // It made no model call through the proxy: nothing metered, nothing billed.
    expect(fork.costUsd.llm).toBe(0);
  });
});
