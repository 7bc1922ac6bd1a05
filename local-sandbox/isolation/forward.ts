// Forwarding of allowed host addresses into a sandbox's network namespace.
//
// An isolated sandbox has its own network namespace with nothing but a loopback: the host's
// listeners (the Worker, this server, wrangler's inspector...) and every other network are out
// of reach. The operator lists host addresses sandboxes may reach (SANDBOX_FORWARD_HOSTS, e.g. a
// local git remote on 127.0.0.1:8080); for each, a listening socket is bound at the same ip:port
// on the sandbox's loopback, by a short-lived helper entered into the namespace (nsenter -n) that
// hands the socket to the server and exits (or, with spawner.py, by that process itself: no process
// is started). The server accepts on it and relays every connection
// (raw TCP) to the host address. So a URL like http://127.0.0.1:8080/repo.git works unchanged
// inside the sandbox, and only the listed addresses do. Not forwarded: UDP, DNS, anything else.
// The same helper binds the egress proxy's address (egress-proxy.ts) when the sandbox has egress:
// its connections are handed to the proxy instead of relayed.
import { spawn } from "node:child_process";
import { connect, isIPv4, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { Spawner } from "../spawner.ts";

export interface ForwardHost {
  host: string;
  port: number;
}

/** A listening address in the namespace; `accept` takes its connections (default: relayed as raw TCP to the same host address). */
export interface ForwardListener extends ForwardHost {
  accept?: (socket: Socket) => void;
}

/** Parses `ip:port` entries (IPv4 literal, or `localhost`), throwing a clear message otherwise. */
export function parseForwardHosts(entries: string[]): ForwardHost[] {
  return entries.map((entry) => {
    const m = /^([^:\s]+):(\d{1,5})$/.exec(entry.trim());
    const host = m?.[1] === "localhost" ? "127.0.0.1" : m?.[1];
    const port = Number(m?.[2]);
    if (!host || !isIPv4(host) || !(port > 0 && port < 65536)) {
      throw new Error(`forwarded host ${JSON.stringify(entry)} must be <IPv4 address>:<port>, e.g. 127.0.0.1:8080`);
    }
    return { host, port };
  });
}

const HELPER = join(import.meta.dirname, "forward-listen.mjs");

/** The listeners of one sandbox namespace; `close()` stops them and cuts relayed connections. */
export class Forwarder {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private closed = false;

  /**
   * Binds every host of `hosts` in the namespace of `initPid` and starts relaying (or handing over,
   * see ForwardListener): through the spawner without a process where it can (spawner.py, loopback
   * addresses), else with the helper.
   */
  static async start(spawner: Spawner, nsenterPath: string, initPid: number, hosts: ForwardListener[]): Promise<Forwarder> {
    const fwd = new Forwarder();
    if (hosts.length === 0) return fwd;
    const inPlace = spawner.listenIn && hosts.every((h) => h.host.startsWith("127."));
    const servers = inPlace ? await spawner.listenIn!(initPid, hosts).catch((err: Error) => Promise.reject(forwardError(hosts, err.message))) : await listenWithHelper(nsenterPath, initPid, hosts);
    hosts.forEach((host, i) => {
      const server = servers[i]!;
      fwd.servers.push(server);
      server.on("connection", (s: Socket) => (host.accept ? fwd.handOver(s, host.accept) : fwd.relay(s, host)));
    });
    return fwd;
  }

  /** Gives a connection to its handler (the egress proxy); cut like the relayed ones on close. */
  private handOver(inside: Socket, accept: (socket: Socket) => void): void {
    this.sockets.add(inside);
    inside.on("close", () => this.sockets.delete(inside));
    inside.on("error", () => inside.destroy());
    accept(inside);
  }

  private relay(inside: Socket, host: ForwardHost): void {
    const outside = connect(host.port, host.host);
    for (const s of [inside, outside]) {
      this.sockets.add(s);
      s.on("error", () => {
        inside.destroy();
        outside.destroy();
      });
      s.on("close", () => this.sockets.delete(s));
    }
    inside.pipe(outside).pipe(inside);
  }

  close(): void {
    this.closed = true;
    // A listening socket holds its namespace: closing them lets it go with the sandbox.
    for (const s of this.servers.splice(0)) s.close();
    for (const s of [...this.sockets]) s.destroy();
  }
}

const forwardError = (hosts: ForwardHost[], why: string) => new Error(`could not forward ${hosts.map((h) => `${h.host}:${h.port}`).join(", ")} into the sandbox: ${why}`);

/** The listening sockets of `hosts`, bound by forward-listen.mjs entered into the namespace (nsenter -n), in their order. */
async function listenWithHelper(nsenterPath: string, initPid: number, hosts: ForwardHost[]): Promise<Server[]> {
  // Non-loopback addresses are given to the sandbox's lo so that the same ip:port can be bound.
  const extra = [...new Set(hosts.map((h) => h.host).filter((h) => !h.startsWith("127.")))];
  const child = spawn(
    nsenterPath,
    ["-t", String(initPid), "-n", "--", "/bin/sh", "-c", 'for a in $ADDRS; do ip addr add "$a/32" dev lo || exit 1; done; exec "$0" "$@"',
      process.execPath, HELPER, ...hosts.map((h) => `${h.host}:${h.port}`)],
    { cwd: "/", stdio: ["ignore", "ignore", "pipe", "ipc"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ADDRS: extra.join(" ") } },
  );
  const servers: Server[] = [];
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.on("message", (spec: string, handle: unknown) => {
    const i = hosts.findIndex((h) => `${h.host}:${h.port}` === spec);
    if (i < 0) return void (handle as Server).close();
    servers[i] = handle as Server;
  });
  const code = await new Promise<number | null>((resolve) => {
    child.on("error", () => resolve(-1));
    // "close", not "exit": the listening sockets arrive over the IPC channel, which may still be
    // delivering them when the helper has exited; "close" comes once every channel is drained.
    child.on("close", (c) => resolve(c));
  });
  if (code !== 0 || servers.filter(Boolean).length !== hosts.length) {
    for (const server of servers) server?.close();
    throw forwardError(hosts, stderr.trim() || `exit ${code}`);
  }
  return servers;
}
