// Small HTTP helpers shared by the routers: body reading, JSON replies, and the `Reply` value that
// handlers return (so the fault layer can run a handler and then drop or replace its response).
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./errors.ts";

/** What a handler produces. `stream` replies write the response themselves. */
export type Reply =
  | { kind: "json"; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: "raw"; status: number; body?: Buffer | string; headers?: Record<string, string> }
  | {
      kind: "stream";
      /** Start writing to the response (called at most once). */
      start(req: IncomingMessage, res: ServerResponse): void;
      /** Release resources without writing (the fault layer discarded this reply). */
      discard(): void;
    };

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return headers ? { kind: "json", status, body, headers } : { kind: "json", status, body };
}

export function empty(status = 204, headers?: Record<string, string>): Reply {
  return headers ? { kind: "raw", status, headers } : { kind: "raw", status };
}

export function writeReply(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) {
    if (reply.kind === "stream") reply.discard();
    return;
  }
  switch (reply.kind) {
    case "json": {
      const payload = Buffer.from(JSON.stringify(reply.body));
      res.writeHead(reply.status, {
        "Content-Type": "application/json",
        "Content-Length": String(payload.length),
        ...reply.headers,
      });
      res.end(payload);
      return;
    }
    case "raw": {
      const payload = reply.body === undefined ? undefined : Buffer.from(reply.body);
      res.writeHead(reply.status, {
        ...(payload ? { "Content-Length": String(payload.length) } : {}),
        ...reply.headers,
      });
      res.end(payload);
      return;
    }
    case "stream":
      reply.start(req, res);
      return;
  }
}

/** Reads the whole request body (bounded). */
export function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (req.readableEnded) return resolve(Buffer.alloc(0));
    if (req.destroyed) return reject(new Error("request closed before its body was read"));
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    let ended = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new ApiError(413, `Request body too large (limit ${limit} bytes)`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      ended = true;
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on("close", () => {
      if (!ended && !failed) {
        failed = true;
        reject(new Error("request closed before its body was read"));
      }
    });
    req.on("error", (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
    req.on("aborted", () => {
      if (!failed) {
        failed = true;
        reject(new Error("request aborted"));
      }
    });
  });
}

/** Parses an optional JSON object body; empty body -> {}. Throws ApiError(400) on bad JSON. */
export async function readJsonObject(req: IncomingMessage, limit?: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new ApiError(400, `Error when parsing request: ${(err as Error).message}`);
  }
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, "Error when parsing request: body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  if (Array.isArray(v)) return v[0];
  return v;
}

export function isStringMap(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "string");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
