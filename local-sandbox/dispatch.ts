// Runs a matched route: counts the call, applies injected latency, injects faults (before or
// after the operation), runs the handler and turns thrown errors into the route's wire shape.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConnectStream } from "./connect-protocol.ts";
import { ApiError, CONNECT_CODE_TO_HTTP, RpcError, connectCodeForHttp, httpStatusForRpc } from "./errors.ts";
import { json, writeReply, type Reply } from "./http-util.ts";
import type { ErrorFlavor, RequestInfo, Route, ServerContext } from "./context.ts";
import type { FaultSpec } from "./faults.ts";
import { proxyNotFound } from "./envd.ts";

function rateLimitHeaders(): Record<string, string> {
  return { "Retry-After": "1", "RateLimit-Limit": "1", "RateLimit-Remaining": "0", "RateLimit-Reset": "1" };
}

function defaultFaultMessage(status: number): string {
  if (status === 429) return "Rate limit exceeded";
  if (status === 503) return "Service unavailable (injected fault)";
  if (status === 502) return "Bad gateway (injected fault)";
  if (status === 504) return "Gateway timeout (injected fault)";
  if (status >= 500) return "Internal server error (injected fault)";
  return `Injected fault (${status})`;
}

/** The response an injected status fault produces, shaped like the real component would. */
export function faultReply(fault: FaultSpec, flavor: ErrorFlavor, sandboxId?: string): Reply {
  const status = fault.status ?? 500;
  const message = fault.message ?? defaultFaultMessage(status);
  const headers = status === 429 ? rateLimitHeaders() : undefined;
  if (flavor === "api" || flavor === "files") return json(status, { code: status, message }, headers);
  // envd RPC: a 502 comes from the edge proxy; anything else as a Connect error.
  if (status === 502 && sandboxId) return json(502, { sandboxId, message: "The sandbox was not found", code: 502 });
  return json(status, { code: connectCodeForHttp(status), message }, headers);
}

function internalMessage(err: unknown): string {
  return `internal error: ${(err as Error | undefined)?.message ?? String(err)}`;
}

/** Converts a handler error to a reply in the route's flavor. */
export function errorReply(err: unknown, flavor: ErrorFlavor, log: (m: string) => void): Reply {
  if (flavor === "api") {
    if (err instanceof ApiError) return json(err.status, err.body(), err.headers);
    if (err instanceof RpcError) {
      const status = CONNECT_CODE_TO_HTTP[err.code];
      return json(status, { code: status, message: err.message });
    }
    log(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    return json(500, { code: 500, message: internalMessage(err) });
  }
  if (flavor === "files") {
    if (err instanceof ApiError) return json(err.status, err.body(), err.headers);
    if (err instanceof RpcError) {
      const status = httpStatusForRpc(err);
      return json(status, { code: status, message: err.message });
    }
    log(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    return json(500, { code: 500, message: internalMessage(err) });
  }
  let rpc: RpcError;
  if (err instanceof RpcError) rpc = err;
  else if (err instanceof ApiError) rpc = new RpcError(connectCodeForHttp(err.status), err.message);
  else {
    log(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    rpc = new RpcError("internal", internalMessage(err));
  }
  if (flavor === "connect") return json(CONNECT_CODE_TO_HTTP[rpc.code], rpc.body());
  // Server streams report handler errors as HTTP 200 + an end-of-stream error.
  return {
    kind: "stream",
    start(_req, res) {
      new ConnectStream(res).end(rpc);
    },
    discard() {},
  };
}

function drop(req: IncomingMessage, res: ServerResponse): void {
  req.socket.destroy();
  res.destroy();
}

export async function dispatch(ctx: ServerContext, route: Route, info: RequestInfo): Promise<void> {
  const { req, res } = info;
  const op = route.op;
  let fault: FaultSpec | undefined;
  // Until its answer is ready, a request waits for its response headers (a stream's come with its start).
  const answered = op ? ctx.stats.requestWaiting(op) : () => undefined;
  res.once("close", answered);
  if (op) {
    ctx.stats.call(op);
    await ctx.faults.delay(op);
    fault = ctx.faults.pick(op, info.sandbox?.id ?? info.params.id);
  }
  const sandboxId = info.sandbox?.id;
  // E2B lost the sandbox: it is gone, and the call finds it so (envd: the edge proxy's answer; the
  // control plane: the operation itself, which answers 404).
  const lost = fault?.kill ? (sandboxId ?? info.params.id) : undefined;
  if (lost) {
    ctx.stats.fault(op!);
    ctx.store.kill(lost);
    if (sandboxId) {
      req.resume();
      return writeReply(req, res, proxyNotFound(sandboxId));
    }
    fault = undefined;
  }
  if (fault && op && !fault.after) {
    answered();
    ctx.stats.fault(op);
    req.resume();
    if (fault.drop) drop(req, res);
    else writeReply(req, res, faultReply(fault, route.flavor, sandboxId));
    return;
  }
  let reply: Reply;
  try {
    reply = await route.handle(ctx, info);
  } catch (err) {
    reply = errorReply(err, route.flavor, ctx.log);
  }
  answered();
  if (fault && op) {
    // "after": the operation happened; its response is lost or replaced.
    if (reply.kind === "stream") reply.discard();
    ctx.stats.fault(op);
    if (fault.drop) drop(req, res);
    else writeReply(req, res, faultReply(fault, route.flavor, sandboxId));
    return;
  }
  writeReply(req, res, reply);
}
