import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { parseClaudeCodeStream } from "../../src/agent/claude-code";
import { MODEL_ALIASES } from "../../src/agent/models";
import { DEFAULT_MODEL_PRICES } from "../../src/agent/pricing";
import { api, createRun, sandboxAdmin, waitFor, waitForRunStatus } from "./helpers";

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
    expect(fork.costUsd.llm).toBeCloseTo(0.0123, 8);
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

  it("scrubs the model key it was given from everything that leaves the sandbox: tails, summary, events", async () => {
    const run = await createRun({ task: { prompt: "leak-key please", runtime: "claude-code" } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.agent?.summary).toBe("Done. The key was [REDACTED]");
    const transcript = await (await api(`/v1/runs/${run.id}/forks/1/transcript`)).text();
    expect(transcript).toContain("my key is [REDACTED]");
    const everything = JSON.stringify(view) + transcript + (await (await api(`/v1/runs/${run.id}/events`)).text());
    expect(everything).not.toContain(bindings.ANTHROPIC_API_KEY);
    expect(everything).not.toContain(bindings.ANTHROPIC_API_KEY.slice(0, 12));
  });

  it("stops the CLI as soon as its stream shows it would spend past the budget", async () => {
    // Each of its 40 turns costs $0.30 (100k input tokens); the budget allows about two and a reserve.
    const run = await createRun({ task: { prompt: "spend it all", runtime: "claude-code" }, budgetUsd: 1 });
    const view = await waitForRunStatus(run.id, ["completed", "failed", "budget_exceeded"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("budget_exceeded");
    expect(fork.error?.message).toMatch(/Claude Code was stopped after spending about \$0\.[0-9]+/);
    // Stopped at about the budget (a message or two may land before the kill): far from the $12 the
    // whole session (40 turns) would have cost.
    expect(fork.costUsd.llm).toBeGreaterThan(0.29);
    expect(fork.costUsd.llm).toBeLessThan(2);
    await waitFor("the sandbox to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it.each([
    ["-1", "an invalid cost (-1)"],
    ["1e309", "an invalid cost (Infinity)"],
    ["missing", "no cost (null)"],
  ])("a reported cost of %s fails the fork and books the cost priced from the stream instead", async (cost, wording) => {
    const run = await createRun({ task: { prompt: `cost=${cost}`, runtime: "claude-code" } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("failed");
    expect(fork.error?.code).toBe("claude_code_failed");
    expect(fork.error?.message).toContain(`reported ${wording}`);
    // 1,000 input and 10 output tokens at the default model's list price: booked, never a credit.
    const p = DEFAULT_MODEL_PRICES[MODEL_ALIASES.sonnet]!;
    expect(fork.costUsd.llm).toBeCloseTo((1000 * p.input + 10 * p.output) / 1e6, 6);
    expect(fork.steps.find((s) => s.name === "claude-code")?.attempts).toBe(1);
  });
});
