/**
 * The Worker's Messages proxy: what an agent runtime inside a sandbox (the `claude-code` runtime)
 * calls instead of the model API, with a per-fork token instead of a key. Each call is checked
 * (token, run, lease still held), its worst case — the prompt and the full `max_tokens` — reserved
 * against the run's budget, forwarded with the Worker's own key, metered from the answer as it
 * streams through, and booked at what it used. A call the budget cannot cover is refused (402
 * `budget_exceeded`) before it reaches the model.
 */
import { expectedCallCostUsd, parseModelPrices, usageCostUsd, type PriceTable } from "../agent/pricing";
import type { Env } from "../core/env";
import { loadConfig } from "../core/env";
import { AgentUnavailableError, ForkyardError, fromWireError, InvalidInputError, UnauthorizedError } from "../core/errors";
import { errorFields, log } from "../observability/log";
import { POOL_NAME } from "../protocol/events";
import { StreamUsageMeter, usageOfBody } from "./meter";
import { verifyProxyToken, type ProxyGrant } from "./token";

/** The model API's request size limit (32 MB): a larger body is refused before anything else. */
export const MODEL_PROXY_MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_BASE_URL = "https://api.anthropic.com";
/** Request headers the upstream is given (everything else, the token included, stays here). */
const REQUEST_HEADERS = ["anthropic-version", "anthropic-beta", "content-type", "accept"];
/** Response headers the sandbox is given. */
const RESPONSE_HEADERS = ["content-type", "request-id", "retry-after", "x-should-retry"];

/** The token as the Anthropic SDKs send it: `x-api-key`, or `Authorization: Bearer`. */
function presentedToken(headers: Headers): string | undefined {
  const key = headers.get("x-api-key");
  if (key) return key;
  return /^Bearer (\S+)$/.exec(headers.get("authorization") ?? "")?.[1];
}

/** The grant of a request to `runId`'s proxy: a valid, unexpired token for that run whose lease is still held. Else 401. */
export async function authorizeProxyCall(env: Env, runId: string, headers: Headers): Promise<ProxyGrant> {
  const token = presentedToken(headers);
  if (!token) throw new UnauthorizedError("The model proxy needs its token (x-api-key).");
  const grant = await verifyProxyToken(loadConfig(env), token, Date.now());
  if (grant.run !== runId) throw new UnauthorizedError("The model proxy token is not for this run.");
  const held = await env.POOL.getByName(POOL_NAME).leaseHeld(grant.lease, grant.run, grant.fork);
  if (!held) throw new UnauthorizedError("The model proxy token was revoked: its sandbox lease has been released.");
  return grant;
}

interface MessagesCall {
  model: string;
  maxTokens: number;
}

/** What the reservation needs of the request body; the rest is the model API's to judge. */
function parseCall(body: string): MessagesCall {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidInputError("The request body is not JSON.", { field: "body" });
  }
  const call = parsed as { model?: unknown; max_tokens?: unknown };
  if (typeof call !== "object" || call === null || typeof call.model !== "string" || call.model === "" || call.model.length > 200) {
    throw new InvalidInputError("model: a model id is required.", { field: "model" });
  }
  if (typeof call.max_tokens !== "number" || !Number.isInteger(call.max_tokens) || call.max_tokens < 1 || call.max_tokens > 1_000_000) {
    throw new InvalidInputError("max_tokens: a positive integer is required (the proxy reserves it against the run's budget).", { field: "max_tokens" });
  }
  return { model: call.model, maxTokens: call.max_tokens };
}

function pick(from: Headers, names: string[]): Headers {
  const out = new Headers();
  for (const name of names) {
    const value = from.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
}

function upstreamUrl(base: string | undefined): string {
  const root = base ?? DEFAULT_BASE_URL;
  return new URL("v1/messages", root.endsWith("/") ? root : `${root}/`).toString();
}

interface Booking {
  model: string;
  prices: PriceTable;
  reservedUsd: number;
  settle: (usd: number) => Promise<void>;
}

/**
 * Passes a stream through, metering it. What it used (the reservation, if it never started) is
 * booked once: before the stream's end reaches the sandbox, so the call is on the ledger by the
 * time its caller has the answer; or, when the stream breaks or the sandbox hangs up mid-stream
 * (which cancels the upstream call too), at that point.
 */
function meteredStream(upstream: Response, body: ReadableStream<Uint8Array>, booking: Booking, waitUntil: (p: Promise<unknown>) => void): Response {
  const meter = new StreamUsageMeter();
  let booked: Promise<void> | undefined;
  const book = () =>
    (booked ??= booking.settle(meter.started ? usageCostUsd(meter.model ?? booking.model, meter.usage, booking.prices) : booking.reservedUsd).catch((err: unknown) => {
      log("error", "model_proxy.booking_failed", errorFields(err));
    }));
  const through = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      meter.push(chunk);
      controller.enqueue(chunk);
    },
    flush: () => book(),
  });
  waitUntil(body.pipeTo(through.writable).then(book, book));
  return new Response(through.readable, { status: upstream.status, headers: pick(upstream.headers, RESPONSE_HEADERS) });
}

/** Reserves, forwards with the Worker's key, meters and books one Messages call of `grant`'s fork. */
export async function proxyMessages(env: Env, grant: ProxyGrant, body: string, headers: Headers, waitUntil: (p: Promise<unknown>) => void): Promise<Response> {
  const config = loadConfig(env);
  if (!config.ANTHROPIC_API_KEY) throw new AgentUnavailableError();
  const call = parseCall(body);
  const prices = parseModelPrices(config.MODEL_PRICES);
  const estimate = { inputTokensEstimate: Math.ceil(body.length / 4), maxTokens: call.maxTokens };
  const reservedUsd = expectedCallCostUsd(call.model, estimate, prices);
  const key = `proxy:${grant.fork}:${grant.lease}:${crypto.randomUUID()}`;
  const orchestrator = env.ORCHESTRATOR.getByName(grant.run);
  const reserved = await orchestrator.reserveModelCall(grant.fork, key, reservedUsd, estimate);
  if (!reserved.ok) throw fromWireError(reserved.error);
  const forwarded = pick(headers, REQUEST_HEADERS);
  forwarded.set("x-api-key", config.ANTHROPIC_API_KEY);
  let upstream: Response;
  try {
    upstream = await fetch(upstreamUrl(config.ANTHROPIC_BASE_URL), { method: "POST", headers: forwarded, body });
  } catch {
    await orchestrator.releaseReservation(key);
    throw new ForkyardError("model_unreachable", "The model API could not be reached.", { status: 502, retryable: true });
  }
  const booking: Booking = { model: call.model, prices, reservedUsd, settle: async (usd) => orchestrator.recordModelCost(grant.fork, key, usd) };
  if (!upstream.ok || !upstream.body) {
    // The model API bills no refused call: the reservation is let go and its answer passed on.
    const text = await upstream.text();
    await orchestrator.releaseReservation(key);
    return new Response(text, { status: upstream.status, headers: pick(upstream.headers, RESPONSE_HEADERS) });
  }
  if ((upstream.headers.get("content-type") ?? "").includes("text/event-stream")) return meteredStream(upstream, upstream.body, booking, waitUntil);
  const text = await upstream.text();
  const metered = usageOfBody(text);
  await booking.settle(metered ? usageCostUsd(metered.model ?? call.model, metered.usage, prices) : reservedUsd);
  return new Response(text, { status: upstream.status, headers: pick(upstream.headers, RESPONSE_HEADERS) });
}
