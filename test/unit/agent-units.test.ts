// The agent's pure logic (models, pricing, the conversation, the context window, the prompt, the
// loop with fake deps): no runtime needed, so run by the node project. The parts that need a
// sandbox or the scripted Messages API are in test/workers/agent-units.test.ts.
import { describe, expect, it } from "vitest";
import type { MessageParam } from "@anthropic-ai/sdk/resources/messages";
import { buildMessages, finalSummary, type AgentTurn, type Exchange, type ModelTurn } from "../../src/agent/conversation";
import { DEFAULT_MAX_TURNS, estimateInputTokens, runAgent, TRUNCATED_TOOL_CALL, type AgentDeps, type ModelRequest } from "../../src/agent/loop";
import { CLEARED_TOOL_RESULT, fitToContext } from "../../src/agent/context-window";
import { MemoryHost } from "../../src/agent/memory-host";
import { MODEL_ALIASES, resolveModel } from "../../src/agent/models";
import { DEFAULT_MODEL_PRICES, expectedCallCostUsd, parseModelPrices, priceFor, usageCostUsd } from "../../src/agent/pricing";
import { buildSystemPrompt, buildTools } from "../../src/agent/prompt";
import { modelStepName, toolStepName } from "../../src/agent/step-names";
import { BudgetExceededError, ConfigError, InvalidInputError } from "../../src/core/errors";
import { REPO_DIR } from "../../src/sandbox/git";

const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({ input, output, cacheRead, cacheWrite });

function turnWith(content: ModelTurn["content"], stopReason: ModelTurn["stopReason"] = content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn"): ModelTurn {
  return { stopReason, content, usage: usage(100, 20, 50, 10), model: "claude-sonnet-5-5" };
}

