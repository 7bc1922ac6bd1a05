// envd router: requests carrying E2b-Sandbox-Id. Emulates the edge proxy in front of envd
// (502 for a sandbox that is unknown or paused, 502 for ports other than envd's) and envd's auth
// (X-Access-Token must equal the sandbox's envdAccessToken; /health is exempt).
import type { IncomingMessage } from "node:http";
import { header, json, type Reply } from "./http-util.ts";
import type { Route, ServerContext } from "./context.ts";
import { matchProcessRpc } from "./envd-process.ts";
import { matchFilesystemRpc } from "./envd-filesystem.ts";
import { matchFilesRoute } from "./envd-files.ts";
import type { Sandbox } from "./sandbox-store.ts";

export const ENVD_PORT = 49983;

export function proxyNotFound(sandboxId: string): Reply {
  return json(502, { sandboxId, message: "The sandbox was not found", code: 502 });
}

export function matchEnvd(method: string, pathname: string): Route | undefined {
  const rpc = /^\/(process\.Process|filesystem\.Filesystem)\/([A-Za-z]+)$/.exec(pathname);
  if (rpc) {
    if (method !== "POST") return undefined;
    return rpc[1] === "process.Process" ? matchProcessRpc(rpc[2] as string) : matchFilesystemRpc(rpc[2] as string);
  }
  return matchFilesRoute(method, pathname);
}

/**
 * Gate checks done before any envd handler runs. Returns the sandbox, or a Reply to send instead.
 */
export function gateEnvd(
  ctx: ServerContext,
  req: IncomingMessage,
  sandboxId: string,
  pathname: string,
): { sandbox: Sandbox } | { reply: Reply } {
  const sandbox = ctx.store.get(sandboxId);
  if (sandbox && !sandbox.running && sandbox.record.autoResume) {
    // lifecycle.autoResume: traffic to a paused sandbox resumes it (with its original timeout).
    try {
      ctx.store.connect(sandboxId, sandbox.record.timeoutSec ?? 300);
    } catch {
      return { reply: proxyNotFound(sandboxId) };
    }
  }
  if (!sandbox || !sandbox.running) return { reply: proxyNotFound(sandboxId) };
  const portRaw = header(req, "e2b-sandbox-port");
  if (portRaw !== undefined && Number(portRaw) !== ENVD_PORT) {
    return {
      reply: json(502, {
        sandboxId,
        message: "The sandbox is running but port is not open",
        port: Number(portRaw),
        code: 502,
      }),
    };
  }
  if (pathname !== "/health" && header(req, "x-access-token") !== sandbox.record.envdAccessToken) {
    return {
      reply: json(401, {
        code: 401,
        message: "unauthorized access, please provide a valid access token or method signing if supported",
      }),
    };
  }
  return { sandbox };
}
