/**
 * A scripted Anthropic Messages API for tests and benchmarks (Node http on 127.0.0.1). POST
 * /v1/messages answers, in order, the turns of a script (a turn may be a function of the request,
 * e.g. to echo tool results) with responses shaped like the real API's, so the official SDK parses
 * them unchanged. It validates what the real API would reject (headers, roles, tool_use/tool_result
 * pairing, empty text, more than 4 cache breakpoints), records every request (never the key: only
 * whether it matched), answers `stream: true` as server-sent events (message_start … message_stop,
 * the usage split between message_start and message_delta as the real API does), and injects latency and faults (429 with retry-after, 529, 500, 401).
 * Workerd tests drive it over HTTP: POST /__script, GET /__calls, POST /__reset, POST /__faults.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type ScriptedBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id?: string; name: string; input: Record<string, unknown> }
  | { type: "thinking"; thinking: string; signature?: string };

export interface ScriptedUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface ScriptedReply {
  content: ScriptedBlock[];
  /** Default: `tool_use` when the content calls a tool, else `end_turn`. */
  stop_reason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "refusal";
  /** Default: estimated from the request and reply sizes (about 4 characters per token), no cache. */
  usage?: Partial<ScriptedUsage>;
  /** Default: the requested model. */
  model?: string;
  delayMs?: number;
  /** Appends a text block quoting the request's last tool results (for scripts sent over HTTP). */
  echoToolResults?: boolean;
  /**
   * Answers only a request whose messages (as JSON) include / exclude these strings: with
   * concurrent conversations (branched forks), each reply goes to its own. The first unused turn
   * that matches answers.
   */
  when?: { includes?: string; excludes?: string };
}

/** A request body as received (loosely typed: the server validates what it relies on). */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: unknown;
  tools?: unknown[];
  messages: Array<{ role: string; content: string | Array<Record<string, unknown>> }>;
  [key: string]: unknown;
}

export type ScriptTurn = ScriptedReply | ((request: MessagesRequest, callIndex: number) => ScriptedReply);

export type FaultKind = "rate_limit" | "overloaded" | "server_error" | "auth";

export interface Faults {
  /** Added before every answer. */
  latencyMs?: number;
  /** Answered, in order, by the next calls instead of the script: `count` calls each. */
  errors?: Array<{ kind: FaultKind; count: number; retryAfterSeconds?: number }>;
}

export interface RecordedCall {
  index: number;
  method: string;
  path: string;
  status: number;
  /** Whether the API key (x-api-key or Bearer) equalled the expected key (null when the server expects none). The key is never stored. */
  apiKeyMatched: boolean | null;
  /** Request headers, without x-api-key and authorization. */
  headers: Record<string, string>;
  body: unknown;
  fault?: FaultKind;
  /** The script had no turn left; a closing end_turn reply was sent. */
  scriptExhausted?: boolean;
}

export interface ScriptedAnthropic {
  url: string;
  close(): Promise<void>;
  setScript(turns: ScriptTurn[]): void;
  calls(): RecordedCall[];
  reset(): void;
  setFaults(faults: Faults): void;
}

export interface ScriptedAnthropicOptions {
  /** When set, requests must carry this API key (else 401, as the real API). */
  apiKey?: string;
  host?: string;
  port?: number;
}

class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

