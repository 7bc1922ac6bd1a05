// Connect protocol (JSON codec) framing, as used by envd.
//  - Unary: the request/response body is the bare JSON message; errors are non-200 with
//    {"code":"<connect code>","message":...}.
//  - Client streaming (StreamInput): the request is a sequence of envelopes, read as they come.
//  - Server streaming: the request is ONE envelope; the response is 200
//    application/connect+json carrying envelopes [flags u8][len u32 BE][json]. The last one has
//    flag 0x02 (end of stream) and carries {} or {"error":{code,message}}.
// Every frame is flushed as soon as it is written, so clients consume output incrementally.
import type { IncomingMessage, ServerResponse } from "node:http";
import { CONNECT_CODE_TO_HTTP, RpcError } from "./errors.ts";
import { header, readBody } from "./http-util.ts";

export const FLAG_COMPRESSED = 0x01;
export const FLAG_END_STREAM = 0x02;

export function encodeEnvelope(flags: number, message: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(message), "utf8");
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame.writeUInt8(flags, 0);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

export interface Envelope {
  flags: number;
  data: Buffer;
}

/** Splits a complete buffer into envelopes; throws on a truncated frame. */
export function decodeEnvelopes(buf: Buffer): Envelope[] {
  const out: Envelope[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (buf.length - offset < 5) throw new RpcError("invalid_argument", "truncated envelope header");
    const flags = buf.readUInt8(offset);
    const len = buf.readUInt32BE(offset + 1);
    if (buf.length - offset - 5 < len) throw new RpcError("invalid_argument", "truncated envelope");
    out.push({ flags, data: buf.subarray(offset + 5, offset + 5 + len) });
    offset += 5 + len;
  }
  return out;
}

function parseJsonObject(data: Buffer): Record<string, unknown> {
  if (data.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(data.toString("utf8"));
  } catch (err) {
    throw new RpcError("invalid_argument", `invalid JSON message: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RpcError("invalid_argument", "message must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** Reads a unary request body (bare JSON). */
export async function readUnaryRequest(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, 16 * 1024 * 1024);
  return parseJsonObject(body);
}

/** Reads a server-streaming request: exactly one uncompressed data envelope. */
export async function readStreamRequest(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, 16 * 1024 * 1024);
  const frames = decodeEnvelopes(body);
  const first = frames[0];
  if (!first) return {};
  if (first.flags & FLAG_COMPRESSED) throw new RpcError("unimplemented", "compressed messages are not supported");
  return parseJsonObject(first.data);
}

/**
 * Reads a client stream: each data envelope's message is handed to `onMessage` as it arrives
 * (in order, awaited); resolves at the end of the request. At most `maxMessage` bytes a message.
 */
export async function readClientStream(
  req: IncomingMessage,
  onMessage: (msg: Record<string, unknown>) => void | Promise<void>,
  maxMessage = 16 * 1024 * 1024,
): Promise<void> {
  let buf = Buffer.alloc(0);
  for await (const chunk of req as AsyncIterable<Buffer>) {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 5) {
      const flags = buf.readUInt8(0);
      const len = buf.readUInt32BE(1);
      if (len > maxMessage) throw new RpcError("resource_exhausted", `message larger than ${maxMessage} bytes`);
      if (buf.length < 5 + len) break;
      const data = buf.subarray(5, 5 + len);
      buf = buf.subarray(5 + len);
      if (flags & FLAG_COMPRESSED) throw new RpcError("unimplemented", "compressed messages are not supported");
      if (!(flags & FLAG_END_STREAM)) await onMessage(parseJsonObject(data));
    }
  }
  if (buf.length > 0) throw new RpcError("invalid_argument", "truncated envelope");
}

/** Parses a Connect-Timeout-Ms header; 0/absent = no deadline. */
export function timeoutHeader(req: IncomingMessage): number {
  const raw = header(req, "connect-timeout-ms");
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new RpcError("invalid_argument", `invalid Connect-Timeout-Ms: ${raw}`);
  return n;
}

/** The Keepalive-Ping-Interval header (seconds; 90 when absent). */
export function keepaliveSeconds(req: IncomingMessage): number {
  const n = Number(header(req, "keepalive-ping-interval"));
  return Number.isFinite(n) && n > 0 ? n : 90;
}

export function writeUnaryError(res: ServerResponse, err: RpcError): void {
  if (res.headersSent || res.destroyed) return;
  const payload = Buffer.from(JSON.stringify(err.body()));
  res.writeHead(CONNECT_CODE_TO_HTTP[err.code], {
    "Content-Type": "application/json",
    "Content-Length": String(payload.length),
  });
  res.end(payload);
}

/**
 * A server-streaming response. Writes are no-ops once the client is gone; the owner is told
 * through `onClose` so it can unsubscribe (the underlying work, e.g. a process, keeps running).
 */
export class ConnectStream {
  private readonly res: ServerResponse;
  private finished = false;
  private readonly closeHandlers: Array<() => void> = [];

  constructor(res: ServerResponse) {
    this.res = res;
    res.on("close", () => {
      const handlers = this.closeHandlers.splice(0);
      this.finished = true;
      for (const h of handlers) {
        try {
          h();
        } catch {
          // ignore handler failures on close
        }
      }
    });
    res.on("error", () => {
      // Client went away mid-write; 'close' follows and cleans up.
    });
  }

  get closed(): boolean {
    return this.finished || this.res.destroyed || this.res.writableEnded;
  }

  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  private open(): void {
    if (this.res.headersSent) return;
    this.res.writeHead(200, {
      "Content-Type": "application/connect+json",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
    });
    this.res.flushHeaders();
  }

  /** Sends one data message. */
  send(message: unknown): void {
    if (this.closed) return;
    this.open();
    this.res.write(encodeEnvelope(0, message));
  }

  /** Ends the stream with the end-of-stream frame ({} or {"error":...}). */
  end(error?: RpcError): void {
    if (this.closed) return;
    this.open();
    const trailer = error ? { error: error.body() } : {};
    this.finished = true;
    this.res.end(encodeEnvelope(FLAG_END_STREAM, trailer));
  }

  /** Drops the connection without an end-of-stream frame (the sandbox "vanished"). */
  destroy(): void {
    this.finished = true;
    this.res.destroy();
  }
}
