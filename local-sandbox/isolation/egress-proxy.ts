// The sandboxes' way out: an HTTP proxy in the server (CONNECT tunnels, and plain-HTTP requests with
// an absolute URI) that opens only what a sandbox's network rules allow (egress-check.ts).
//
// A sandbox reaches it at 127.0.0.1:49982 on its own loopback: the listening socket is bound in its
// network namespace by the forwarder's helper (forward.ts) and accepted by the server, which feeds
// each connection to this proxy with that sandbox's policy — so a sandbox cannot speak for another.
// Its commands get HTTP_PROXY/HTTPS_PROXY (and lower-case) pointing there, and NO_PROXY for its own
// loopback and the forwarded addresses. Names are resolved by the server (egress-resolve.ts) and the
// connection goes to the checked address (no second lookup). Not proxied: raw TCP/UDP, DNS, and
// programs that ignore the proxy variables.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ForwardHost, ForwardListener } from "./forward.ts";
import type { NetworkRules } from "./egress.ts";
import { checkAddress, compilePolicy, proxyWanted, type EgressPolicy, type EgressSettings } from "./egress-check.ts";
import { EgressResolver } from "./egress-resolve.ts";

export const PROXY_ADDRESS = "127.0.0.1";
export const PROXY_PORT = 49_982;
const CONNECT_TIMEOUT_MS = 15_000;
/** Connections to the proxy one sandbox may hold at once (each costs the server two sockets). */
export const MAX_CONNECTIONS_PER_SANDBOX = 256;
const HOP_BY_HOP = new Set(["connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"]);

/** The proxy variables of a sandbox's commands. */
export function egressEnv(forwards: ForwardHost[]): Record<string, string> {
  const proxy = `http://${PROXY_ADDRESS}:${PROXY_PORT}`;
  const noProxy = [...new Set(["localhost", "127.0.0.1", "::1", ...forwards.map((f) => f.host)])].join(",");
  return { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: noProxy, no_proxy: noProxy };
}

/** `host:port` of a CONNECT request, or `[v6]:port`; undefined when malformed. */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+)):(\d{1,5})$/i.exec(authority);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  return host && port > 0 && port < 65536 ? { host, port } : undefined;
}

type Opened = { socket: Socket } | { status: number; message: string };

function headersWithout(headers: IncomingMessage["headers"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

export class EgressProxy {
  /** Its `serverPort` is set once the server listens. */
  readonly settings: EgressSettings;
  private readonly http: Server;
  private readonly policies = new WeakMap<object, EgressPolicy>();
  private readonly resolver = new EgressResolver();

  constructor(settings: EgressSettings) {
    this.settings = settings;
    this.http = createServer();
    this.http.requestTimeout = 0;
    this.http.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket, head));
    this.http.on("request", (req: IncomingMessage, res: ServerResponse) => void this.forward(req, res));
    this.http.on("clientError", (_err, socket: Duplex) => socket.destroy());
  }

  /** What a sandbox with these rules binds in its namespace for egress (undefined: no egress). */
  listener(rules: NetworkRules | undefined, forwards: ForwardHost[]): ForwardListener | undefined {
    if (!proxyWanted(this.settings, rules)) return undefined;
    const policy = compilePolicy(this.settings, rules, forwards);
    const max = this.settings.maxConnections ?? MAX_CONNECTIONS_PER_SANDBOX;
    let open = 0;
    return {
      host: PROXY_ADDRESS,
      port: PROXY_PORT,
      accept: (socket) => {
        // Beyond the cap a connection is answered 503 and closed: one sandbox cannot use up the
        // server's file descriptors (and with them every other sandbox's).
        if (open >= max) return void socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\negress: more than ${max} connections at once\n`);
        open++;
        socket.once("close", () => open--);
        this.policies.set(socket, policy);
        this.http.emit("connection", socket);
      },
    };
  }

  /** The proxy variables for a sandbox with these rules ({} without egress). */
  env(rules: NetworkRules | undefined, forwards: ForwardHost[]): Record<string, string> {
    return proxyWanted(this.settings, rules) ? egressEnv(forwards) : {};
  }

  close(): void {
    this.resolver.close();
  }

  /** Resolves, checks and connects `host:port` for the sandbox whose connection `via` is. */
  private async open(via: object, host: string, port: number): Promise<Opened> {
    const policy = this.policies.get(via);
    if (!policy) return { status: 403, message: "egress denied: unknown sandbox connection" };
    let addresses: string[];
    try {
      addresses = await this.resolver.resolve(host);
    } catch (err) {
      return { status: 502, message: `egress failed: ${(err as Error).message}` };
    }
    const verdicts = addresses.map((a) => ({ address: a, verdict: checkAddress(policy, host, a, port) }));
    const chosen = verdicts.find((v) => v.verdict.allowed);
    if (!chosen) {
      const first = verdicts[0]!.verdict;
      return { status: 403, message: `egress denied: ${"reason" in first ? first.reason : host}` };
    }
    return new Promise<Opened>((resolve) => {
      const socket = connect({ host: chosen.address, port, family: isIP(chosen.address) });
      const fail = (status: number, why: string) => {
        socket.destroy();
        resolve({ status, message: `egress failed: ${host}:${port}: ${why}` });
      };
      const onError = (err: NodeJS.ErrnoException) => fail(502, err.code ?? err.message);
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail(504, "connection timed out"));
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.setTimeout(0);
        socket.off("error", onError);
        // Until the caller takes over, an error only ends the socket (never an unhandled event).
        socket.on("error", () => socket.destroy());
        resolve({ socket });
      });
    });
  }

  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on("error", () => client.destroy());
    const target = parseAuthority(req.url ?? "");
    const opened = target ? await this.open(req.socket, target.host, target.port) : { status: 400, message: "CONNECT needs host:port" };
    if (!("socket" in opened)) {
      const body = `${opened.message}\n`;
      client.end(`HTTP/1.1 ${opened.status} ${opened.status === 403 ? "Forbidden" : "Bad Gateway"}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const upstream = opened.socket;
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream).pipe(client);
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on("error", () => res.destroy());
    res.on("error", () => {});
    const reply = (status: number, message: string) => {
      req.resume();
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { "Content-Type": "text/plain" });
      res.end(`${message}\n`);
    };
    let url: URL | undefined;
    try {
      url = /^http:\/\//i.test(req.url ?? "") ? new URL(req.url!) : undefined;
    } catch {
      url = undefined;
    }
    if (!url) return reply(400, "egress proxy: send an absolute http:// URL, or CONNECT host:port for https");
    const port = Number(url.port || 80);
    const opened = await this.open(req.socket, url.hostname.replace(/^\[|\]$/g, ""), port);
    if (!("socket" in opened)) return reply(opened.status, opened.message);
    const upstream = request({
      createConnection: () => opened.socket,
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers: headersWithout(req.headers),
      setHost: false,
    });
    upstream.on("error", (err) => reply(502, `egress failed: ${err.message}`));
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headersWithout(answer.headers));
      answer.pipe(res);
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }
}
