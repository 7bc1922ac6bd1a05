/**
 * A way in to the Worker under test for sandboxes (Node http on 127.0.0.1). The workerd tests'
 * Worker listens on no port, so a sandbox cannot call it — yet the `claude-code` runtime's model
 * proxy is in the Worker (its PUBLIC_URL). This server stands at that address: it holds each
 * request a sandbox sends, and a test (in the Worker's runtime) fetches them (`GET /__bridge/next`),
 * hands each to the Worker in-process and posts the answer back (`POST /__bridge/reply/<id>`),
 * which the held request is answered with. The sandbox server forwards its address into
 * sandboxes like the test GitHub's.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface BridgedRequest {
  id: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface BridgeReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** How long a held request waits for a test to answer it. */
const HOLD_MS = 30_000;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startWorkerBridge(): Promise<{ url: string; close: () => Promise<void> }> {
  let nextId = 1;
  const queue: BridgedRequest[] = [];
  const held = new Map<number, ServerResponse>();
  const waiters: Array<() => void> = [];

  const hold = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value;
    const request: BridgedRequest = { id: nextId++, method: req.method ?? "GET", path: req.url ?? "/", headers, body: await readBody(req) };
    held.set(request.id, res);
    queue.push(request);
    waiters.splice(0).forEach((wake) => wake());
    setTimeout(() => {
      if (held.delete(request.id)) res.writeHead(504).end("no test answered");
    }, HOLD_MS).unref();
  };

  const next = async (res: ServerResponse, waitMs: number): Promise<void> => {
    if (queue.length === 0) await new Promise<void>((resolve) => (waiters.push(resolve), setTimeout(resolve, waitMs).unref()));
    const request = queue.shift();
    if (!request) return void res.writeHead(204).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(request));
  };

  const reply = async (req: IncomingMessage, res: ServerResponse, id: number): Promise<void> => {
    const answer = JSON.parse(await readBody(req)) as BridgeReply;
    const target = held.get(id);
    held.delete(id);
    target?.writeHead(answer.status, answer.headers).end(answer.body);
    res.writeHead(target ? 200 : 404).end();
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://bridge");
    const replyTo = /^\/__bridge\/reply\/(\d+)$/.exec(url.pathname);
    const work =
      url.pathname === "/__bridge/next" ? next(res, Math.min(Number(url.searchParams.get("waitMs") ?? 1000), 5000)) : replyTo ? reply(req, res, Number(replyTo[1])) : hold(req, res);
    work.catch(() => res.headersSent || res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
