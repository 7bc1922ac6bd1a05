import { env, exports } from "cloudflare:workers";
import type { BridgedRequest } from "../support/worker-bridge";

const worker = (exports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;
const bridgeUrl = (env as unknown as { PUBLIC_URL: string }).PUBLIC_URL;
/** Hop-by-hop and framing headers: each side sets its own. */
const DROPPED = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);

/**
 * Answers what sandboxes send to the Worker's PUBLIC_URL (test/support/worker-bridge.ts) with the
 * Worker under test, until stopped. A file that starts it stops it (and awaits the stop).
 */
export function bridgeToWorker(): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const res = await fetch(`${bridgeUrl}/__bridge/next?waitMs=200`);
      if (res.status !== 200) {
        await res.body?.cancel();
        continue;
      }
      const request = (await res.json()) as BridgedRequest;
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !DROPPED.has(name)));
      const answer = await worker.fetch(new Request(`http://forkyard.test${request.path}`, { method: request.method, headers, body: request.method === "GET" ? undefined : request.body }));
      const replyHeaders: Record<string, string> = {};
      answer.headers.forEach((value, name) => DROPPED.has(name) || (replyHeaders[name] = value));
      const body = await answer.text();
      await (await fetch(`${bridgeUrl}/__bridge/reply/${request.id}`, { method: "POST", body: JSON.stringify({ status: answer.status, headers: replyHeaders, body }) })).body?.cancel();
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