const FAULTS: Record<FaultKind, { status: number; type: string; message: string }> = {
  rate_limit: { status: 429, type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" },
  overloaded: { status: 529, type: "overloaded_error", message: "Overloaded" },
  server_error: { status: 500, type: "api_error", message: "Internal server error" },
  auth: { status: 401, type: "authentication_error", message: "invalid x-api-key" },
};

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomId(prefix: string, length = 24): string {
  return prefix + Array.from(randomBytes(length), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join("");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function blocksOf(content: string | Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

/** The tool results carried by the request's last message. */
export function lastToolResults(request: MessagesRequest): Array<{ tool_use_id: string; content: unknown; is_error: boolean }> {
  const last = request.messages[request.messages.length - 1];
  if (!last || last.role !== "user") return [];
  return blocksOf(last.content)
    .filter((b) => b.type === "tool_result")
    .map((b) => ({ tool_use_id: String(b.tool_use_id), content: b.content, is_error: b.is_error === true }));
}

function countCacheControl(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + countCacheControl(v), 0);
  if (!isRecord(value)) return 0;
  return (value.cache_control ? 1 : 0) + Object.entries(value).reduce((n, [k, v]) => (k === "cache_control" ? n : n + countCacheControl(v)), 0);
}

/** The checks of the real API this server relies on, with its error messages' gist. */
function validate(body: unknown): MessagesRequest {
  const bad = (message: string): never => {
    throw new HttpError(400, "invalid_request_error", message);
  };
  if (!isRecord(body)) return bad("Request body must be a JSON object");
  if (typeof body.model !== "string" || body.model === "") bad("model: Field required");
  if (typeof body.max_tokens !== "number" || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) bad("max_tokens: Field required (a positive integer)");
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return bad("messages: at least one message is required");
  let pendingToolUses: string[] = [];
  messages.forEach((message: unknown, i: number) => {
    if (!isRecord(message) || (message.role !== "user" && message.role !== "assistant")) bad(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    const m = message as { role: string; content: unknown };
    if (i === 0 && m.role !== "user") bad("messages: first message must use the \"user\" role");
    if (typeof m.content !== "string" && !Array.isArray(m.content)) bad(`messages.${i}.content: Field required`);
    const blocks = blocksOf(m.content as string | Array<Record<string, unknown>>);
    if (blocks.length === 0 && i < messages.length - 1) bad(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
    for (const [j, block] of blocks.entries()) {
      if (block.type === "text" && (typeof block.text !== "string" || block.text === "")) bad(`messages.${i}.content.${j}.text: text content blocks must be non-empty`);
    }
    if (pendingToolUses.length > 0) {
      const answered = new Set(m.role === "user" ? blocks.filter((b) => b.type === "tool_result").map((b) => String(b.tool_use_id)) : []);
      const missing = pendingToolUses.filter((id) => !answered.has(id));
      if (missing.length > 0) bad(`messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
    }
    if (m.role === "user") {
      const previous: unknown = i > 0 ? messages[i - 1] : undefined;
      const offered = new Set(isRecord(previous) && previous.role === "assistant" ? blocksOf(previous.content as string | Array<Record<string, unknown>>).filter((b) => b.type === "tool_use").map((b) => String(b.id)) : []);
      for (const [j, block] of blocks.entries()) {
        if (block.type === "tool_result" && !offered.has(String(block.tool_use_id))) bad(`messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
      }
      pendingToolUses = [];
    } else {
      pendingToolUses = blocks.filter((b) => b.type === "tool_use").map((b) => String(b.id));
    }
  });
  const breakpoints = countCacheControl(body.tools) + countCacheControl(body.system) + countCacheControl(messages);
  if (breakpoints > 4) bad(`A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`);
  return body as MessagesRequest;
}

function estimateTokens(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? "").length / 4));
}

function renderReply(reply: ScriptedReply, request: MessagesRequest): Record<string, unknown> {
  const content: Array<Record<string, unknown>> = reply.content.map((block) => {
    if (block.type === "tool_use") return { type: "tool_use", id: block.id ?? randomId("toolu_01"), name: block.name, input: block.input };
    if (block.type === "thinking") return { type: "thinking", thinking: block.thinking, signature: block.signature ?? randomId("sig_", 32) };
    return { type: "text", text: block.text };
  });
  if (reply.echoToolResults) content.push({ type: "text", text: `tool results: ${JSON.stringify(lastToolResults(request))}` });
  const usage: ScriptedUsage = {
    input_tokens: estimateTokens({ system: request.system, tools: request.tools, messages: request.messages }),
    output_tokens: estimateTokens(content),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    ...reply.usage,
  };
  return {
    id: randomId("msg_01"),
    type: "message",
    role: "assistant",
    model: reply.model ?? request.model,
    content,
    stop_reason: reply.stop_reason ?? (content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn"),
    stop_sequence: null,
    usage: {
      ...usage,
      cache_creation: { ephemeral_5m_input_tokens: usage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 },
      service_tier: "standard",
    },
  };
}

// Unref'd: a reply still delayed when the server closes does not keep the process alive.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, "invalid_request_error", "The request body is not valid JSON");
  }
}

/** A rendered reply as the real API streams it: the input usage in message_start, the output count in message_delta. */
function sendStream(res: ServerResponse, message: Record<string, unknown>): void {
  const usage = message.usage as ScriptedUsage;
  const events: Array<[string, unknown]> = [["message_start", { type: "message_start", message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }]];
  (message.content as Array<Record<string, unknown>>).forEach((block, index) => {
    const text = block.type === "text";
    events.push(["content_block_start", { type: "content_block_start", index, content_block: text ? { type: "text", text: "" } : block }]);
    if (text) events.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: block.text } }]);
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
  });
  events.push(["message_delta", { type: "message_delta", delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }]);
  events.push(["message_stop", { type: "message_stop" }]);
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": randomId("req_011") });
  res.end(events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join(""));
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), "request-id": randomId("req_011"), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { type: "error", error: { type, message }, request_id: randomId("req_011") }, headers);
}

/** The API key as sent: `x-api-key`, or `Authorization: Bearer <key>` (what SDK 1.x sends). */
function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers["x-api-key"];
  if (typeof header === "string" && header !== "") return header;
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
  return bearer?.[1];
}

function recordedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === "x-api-key" || name === "authorization" || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function matches(when: ScriptedReply["when"], request: MessagesRequest): boolean {
  if (!when) return true;
  const text = JSON.stringify(request.messages);
  return (when.includes === undefined || text.includes(when.includes)) && (when.excludes === undefined || !text.includes(when.excludes));
}

export async function startScriptedAnthropic(options: ScriptedAnthropicOptions = {}): Promise<ScriptedAnthropic> {
  let script: ScriptTurn[] = [];
  let used = new Set<number>();
  let recorded: RecordedCall[] = [];
  let latencyMs = 0;
  let pendingFaults: Array<{ kind: FaultKind; retryAfterSeconds?: number }> = [];

  const setScript = (turns: ScriptTurn[]) => {
    script = [...turns];
    used = new Set();
  };
  const setFaults = (faults: Faults) => {
    latencyMs = faults.latencyMs ?? 0;
    pendingFaults = (faults.errors ?? []).flatMap((e) => Array.from({ length: e.count }, () => ({ kind: e.kind, retryAfterSeconds: e.retryAfterSeconds })));
  };
  const reset = () => {
    setScript([]);
    setFaults({});
    recorded = [];
  };

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === "GET" && path === "/__calls") return send(res, 200, recorded);
    if (req.method === "POST" && path === "/__reset") {
      reset();
      return send(res, 200, { ok: true });
    }
    if (req.method === "POST" && path === "/__script") {
      const body = await readJson(req);
      if (!isRecord(body) || !Array.isArray(body.turns)) return sendError(res, 400, "invalid_request_error", "expected {turns: ScriptedReply[]}");
      setScript(body.turns as ScriptedReply[]);
      return send(res, 200, { ok: true, turns: body.turns.length });
    }
    if (req.method === "POST" && path === "/__faults") {
      const body = await readJson(req);
      setFaults(isRecord(body) ? (body as Faults) : {});
      return send(res, 200, { ok: true });
    }
    return sendError(res, 404, "not_found_error", `Not found: ${req.method} ${path}`);
  }

  async function messages(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const index = recorded.length;
    const presented = presentedKey(req);
    const call: RecordedCall = {
      index,
      method: req.method ?? "",
      path,
      status: 0,
      apiKeyMatched: options.apiKey === undefined ? null : presented === options.apiKey,
      headers: recordedHeaders(req),
      body: undefined,
    };
    recorded.push(call);
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      call.status = status;
      if (status === 200 && isRecord(call.body) && call.body.stream === true) sendStream(res, body as Record<string, unknown>);
      else send(res, status, body, headers);
    };
    const fail = (status: number, type: string, message: string, headers?: Record<string, string>) => {
      call.status = status;
      sendError(res, status, type, message, headers);
    };
    try {
      call.body = await readJson(req);
      if (latencyMs > 0) await sleep(latencyMs);
      const fault = pendingFaults.shift();
      if (fault) {
        call.fault = fault.kind;
        const f = FAULTS[fault.kind];
        const headers: Record<string, string> = fault.kind === "rate_limit" ? { "retry-after": String(fault.retryAfterSeconds ?? 1) } : {};
        if (fault.kind === "overloaded") headers["x-should-retry"] = "true";
        return fail(f.status, f.type, f.message, headers);
      }
      if (call.apiKeyMatched === false) return fail(401, "authentication_error", "invalid x-api-key");
      if (presented === undefined) return fail(401, "authentication_error", "x-api-key header is required");
      if (!req.headers["anthropic-version"]) return fail(400, "invalid_request_error", "anthropic-version: header is required");
      const request = validate(call.body);
      const next = script.findIndex((t, i) => !used.has(i) && (typeof t === "function" || matches(t.when, request)));
      const turn = script[next];
      if (turn === undefined) {
        call.scriptExhausted = true;
        return answer(200, renderReply({ content: [{ type: "text", text: "(scripted server: script exhausted)" }], stop_reason: "end_turn" }, request));
      }
      used.add(next);
      const reply = typeof turn === "function" ? turn(request, index) : turn;
      if (reply.delayMs) await sleep(reply.delayMs);
      return answer(200, renderReply(reply, request));
    } catch (err) {
      if (err instanceof HttpError) return fail(err.status, err.type, err.message);
      return fail(500, "api_error", err instanceof Error ? err.message : String(err));
    }
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const handler = path.startsWith("/__") ? admin(req, res, path) : path === "/v1/messages" && req.method === "POST" ? messages(req, res, path) : undefined;
    if (!handler) return sendError(res, 404, "not_found_error", `Not found: ${req.method} ${path}`);
    handler.catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, "api_error", err instanceof Error ? err.message : String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;

  return {
    url: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    setScript,
    calls: () => structuredClone(recorded),
    reset,
    setFaults,
  };
}
