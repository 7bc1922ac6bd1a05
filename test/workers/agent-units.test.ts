// The agent's parts that need the runtime's neighbours: tools in a real sandbox (the local
// sandbox server) and the model client against the scripted Messages API. Its pure logic is
// tested by the node project (test/unit/agent-units.test.ts).
import { env } from "cloudflare:workers";
import { Sandbox } from "e2b";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { MessageParam } from "@anthropic-ai/sdk/resources/messages";
import { buildMessages, type JsonObject, type ModelTurn, type ToolTurn } from "../../src/agent/conversation";
import { ModelAuthError, ModelRequestError, ModelUnavailableError } from "../../src/agent/errors";
import { runAgent, type ModelRequest } from "../../src/agent/loop";
import { MemoryHost } from "../../src/agent/memory-host";
import { callModel } from "../../src/agent/model-client";
import { buildSystemPrompt, buildTools } from "../../src/agent/prompt";
import { executeTool, MAX_TOOL_OUTPUT_CHARS } from "../../src/agent/tools";
import { BudgetExceededError, ForkyardError, SandboxGoneError } from "../../src/core/errors";
import { REPO_DIR } from "../../src/sandbox/git";
import { EnvdClient } from "../../src/sandbox/envd-client";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { e2bOptions, gateCommand, newGate, sandboxAdmin } from "./helpers";

const anthropic = env as unknown as { ANTHROPIC_BASE_URL: string; ANTHROPIC_API_KEY: string };

// Step results cross the Workflow step boundary: they must be serializable.
type Serializable<T> = T extends Rpc.Serializable<T> ? true : false;
const stepResultsSerialize: [Serializable<ModelTurn>, Serializable<ToolTurn>] = [true, true];
void stepResultsSerialize;

const agentInput = { prompt: "Do it", model: "claude-sonnet-5-5", system: [{ type: "text" as const, text: "sys" }], tools: buildTools() };