describe("resolveModel", () => {
  it("maps short names to the newest model ids and defaults to sonnet", () => {
    expect(resolveModel()).toBe("claude-sonnet-5-5");
    expect(resolveModel("sonnet")).toBe(MODEL_ALIASES.sonnet);
    expect(resolveModel("opus")).toBe("claude-opus-5-5");
    expect(resolveModel("haiku")).toBe("claude-haiku-5-5");
    expect(resolveModel(" Haiku ")).toBe("claude-haiku-5-5");
  });

  it("accepts full ids, known or not", () => {
    expect(resolveModel("claude-opus-5-5")).toBe("claude-opus-5-5");
    expect(resolveModel("claude-sonnet-4-5-20250929")).toBe("claude-sonnet-4-5-20250929");
    expect(resolveModel("claude-opus-6")).toBe("claude-opus-6");
  });

  it("rejects anything else as invalid input on task.model", () => {
    for (const bad of ["gpt-5", "sonet", "claude-", "claude-Opus 5", ""]) {
      const err = (() => {
        try {
          resolveModel(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).details).toEqual({ field: "task.model" });
      expect((err as InvalidInputError).status).toBe(400);
    }
  });
});

describe("pricing", () => {
  it("prices every kind of token at the model's list price", () => {
    // 1000 x $2 + 500 x $10 + 2000 x $0.10 + 400 x $2.50 = $8,200 per million calls.
    expect(usageCostUsd("claude-sonnet-5-5", usage(1000, 500, 2000, 400))).toBe(0.0082);
    expect(usageCostUsd("claude-opus-5-5", usage(1_000_000, 0))).toBe(4);
    expect(usageCostUsd("claude-opus-5-5", usage(0, 1_000_000, 1_000_000, 1_000_000))).toBe(25.2);
    expect(usageCostUsd("claude-haiku-5-5", usage(10_000, 1_000))).toBe(0.0015);
  });

  it("bills a long Haiku 5.5 prompt at its dearer tier, counting cache tokens in the prompt", () => {
    expect(usageCostUsd("claude-haiku-5-5", usage(100_000, 1_000))).toBe(0.0105);
    expect(usageCostUsd("claude-haiku-5-5", usage(60_000, 1_000, 40_001))).toBe(0.03450005);
  });

  it("prices dated ids like their model and unknown models at their family's dearest", () => {
    expect(priceFor("claude-sonnet-4-5-20250929")).toBe(DEFAULT_MODEL_PRICES["claude-sonnet-4-5"]);
    expect(priceFor("claude-opus-6").output).toBe(25);
    expect(priceFor("claude-unknown-1").output).toBe(50);
  });

  it("estimates a call from above: prompt at the cache-write rate, all of max_tokens as output", () => {
    expect(expectedCallCostUsd("claude-sonnet-5-5", { inputTokensEstimate: 10_000, maxTokens: 16_000 })).toBe(0.185);
  });

  it("merges a MODEL_PRICES override and refuses a bad one naming MODEL_PRICES", () => {
    const table = parseModelPrices('{"claude-sonnet-5-5":{"cacheRead":0.2},"claude-opus-6":{"input":4,"output":20,"cacheRead":0.2,"cacheWrite":5},"claude-haiku-5-5":{"longPrompt":null}}');
    expect(table["claude-sonnet-5-5"]).toEqual({ input: 2, output: 10, cacheRead: 0.2, cacheWrite: 2.5 });
    expect(table["claude-opus-6"]).toEqual({ input: 4, output: 20, cacheRead: 0.2, cacheWrite: 5 });
    expect(table["claude-haiku-5-5"]?.longPrompt).toBeUndefined();
    expect(usageCostUsd("claude-sonnet-5-5", usage(0, 0, 1_000_000), table)).toBe(0.2);
    expect(parseModelPrices(undefined)).toBe(DEFAULT_MODEL_PRICES);
    for (const bad of ["{", '{"claude-new":{"input":1}}', '{"gpt":{"input":1}}', '{"claude-sonnet-5-5":{"input":-1}}', '{"claude-sonnet-5-5":{"inptu":1}}']) {
      const err = (() => {
        try {
          parseModelPrices(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).details).toEqual({ field: "MODEL_PRICES" });
      expect((err as ConfigError).message).toContain("MODEL_PRICES");
    }
  });
});

describe("buildMessages", () => {
  const turns: AgentTurn[] = [
    {
      model: turnWith([
        { type: "thinking", thinking: "", signature: "sig1" },
        { type: "text", text: "" },
        { type: "text", text: "Let me look." },
        { type: "tool_use", id: "toolu_a", name: "bash", inputJson: '{"command":"ls"}' },
        { type: "tool_use", id: "toolu_b", name: "bash", inputJson: '{"command":"cat x"}' },
      ]),
      tools: [
        { toolUseId: "toolu_a", content: "x\n[exit code: 0]", isError: false },
        { toolUseId: "toolu_b", content: "", isError: true },
      ],
    },
    { model: turnWith([{ type: "text", text: "Done: listed files." }]), tools: [] },
  ];

  it("alternates the prompt, assistant turns and tool results, keeping thinking and dropping empty text", () => {
    const messages = buildMessages("Fix the bug", turns);
    expect(messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Fix the bug" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "", signature: "sig1" },
          { type: "text", text: "Let me look." },
          { type: "tool_use", id: "toolu_a", name: "bash", input: { command: "ls" } },
          { type: "tool_use", id: "toolu_b", name: "bash", input: { command: "cat x" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_a", content: "x\n[exit code: 0]" },
          { type: "tool_result", tool_use_id: "toolu_b", content: "(no output)", is_error: true, cache_control: { type: "ephemeral" } },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "Done: listed files." }] },
    ]);
  });

  it("is deterministic and does not mutate the turns", () => {
    const before = JSON.stringify(turns);
    expect(JSON.stringify(buildMessages("p", turns))).toBe(JSON.stringify(buildMessages("p", structuredClone(turns))));
    expect(JSON.stringify(turns)).toBe(before);
  });

  it("puts the one conversation cache breakpoint on the prompt when there is no tool result yet", () => {
    expect(buildMessages("p", [])).toEqual([{ role: "user", content: [{ type: "text", text: "p", cache_control: { type: "ephemeral" } }] }]);
  });

  it("summarises with the last assistant text", () => {
    expect(finalSummary(turns)).toBe("Done: listed files.");
    expect(finalSummary([turns[0] as AgentTurn, { model: turnWith([]), tools: [] }])).toBe("Let me look.");
    expect(finalSummary([])).toBe("");
  });
});

describe("fitToContext (long sessions)", () => {
  const exchange = (i: number, outputChars: number): Exchange => ({
    prompt: `prompt ${i}`,
    turns: [
      { model: turnWith([bashCall(`e${i}`)]), tools: [{ toolUseId: `e${i}`, content: `${i}:`.padEnd(outputChars, "x"), isError: false }] },
      { model: turnWith([{ type: "text", text: `answer ${i}` }]), tools: [] },
    ],
  });

  it("leaves a conversation that fits alone", () => {
    const history = [exchange(1, 100), exchange(2, 100)];
    expect(fitToContext(history, 1_000_000)).toEqual(history);
  });

  it("clears tool results oldest first, keeping the newest, until the conversation fits; deterministic, no mutation", () => {
    const history = Array.from({ length: 10 }, (_, i) => exchange(i + 1, 10_000));
    const before = JSON.stringify(history);
    const fitted = fitToContext(history, 60_000);
    expect(JSON.stringify(history)).toBe(before);
    expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(60_000);
    const contents = fitted.flatMap((e) => e.turns.flatMap((t) => t.tools.map((r) => r.content)));
    const cleared = contents.filter((c) => c === CLEARED_TOOL_RESULT).length;
    expect(cleared).toBeGreaterThan(0);
    expect(cleared).toBeLessThanOrEqual(6);
    expect(contents.slice(0, cleared).every((c) => c === CLEARED_TOOL_RESULT)).toBe(true);
    expect(contents.slice(cleared).every((c) => c.length === 10_000)).toBe(true);
    // Every prompt and answer is still there; only outputs went.
    expect(fitted.map((e) => e.prompt)).toEqual(history.map((e) => e.prompt));
    expect(JSON.stringify(fitToContext(history, 60_000))).toBe(JSON.stringify(fitted));
  });

  it("drops the oldest exchanges when clearing outputs is not enough, never the current one", () => {
    const history = Array.from({ length: 10 }, (_, i) => exchange(i + 1, 5_000));
    const fitted = fitToContext(history, 22_000);
    expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(22_000);
    expect(fitted.at(-1)!.prompt).toBe("prompt 10");
    expect(fitted.length).toBeLessThan(10);
  });

  it("keeps every request of a long session's turn within the model's context window", async () => {
    const history = Array.from({ length: 30 }, (_, i) => exchange(i + 1, 8_000));
    const { deps, requests } = fakeDeps((turn) => (turn < 4 ? turnWith([bashCall(`n${turn}`)]) : turnWith([{ type: "text", text: "done" }])));
    const result = await runAgent(new MemoryHost(), deps, { ...agentInput, history, contextTokens: 40_000, maxTokens: 2_000 });
    expect(result.stopReason).toBe("end_turn");
    for (const request of requests) {
      expect(estimateInputTokens(request) + 2_000).toBeLessThanOrEqual(40_000);
      expect(JSON.stringify(request.messages)).toContain(agentInput.prompt);
    }
    expect(JSON.stringify(requests[0]!.messages)).toContain(CLEARED_TOOL_RESULT);
  });
});

describe("prompt", () => {
  it("caches tools and the shared system prefix, keeps fork context last, and hides URL credentials", () => {
    const system = buildSystemPrompt({ repo: "https://x-token:secret@github.com/o/r.git", baseBranch: "main", workBranch: "forkyard/r1/2", fork: 2, forks: 3 });
    expect(system).toHaveLength(2);
    expect(system[0]?.cache_control).toEqual({ type: "ephemeral" });
    expect(system[0]?.text).toContain(REPO_DIR);
    expect(system[0]?.text).toContain("https://github.com/o/r.git");
    expect(JSON.stringify(system)).not.toContain("secret");
    expect(system[1]?.text).toContain("fork 2 of 3");
    expect(system[1]?.text).toContain("forkyard/r1/2");
    const tools = buildTools();
    expect(tools).toEqual([
      { type: "bash_20250124", name: "bash" },
      { type: "text_editor_20250728", name: "str_replace_based_edit_tool", cache_control: { type: "ephemeral" } },
    ]);
  });
});

/** Fake model and tools that count their calls and record the requests. */
function fakeDeps(script: (turn: number, request: ModelRequest) => ModelTurn, tool: (name: string) => { content: string; isError: boolean } = () => ({ content: "ok", isError: false })) {
  const requests: ModelRequest[] = [];
  const counts = { model: 0, tool: 0, before: 0 };
  const deps: AgentDeps = {
    async callModel(request) {
      counts.model++;
      requests.push(structuredClone(request));
      return script(requests.length, request);
    },
    async executeTool(call) {
      counts.tool++;
      return tool(call.name);
    },
    async beforeModelCall() {
      counts.before++;
    },
  };
  return { deps, requests, counts };
}

const bashCall = (id: string) => ({ type: "tool_use" as const, id, name: "bash", inputJson: JSON.stringify({ command: `echo ${id}` }) });
const agentInput = { prompt: "Do it", model: "claude-sonnet-5-5", system: [{ type: "text" as const, text: "sys" }], tools: buildTools() };

describe("runAgent", () => {
  it("runs model and tool steps until end_turn and totals tokens and cost", async () => {
    const { deps, counts } = fakeDeps((turn) => (turn < 3 ? turnWith([bashCall(`t${turn}a`), bashCall(`t${turn}b`)]) : turnWith([{ type: "text", text: "All done." }])));
    const host = new MemoryHost();
    const { conversation, ...result } = await runAgent(host, deps, agentInput);
    expect(conversation.map((t) => t.tools.length)).toEqual([2, 2, 0]);
    expect(result).toEqual({
      stopReason: "end_turn",
      turns: 3,
      toolCalls: 4,
      tokens: usage(300, 60, 150, 30),
      summary: "All done.",
      llmCostUsd: 3 * usageCostUsd("claude-sonnet-5-5", usage(100, 20, 50, 10)),
    });
    expect(counts).toEqual({ model: 3, tool: 4, before: 3 });
    expect(host.stepNames).toEqual(["model-1", "tool-1-1", "tool-1-2", "model-2", "tool-2-1", "tool-2-2", "model-3"]);
    expect([modelStepName(7), toolStepName(7, 0)]).toEqual(["model-7", "tool-7-1"]);
  });

  it("stops at maxTurns (default 40), still running the last turn's tools", async () => {
    const { deps, counts } = fakeDeps((turn) => turnWith([{ type: "text", text: `turn ${turn}` }, bashCall(`t${turn}`)]));
    const result = await runAgent(new MemoryHost(), deps, { ...agentInput, maxTurns: 3 });
    expect(result.stopReason).toBe("max_turns");
    expect(result.summary).toBe("turn 3");
    expect(counts).toEqual({ model: 3, tool: 3, before: 3 });
    expect(DEFAULT_MAX_TURNS).toBe(40);
    const unbounded = fakeDeps((turn) => turnWith([bashCall(`t${turn}`)]));
    expect((await runAgent(new MemoryHost(), unbounded.deps, agentInput)).turns).toBe(40);
  });

  it("feeds tool errors back to the model as is_error tool results", async () => {
    const { deps, requests } = fakeDeps(
      (turn) => (turn === 1 ? turnWith([bashCall("t1")]) : turnWith([{ type: "text", text: "gave up" }])),
      () => ({ content: "No such file", isError: true }),
    );
    await runAgent(new MemoryHost(), deps, agentInput);
    const last = requests[1]?.messages.at(-1) as MessageParam;
    expect(last).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "No such file", is_error: true, cache_control: { type: "ephemeral" } }] });
  });

  it("does not run a tool call cut off by max_tokens, and tells the model why", async () => {
    const { deps, requests, counts } = fakeDeps((turn) => (turn === 1 ? turnWith([bashCall("ok"), bashCall("cut")], "max_tokens") : turnWith([{ type: "text", text: "fine" }])));
    const result = await runAgent(new MemoryHost(), deps, agentInput);
    expect(counts.tool).toBe(1);
    expect(result.toolCalls).toBe(1);
    expect(requests[1]?.messages.at(-1)?.content).toEqual([
      { type: "tool_result", tool_use_id: "ok", content: "ok" },
      { type: "tool_result", tool_use_id: "cut", content: TRUNCATED_TOOL_CALL, is_error: true, cache_control: { type: "ephemeral" } },
    ]);
  });

  it("lets beforeModelCall stop the agent inside the model step, with an estimate to budget against", async () => {
    const seen: number[] = [];
    const { deps, counts } = fakeDeps((turn) => turnWith([bashCall(`t${turn}`)]));
    deps.beforeModelCall = async (turn, expectedUsd) => {
      seen.push(expectedUsd);
      if (turn === 3) throw new BudgetExceededError("Run budget spent.");
    };
    await expect(runAgent(new MemoryHost(), deps, agentInput)).rejects.toBeInstanceOf(BudgetExceededError);
    expect(counts.model).toBe(2);
    expect(seen).toHaveLength(3);
    expect(seen.every((usd) => usd > 0.16)).toBe(true); // 16,000 output tokens alone cost $0.16 on Sonnet 5.5
    expect(seen[2]).toBeGreaterThan(seen[0] as number);
  });

  it("replays a crash at every step without paying for a model call or a tool call twice", async () => {
    const script = (turn: number) => (turn <= 3 ? turnWith([{ type: "text", text: `step ${turn}` }, bashCall(`t${turn}a`), bashCall(`t${turn}b`)]) : turnWith([{ type: "text", text: "finished" }]));
    const original = fakeDeps(script, (name) => ({ content: `ran ${name}`, isError: false }));
    const full = new MemoryHost();
    const expected = await runAgent(full, original.deps, agentInput);
    const steps = full.stepNames;
    expect(steps).toHaveLength(4 + 6);

    for (let done = 0; done <= steps.length; done++) {
      const cached = steps.slice(0, done);
      const modelsDone = cached.filter((s) => s.startsWith("model-")).length;
      const replay = fakeDeps((turn) => script(turn + modelsDone), (name) => ({ content: `ran ${name}`, isError: false }));
      const host = MemoryHost.replayOf(full, done);
      const result = await runAgent(host, replay.deps, agentInput);
      expect(result, `crash after ${done} steps`).toEqual(expected);
      expect(replay.counts.model).toBe(4 - modelsDone);
      expect(replay.counts.tool).toBe(6 - (done - modelsDone));
      expect(replay.counts.before).toBe(4 - modelsDone);
      expect(host.executed).toEqual(steps.slice(done));
      // The replayed conversation is byte-identical to the original's (same prompt-cache prefix).
      expect(replay.requests).toEqual(original.requests.slice(modelsDone));
    }
  });
});
