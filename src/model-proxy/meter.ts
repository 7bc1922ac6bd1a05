/**
 * What a proxied Messages call used, read from the upstream's answer as it passes: a JSON body's
 * `usage`, or a stream's `message_start` (input, cache and first output tokens) and
 * `message_delta` events (cumulative counts: the last one wins). The sandbox never reports its
 * own usage: this is the figure billed.
 */
import { ZERO_USAGE, type TokenUsage } from "../agent/pricing";

interface WireUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

const count = (n: unknown): number | undefined => (typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined);

/** `usage` over `base`: every count the wire gives replaces the base's. */
export function mergeUsage(base: TokenUsage, u: WireUsage | undefined): TokenUsage {
  if (!u || typeof u !== "object") return base;
  return {
    input: count(u.input_tokens) ?? base.input,
    output: count(u.output_tokens) ?? base.output,
    cacheRead: count(u.cache_read_input_tokens) ?? base.cacheRead,
    cacheWrite: count(u.cache_creation_input_tokens) ?? base.cacheWrite,
  };
}

/** A non-streamed answer's usage and model (null when it carries none). */
export function usageOfBody(text: string): { usage: TokenUsage; model?: string } | null {
  try {
    const body = JSON.parse(text) as { usage?: WireUsage; model?: unknown };
    if (!body.usage || typeof body.usage !== "object") return null;
    return { usage: mergeUsage(ZERO_USAGE, body.usage), ...(typeof body.model === "string" && { model: body.model }) };
  } catch {
    return null;
  }
}

/** Reads a Messages event stream (server-sent events) chunk by chunk; lines may be split across chunks. */
export class StreamUsageMeter {
  usage: TokenUsage = ZERO_USAGE;
  model: string | undefined;
  /** A `message_start` was seen: the call reached the model. */
  started = false;
  /** A `message_stop` was seen. */
  complete = false;
  #partial = "";
  readonly #decoder = new TextDecoder();

  push(chunk: Uint8Array): void {
    const lines = (this.#partial + this.#decoder.decode(chunk, { stream: true })).split("\n");
    this.#partial = lines.pop() ?? "";
    // A line longer than any event the API sends is not one the meter needs (content deltas are small).
    if (this.#partial.length > 4_000_000) this.#partial = "";
    for (const line of lines) this.#line(line.replace(/\r$/, ""));
  }

  #line(line: string): void {
    if (!line.startsWith("data:")) return;
    let event: { type?: string; message?: { usage?: WireUsage; model?: unknown }; usage?: WireUsage };
    try {
      event = JSON.parse(line.slice(5)) as typeof event;
    } catch {
      return;
    }
    if (event.type === "message_start") {
      this.started = true;
      this.usage = mergeUsage(ZERO_USAGE, event.message?.usage);
      if (typeof event.message?.model === "string") this.model = event.message.model;
    } else if (event.type === "message_delta") {
      this.usage = mergeUsage(this.usage, event.usage);
    } else if (event.type === "message_stop") {
      this.complete = true;
    }
  }
}