describe("executeTool in a real sandbox (local sandbox server)", () => {
  let sandbox: Sandbox;
  let session: EnvdClient;
  const run = (name: string, input: JsonObject, remainingMs = 60_000) => executeTool(session, { name, input }, { remainingMs });
  const edit = (input: JsonObject) => run("str_replace_based_edit_tool", input);

  beforeAll(async () => {
    sandbox = await Sandbox.create("base", { ...e2bOptions(), metadata: { purpose: "agent-units" }, timeoutMs: 120_000 });
    await sandbox.commands.run(`mkdir -p ${REPO_DIR}`);
    session = await EnvdClient.open({ connection: e2bOptions(), secrets: [] }, sandbox.sandboxId);
  });
  afterAll(async () => {
    await Sandbox.kill(sandbox.sandboxId, e2bOptions()).catch(() => false);
  });

  it("creates, views (whole, ranged, directory) and edits files relative to the repository", async () => {
    expect(await edit({ command: "create", path: "src/app.txt", file_text: "alpha\nbeta\ngamma\nbeta\n" })).toEqual({ content: `File created successfully at: ${REPO_DIR}/src/app.txt`, isError: false });
    expect(await sandbox.files.read(`${REPO_DIR}/src/app.txt`)).toBe("alpha\nbeta\ngamma\nbeta\n");
    await edit({ command: "create", path: `${REPO_DIR}/.hidden/x`, file_text: "h" });

    const view = await edit({ command: "view", path: "src/app.txt" });
    expect(view.isError).toBe(false);
    expect(view.content).toBe(`Here's the result of running \`cat -n\` on ${REPO_DIR}/src/app.txt:\n     1\talpha\n     2\tbeta\n     3\tgamma\n     4\tbeta\n`);
    expect((await edit({ command: "view", path: "src/app.txt", view_range: [2, 3] })).content).toContain("     2\tbeta\n     3\tgamma\n");
    expect((await edit({ command: "view", path: "src/app.txt", view_range: [3, -1] })).content).toContain("     3\tgamma\n     4\tbeta\n");
    expect(await edit({ command: "view", path: "src/app.txt", view_range: [9, 10] })).toMatchObject({ isError: true });

    const dir = await edit({ command: "view", path: "." });
    expect(dir.isError).toBe(false);
    expect(dir.content).toContain(`${REPO_DIR}/src/\n`);
    expect(dir.content).toContain(`${REPO_DIR}/src/app.txt`);
    expect(dir.content).not.toContain(".hidden");
  });

  it("replaces exactly one occurrence, and explains a missing or repeated old_str without editing", async () => {
    await edit({ command: "create", path: "r.txt", file_text: "one\ntwo\nthree\ntwo\n" });
    const repeated = await edit({ command: "str_replace", path: "r.txt", old_str: "two", new_str: "2" });
    expect(repeated.isError).toBe(true);
    expect(repeated.content).toContain("occurs 2 times");
    expect(repeated.content).toContain("lines 2, 4");
    const missing = await edit({ command: "str_replace", path: "r.txt", old_str: "four", new_str: "4" });
    expect(missing).toMatchObject({ isError: true });
    expect(missing.content).toContain("did not appear verbatim");
    expect(await sandbox.files.read(`${REPO_DIR}/r.txt`)).toBe("one\ntwo\nthree\ntwo\n");

    const ok = await edit({ command: "str_replace", path: "r.txt", old_str: "three\ntwo", new_str: "3\n2" });
    expect(ok.isError).toBe(false);
    expect(ok.content).toContain("has been edited");
    expect(await sandbox.files.read(`${REPO_DIR}/r.txt`)).toBe("one\ntwo\n3\n2\n");
  });

  it("inserts after a line (0 = top, n = end) and rejects a line out of range", async () => {
    await edit({ command: "create", path: "i.txt", file_text: "a\nb\n" });
    expect((await edit({ command: "insert", path: "i.txt", insert_line: 0, insert_text: "top" })).isError).toBe(false);
    expect((await edit({ command: "insert", path: "i.txt", insert_line: 3, new_str: "end\nmore" })).isError).toBe(false);
    expect(await sandbox.files.read(`${REPO_DIR}/i.txt`)).toBe("top\na\nb\nend\nmore\n");
    const bad = await edit({ command: "insert", path: "i.txt", insert_line: 99, insert_text: "x" });
    expect(bad.isError).toBe(true);
    expect(bad.content).toContain("insert_line");
  });

  it("reports tool errors as results: missing file, bad input, unknown command or tool", async () => {
    const missing = await edit({ command: "view", path: "nope.txt" });
    expect(missing.isError).toBe(true);
    expect(missing.content).toMatch(/no such file/i);
    expect(await edit({ command: "str_replace", path: "nope.txt", old_str: "a", new_str: "b" })).toMatchObject({ isError: true });
    expect(await edit({ command: "create", path: "x.txt" })).toEqual({ content: "Parameter `file_text` is required.", isError: true });
    expect(await edit({ command: "undo_edit", path: "x.txt" })).toMatchObject({ isError: true });
    expect(await edit({ command: "create", path: "/etc/forkyard-denied.txt", file_text: "x" })).toMatchObject({ isError: true });
    expect(await edit({ command: "view", path: "/etc/forkyard-nowhere" })).toMatchObject({ isError: true });
    expect(await run("python", { code: "1" })).toMatchObject({ isError: true });
    expect(await run("bash", { command: 42 })).toMatchObject({ isError: true });
  });

  it("runs bash in the repository with merged output and the exit code", async () => {
    const ok = await run("bash", { command: "pwd; echo out; echo err >&2" });
    expect(ok).toEqual({ content: `${REPO_DIR}\nout\nerr\n[exit code: 0]`, isError: false });
    expect(await run("bash", { command: "cat src/app.txt | wc -l; exit 3" })).toEqual({ content: "4\n[exit code: 3]", isError: false });
    expect(await run("bash", { restart: true })).toMatchObject({ isError: false });
    const env = await executeTool(session, { name: "bash", input: { command: 'echo "${FORKYARD_COMMAND:-unset} $FORKYARD_FORK"' } }, { remainingMs: 60_000, envs: { FORKYARD_FORK: "2" } });
    expect(env).toEqual({ content: "unset 2\n[exit code: 0]", isError: false });
  });

  it("streams a bash command's output while it runs (live output), with the same result", async () => {
    const gate = newGate();
    let live = "";
    const call = executeTool(session, { name: "bash", input: { command: `echo before; echo err >&2; ${gateCommand(gate)}; echo after` } }, {
      remainingMs: 60_000,
      onOutput: (stream, chunk) => {
        expect(stream).toBe("stdout");
        live += chunk;
      },
    });
    await vi.waitFor(() => expect(live).toBe("before\nerr\n"), { timeout: 10_000 });
    await sandboxAdmin.openGate(gate);
    expect(await call).toEqual({ content: "before\nerr\nafter\n[exit code: 0]", isError: false });
    expect(live).toBe("before\nerr\nafter\n");
    // A background process that keeps running does not hold the call.
    expect(await executeTool(session, { name: "bash", input: { command: "(sleep 30 &) ; echo started" } }, { remainingMs: 60_000, onOutput: () => undefined })).toEqual({ content: "started\n[exit code: 0]", isError: false });
  });

  it("bounds large output, keeping head and tail", async () => {
    const big = await run("bash", { command: "echo START; seq 1 20000; echo END" });
    expect(big.content.length).toBeLessThanOrEqual(MAX_TOOL_OUTPUT_CHARS);
    expect(big.content.startsWith("START\n1\n2\n")).toBe(true);
    expect(big.content).toContain("bytes truncated");
    expect(big.content.endsWith("20000\nEND\n[exit code: 0]")).toBe(true);
  });

  it("stops a command at the fork's remaining time", async () => {
    // Not stopped, the command would end (after 20 s) with exit code 0.
    const slow = await run("bash", { command: "sleep 20" }, 1_500);
    expect(slow.content).toContain("timed out after 1 s");
    expect(slow.content).not.toContain("[exit code: 0]");
  });

  it("stops a running command when its step's signal is aborted (a heartbeat found the budget spent), and says why", async () => {
    const gate = newGate();
    const stop = new AbortController();
    let live = "";
    // Not stopped, the command would wait for its gate, which never opens.
    const call = executeTool(session, { name: "bash", input: { command: `echo before; ${gateCommand(gate)}; echo after` } }, { remainingMs: 60_000, signal: stop.signal, onOutput: (_s, chunk) => (live += chunk) });
    await vi.waitFor(() => expect(live).toBe("before\n"), { timeout: 10_000 });
    stop.abort(new BudgetExceededError("The run's budget is spent."));
    const result = await call;
    expect(result.content).toMatch(/\[stopped: The run's budget is spent\.\]$/);
    expect(result.content).not.toContain("after");
    // A signal aborted before the command starts runs nothing: the step ends with its reason.
    await expect(executeTool(session, { name: "bash", input: { command: "touch never.txt" } }, { remainingMs: 60_000, signal: stop.signal })).rejects.toBeInstanceOf(BudgetExceededError);
    expect(await sandbox.files.exists(`${REPO_DIR}/never.txt`)).toBe(false);
  });

  it("long command streams in one invocation never block one another: 10 run at once, beyond the 6 connections waiting for headers", async () => {
    const gate = newGate();
    const started = new Set<number>();
    const commands = Array.from({ length: 10 }, (_, i) =>
      session.exec(`echo started; ${gateCommand(gate)}; echo done ${i}`, { timeoutMs: 60_000, onStdout: (chunk) => chunk.includes("started") && started.add(i) }),
    );
    // Every command is running (a stream's headers came with its start) before any of them may end.
    await vi.waitFor(() => expect(started.size).toBe(10), { timeout: 20_000 });
    await sandboxAdmin.openGate(gate);
    const results = await Promise.all(commands);
    expect(results.map((r) => r.stdoutTail)).toEqual(results.map((_, i) => `started\ndone ${i}\n`));
  });

  it("throws (for the step to retry or fail) when the sandbox itself is gone", async () => {
    const doomed = await Sandbox.create("base", { ...e2bOptions(), metadata: { purpose: "agent-units" }, timeoutMs: 60_000 });
    const doomedSession = await EnvdClient.open({ connection: e2bOptions(), secrets: [] }, doomed.sandboxId);
    await doomed.kill();
    const probes: Array<{ name: string; input: JsonObject }> = [
      { name: "bash", input: { command: "echo hi" } },
      { name: "str_replace_based_edit_tool", input: { command: "view", path: "a.txt" } },
    ];
    for (const call of probes) {
      const err = await executeTool(doomedSession, call, { remainingMs: 60_000 }).then(
        (r) => r,
        (e: unknown) => e,
      );
      expect(err, call.name).toBeInstanceOf(ForkyardError);
      expect([SandboxGoneError.name, "SandboxUnavailableError"]).toContain((err as ForkyardError).name);
    }
  });
});

describe("callModel against the scripted Messages API", () => {
  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${anthropic.ANTHROPIC_BASE_URL}${path}`, body === undefined ? { method: path === "/__calls" ? "GET" : "POST" } : { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return res.json();
  };
  const script = (turns: ScriptedReply[]) => admin("/__script", { turns });
  const calls = async () => (await admin("/__calls")) as RecordedCall[];
  const config = () => ({ apiKey: anthropic.ANTHROPIC_API_KEY, baseURL: anthropic.ANTHROPIC_BASE_URL });
  const request: ModelRequest = { model: "claude-sonnet-5-5", system: [{ type: "text", text: "sys" }], tools: buildTools(), messages: buildMessages("hello", []), maxTokens: 1000 };

  beforeEach(async () => {
    await admin("/__reset");
  });

  it("maps the response to a ModelTurn: content, stop reason, model and usage with cache tokens", async () => {
    await script([
      {
        content: [
          { type: "thinking", thinking: "hmm", signature: "sig-1" },
          { type: "text", text: "Running ls." },
          { type: "tool_use", id: "toolu_01X", name: "bash", input: { command: "ls", nested: [1, { a: null }] } },
        ],
        usage: { input_tokens: 12, output_tokens: 34, cache_read_input_tokens: 5600, cache_creation_input_tokens: 780 },
      },
    ]);
    const turn = await callModel(config(), request);
    expect(turn).toEqual({
      stopReason: "tool_use",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig-1" },
        { type: "text", text: "Running ls." },
        { type: "tool_use", id: "toolu_01X", name: "bash", inputJson: '{"command":"ls","nested":[1,{"a":null}]}' },
      ],
      usage: { input: 12, output: 34, cacheRead: 5600, cacheWrite: 780 },
      model: "claude-sonnet-5-5",
    });
    const [call] = await calls();
    expect(call?.apiKeyMatched).toBe(true);
    expect(call?.body).toMatchObject({ model: "claude-sonnet-5-5", max_tokens: 1000, tools: buildTools(), system: [{ type: "text", text: "sys" }] });
    expect(JSON.stringify(await calls())).not.toContain(anthropic.ANTHROPIC_API_KEY);
  });

  it("fails a rejected key at once (model_auth_failed, not retryable) without leaking the key", async () => {
    const err = await callModel({ ...config(), apiKey: "sk-ant-wrong-key-1234" }, request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelAuthError);
    expect((err as ModelAuthError).code).toBe("model_auth_failed");
    expect((err as ModelAuthError).retryable).toBe(false);
    expect(JSON.stringify({ message: (err as Error).message, details: (err as ModelAuthError).details })).not.toContain("sk-ant-wrong-key-1234");
    expect((await calls()).map((c) => c.apiKeyMatched)).toEqual([false]);
  });

  it("classifies overload, rate limits and 5xx as retryable model_unavailable, one HTTP call each", async () => {
    await admin("/__faults", { errors: [{ kind: "overloaded", count: 1 }, { kind: "rate_limit", count: 1, retryAfterSeconds: 9 }, { kind: "server_error", count: 1 }] });
    const overloaded = await callModel(config(), request).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(ModelUnavailableError);
    expect((overloaded as ModelUnavailableError).code).toBe("model_unavailable");
    expect((overloaded as ModelUnavailableError).retryable).toBe(true);
    expect((overloaded as ModelUnavailableError).details).toMatchObject({ status: 529, type: "overloaded_error" });
    const limited = await callModel(config(), request).catch((e: unknown) => e);
    expect((limited as ModelUnavailableError).retryAfterSeconds).toBe(9);
    const internal = await callModel(config(), request).catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(ModelUnavailableError);
    expect((await calls()).map((c) => c.status)).toEqual([529, 429, 500]);
  });

  it("classifies a malformed request as non-retryable, and an unreachable API as retryable", async () => {
    const orphan: ModelRequest = { ...request, messages: [...request.messages, { role: "assistant", content: [{ type: "tool_use", id: "t", name: "bash", input: {} }] }, { role: "user", content: "no result" }] };
    const bad = await callModel(config(), orphan).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ModelRequestError);
    expect((bad as ModelRequestError).retryable).toBe(false);
    const down = await callModel({ ...config(), baseURL: "http://127.0.0.1:9" }, request).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ModelUnavailableError);
  });

  it("runs the whole loop: scripted model, real tools in a sandbox, every request accepted by the API's rules", async () => {
    const sandbox = await Sandbox.create("base", { ...e2bOptions(), metadata: { purpose: "agent-units" }, timeoutMs: 120_000 });
    try {
      await sandbox.commands.run(`mkdir -p ${REPO_DIR}`);
      const session = await EnvdClient.open({ connection: e2bOptions(), secrets: [] }, sandbox.sandboxId);
      await script([
        { content: [{ type: "text", text: "Creating the file." }, { type: "tool_use", id: "toolu_c", name: "str_replace_based_edit_tool", input: { command: "create", path: "hello.txt", file_text: "hello\n" } }] },
        { content: [{ type: "tool_use", id: "toolu_r", name: "bash", input: { command: "cat hello.txt && exit 1" } }, { type: "tool_use", id: "toolu_v", name: "str_replace_based_edit_tool", input: { command: "view", path: "missing.txt" } }] },
        { content: [{ type: "text", text: "Created hello.txt." }], echoToolResults: true },
      ]);
      const host = new MemoryHost();
      const result = await runAgent(
        host,
        { callModel: (req) => callModel(config(), req), executeTool: (call) => executeTool(session, call, { remainingMs: 60_000 }) },
        { ...agentInput, system: buildSystemPrompt({ repo: "https://github.com/o/r.git", baseBranch: "main", workBranch: "forkyard/r/1", fork: 1, forks: 1 }), maxTokens: 1000 },
      );
      expect(result.stopReason).toBe("end_turn");
      expect(result.turns).toBe(3);
      expect(result.toolCalls).toBe(3);
      expect(result.summary).toContain("Created hello.txt.");
      expect(result.summary).toContain('"tool_use_id":"toolu_v"');
      expect(result.summary).toContain('"is_error":true');
      expect(result.llmCostUsd).toBeGreaterThan(0);
      expect(await sandbox.files.read(`${REPO_DIR}/hello.txt`)).toBe("hello\n");
      const recorded = await calls();
      expect(recorded.map((c) => c.status)).toEqual([200, 200, 200]);
      const lastBody = recorded[2]?.body as { messages: MessageParam[] };
      expect(lastBody.messages).toHaveLength(5);
      expect(lastBody.messages[4]?.content).toEqual([
        { type: "tool_result", tool_use_id: "toolu_r", content: "hello\n[exit code: 1]" },
        expect.objectContaining({ type: "tool_result", tool_use_id: "toolu_v", is_error: true, cache_control: { type: "ephemeral" } }),
      ]);
    } finally {
      await sandbox.kill();
    }
  });
});
