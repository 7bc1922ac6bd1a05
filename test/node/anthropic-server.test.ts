import Anthropic, { APIError, AuthenticationError, BadRequestError, InternalServerError, RateLimitError } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { lastToolResults, startScriptedAnthropic, type ScriptedAnthropic } from "../support/anthropic-server.ts";

const KEY = "sk-ant-node-test-0000";

describe("scripted Anthropic server, through the official SDK", () => {
  let server: ScriptedAnthropic;
  const client = (opts: { apiKey?: string; maxRetries?: number } = {}) => new Anthropic({ apiKey: opts.apiKey ?? KEY, baseURL: server.url, maxRetries: opts.maxRetries ?? 0 });

  beforeAll(async () => {
    server = await startScriptedAnthropic({ apiKey: KEY });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  it("answers the script in order with messages the SDK parses, and records requests without the key", async () => {
    server.setScript([
      { content: [{ type: "text", text: "Looking." }, { type: "tool_use", id: "toolu_01", name: "bash", input: { command: "ls" } }], usage: { input_tokens: 120, output_tokens: 30, cache_creation_input_tokens: 900, cache_read_input_tokens: 0 } },
      (request) => ({ content: [{ type: "text", text: `saw ${JSON.stringify(lastToolResults(request))}` }] }),
    ]);
    const sdk = client();
    const tools: Anthropic.ToolUnion[] = [{ type: "bash_20250124", name: "bash", cache_control: { type: "ephemeral" } }];
    const first = await sdk.messages.create({ model: "claude-sonnet-5-5", max_tokens: 100, tools, messages: [{ role: "user", content: "hi" }] });
    expect(first.id).toMatch(/^msg_01/);
    expect(first.type).toBe("message");
    expect(first.role).toBe("assistant");
    expect(first.model).toBe("claude-sonnet-5-5");
    expect(first.stop_reason).toBe("tool_use");
    expect(first.content[1]).toMatchObject({ type: "tool_use", id: "toolu_01", name: "bash", input: { command: "ls" } });
    expect(first.usage).toMatchObject({ input_tokens: 120, output_tokens: 30, cache_creation_input_tokens: 900, cache_read_input_tokens: 0 });

    const second = await sdk.messages.create({
      model: "claude-sonnet-5-5",
      max_tokens: 100,
      tools,
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: first.content.map((b) => (b.type === "tool_use" ? { type: "tool_use" as const, id: b.id, name: b.name, input: b.input } : { type: "text" as const, text: b.type === "text" ? b.text : "" })) },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "a.txt", is_error: false }] },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    expect(second.content[0]).toMatchObject({ type: "text", text: 'saw [{"tool_use_id":"toolu_01","content":"a.txt","is_error":false}]' });

    const calls = server.calls();
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => c.apiKeyMatched === true && c.status === 200)).toBe(true);
    expect(JSON.stringify(calls)).not.toContain(KEY);
    expect(calls[0]?.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(calls[0]?.headers.authorization).toBeUndefined();
  });

  it("rejects what the real API rejects: a tool_use without its tool_result", async () => {
    const err = await client()
      .messages.create({
        model: "claude-sonnet-5-5",
        max_tokens: 100,
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: [{ type: "tool_use", id: "toolu_x", name: "bash", input: {} }] },
          { role: "user", content: "no result" },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).type).toBe("invalid_request_error");
  });

  it("injects faults in Anthropic's error shape: 429 with retry-after, 529, 500, then a wrong key is 401", async () => {
    server.setFaults({ errors: [{ kind: "rate_limit", count: 1, retryAfterSeconds: 7 }, { kind: "overloaded", count: 1 }, { kind: "server_error", count: 1 }] });
    const request = { model: "claude-haiku-5-5", max_tokens: 10, messages: [{ role: "user" as const, content: "x" }] };
    const rate = await client().messages.create(request).catch((e: unknown) => e);
    expect(rate).toBeInstanceOf(RateLimitError);
    expect((rate as RateLimitError).headers.get("retry-after")).toBe("7");
    expect((rate as RateLimitError).type).toBe("rate_limit_error");
    const overloaded = await client().messages.create(request).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(InternalServerError);
    expect((overloaded as APIError).status).toBe(529);
    expect((overloaded as APIError).type).toBe("overloaded_error");
    const internal = await client().messages.create(request).catch((e: unknown) => e);
    expect((internal as APIError).status).toBe(500);
    const auth = await client({ apiKey: "sk-ant-wrong" }).messages.create(request).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AuthenticationError);
    expect((auth as APIError).type).toBe("authentication_error");
    expect(server.calls().map((c) => [c.status, c.fault ?? null, c.apiKeyMatched])).toEqual([
      [429, "rate_limit", true],
      [529, "overloaded", true],
      [500, "server_error", true],
      [401, null, false],
    ]);
  });

  it("lets the SDK's own retries ride over an overload (the SDK honours the server's answers)", async () => {
    server.setFaults({ errors: [{ kind: "overloaded", count: 1 }] });
    server.setScript([{ content: [{ type: "text", text: "after retry" }] }]);
    const message = await client({ maxRetries: 2 }).messages.create({ model: "claude-opus-5-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    expect(message.content[0]).toMatchObject({ text: "after retry" });
    expect(server.calls().map((c) => c.status)).toEqual([529, 200]);
  });

  it("is driven over HTTP by its admin API (what workerd tests use)", async () => {
    await fetch(`${server.url}/__script`, { method: "POST", body: JSON.stringify({ turns: [{ content: [{ type: "text", text: "via admin" }], delayMs: 5 }] }) });
    await fetch(`${server.url}/__faults`, { method: "POST", body: JSON.stringify({ latencyMs: 400 }) });
    // Ordered, not timed: the admin call made after the delayed message answers first.
    const order: string[] = [];
    const pending = client()
      .messages.create({ model: "claude-sonnet-5-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .then((m) => (order.push("message"), m));
    await fetch(`${server.url}/__calls`).then(() => order.push("admin"));
    const message = await pending;
    expect(order).toEqual(["admin", "message"]);
    expect(message.content[0]).toMatchObject({ text: "via admin" });
    const calls = (await (await fetch(`${server.url}/__calls`)).json()) as Array<{ status: number }>;
    expect(calls.map((c) => c.status)).toEqual([200]);
    await fetch(`${server.url}/__reset`, { method: "POST" });
    expect(await (await fetch(`${server.url}/__calls`)).json()).toEqual([]);
  });
});
