// The local E2B-compatible server: one HTTP port serves both the control plane and envd.
// Routing: a request with an `E2b-Sandbox-Id` header is an envd request (the SDK adds it to every
// envd call when E2B_SANDBOX_URL is set), everything else is control plane / admin. So
// E2B_API_URL == E2B_SANDBOX_URL == http://HOST:PORT.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { join, resolve } from "node:path";
import { matchAdmin, resetAll } from "./admin.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import { matchControlPlane } from "./control-plane.ts";
import { matchTemplateUpload } from "./control-plane-templates.ts";
import { TemplateBuilds } from "./template-builds.ts";
import { dispatch, errorReply } from "./dispatch.ts";
import { gateEnvd, matchEnvd } from "./envd.ts";
import { signedFileTarget } from "./envd-signing.ts";
import { INVALID_API_KEY_MESSAGE, RpcError } from "./errors.ts";
import { FaultInjector, type FaultSpec, type LatencyMap } from "./faults.ts";
import { header, json, writeReply } from "./http-util.ts";
import { NOT_ISOLATED_WARNING, realPython, resolveIsolation, type IsolationKind, type IsolationMode, type UnshareHolder } from "./isolation.ts";
import { makeSpawner, type SpawnerMode } from "./spawner.ts";
import { parseForwardHosts } from "./isolation/forward.ts";
import { Cgroups, DEFAULT_LIMITS, type Limits } from "./isolation/cgroups.ts";
import { DiskWatch } from "./isolation/disk.ts";
import type { EgressMode } from "./isolation/egress-check.ts";
import { EgressProxy, PROXY_ADDRESS, PROXY_PORT } from "./isolation/egress-proxy.ts";
import { SandboxStore } from "./sandbox-store.ts";
import { SnapshotStore } from "./snapshots.ts";
import { Stats, type StatsSnapshot } from "./stats.ts";

/**
 * The key this server used to accept by default: public (it is in every copy of the docs), so it
 * is refused. Without a configured key the server makes a random one per start.
 */
export const WELL_KNOWN_API_KEY = "e2b_00000000000000000000000000000000000000ff";

/** A random key of the form the SDK accepts (`^e2b_[0-9a-f]+$`). */
export function randomApiKey(): string {
  return `e2b_${randomBytes(20).toString("hex")}`;
}
export const DEFAULT_PORT = 3049;
/** A sandbox's /home/user and /tmp together, MiB. */
export const DEFAULT_DISK_MB = 10_240;
/** Default cap on frozen (paused with memory) sandboxes' memory, MiB. */
export const DEFAULT_FROZEN_MEMORY_MB = 4096;

export interface SandboxServerOptions {
  /** Port to listen on; 0 picks a free one. Default 3049. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The accepted X-API-Key. Default: a random one per start (see `apiKey` on the server). */
  apiKey?: string;
  /** Where sandboxes live. Default ./.sandbox-data */
  dataDir?: string;
  /** Max running sandboxes (create/resume/fork beyond it -> 429). Default unlimited. */
  maxLive?: number;
  /** Initial latency map, e.g. {"create": 150}. */
  latency?: LatencyMap;
  /** Initial faults. */
  faults?: FaultSpec[];
  /**
   * auto (default): bwrap when it works, else unshare (root + util-linux), else the server refuses
   * to start. none: unconfined processes, only when asked for.
   */
  isolation?: IsolationMode;
  /**
   * bwrap only: run all commands of a sandbox in one long-lived namespace (needs root, nsenter and
   * setpriv; default true when those work). false = one bwrap per command.
   */
  sharedNamespace?: boolean;
  /** unshare only: `sh` always builds a sandbox's view with the shell script, not holder.py (isolation/unshare.ts). */
  unshareHolder?: UnshareHolder;
  /** How processes start (spawner.ts): `auto` (default) through spawner.py where python3 is, `node` always with child_process. */
  spawner?: SpawnerMode;
  /** Host paths sandboxes see read-only at the same path (local repos). */
  exposePaths?: string[];
  /** Host paths sandboxes never see, even inside an exposed folder (the data dir always). */
  hidePaths?: string[];
  /**
   * Host addresses (`ip:port`) sandboxes may reach, at the same address on their own loopback
   * (e.g. a local git remote). Nothing else of the host or its networks is reachable.
   */
  forwardHosts?: string[];
  /**
   * Egress through the server's HTTP proxy (isolation/egress-proxy.ts): `allowlist` (default) = a
   * sandbox reaches what its `allowOut` names; `open` = also public addresses no `denyOut` covers;
   * `off` = no proxy. Needs one namespace per sandbox.
   */
  egress?: EgressMode;
  /**
   * Whether an `allowOut` address rule covering the host's loopback opens it through the egress
   * proxy (default false: the host's loopback is reached only at forwarded addresses).
   */
  egressLoopback?: boolean;
  /**
   * CPU, memory and process limits per sandbox (cgroups; defaults DEFAULT_LIMITS) and its disk
   * limit (`diskMB`, default DEFAULT_DISK_MB: isolation/disk.ts). An isolated server refuses to
   * start when it cannot apply them, unless this is `false`.
   */
  limits?: (Partial<Limits> & { diskMB?: number }) | false;
  /** How often sandboxes' disk use is measured (the pause between rounds). Default 5000 ms. */
  diskCheckIntervalMs?: number;
  /**
   * Cap on the memory of all sandboxes paused with memory (their processes frozen), MiB; a pause
   * beyond it is files-only (processes stopped). 0: every pause is files-only. Default 4096.
   */
  frozenMemoryMB?: number;
  /** Key of the /admin API (X-Admin-Key). Default: a random one (see `adminKey` on the server). */
  adminKey?: string;
  /** How often timeouts are checked. Default 250 ms. */
  sweepIntervalMs?: number;
  /** Persist the sandbox table to <dataDir>/sandboxes.json. Default true. */
  persist?: boolean;
  /** Log sink. Default: stderr with a prefix. */
  log?: (msg: string) => void;
}

export interface SandboxServer {
  /** Base URL for both E2B_API_URL and E2B_SANDBOX_URL. */
  url: string;
  port: number;
  host: string;
  apiKey: string;
  /** Key of the /admin API (X-Admin-Key header). */
  adminKey: string;
  dataDir: string;
  isolation: IsolationKind;
  /** One long-lived namespace per sandbox (unshare always; bwrap as root). See isolation.ts. */
  sharedNamespace: boolean;
  store: SandboxStore;
  stats: Stats;
  faults: FaultInjector;
  /** Same as GET /admin/stats. */
  getStats(): StatsSnapshot;
  /** Resets counters only (peakLive = current live). */
  resetStats(): void;
  /** Same as POST /admin/reset: counters, faults and latency. */
  reset(): void;
  setFaults(faults: FaultSpec[]): void;
  addFault(fault: FaultSpec): void;
  clearFaults(): void;
  setLatency(latency: LatencyMap): void;
  /** Stops listening, kills every sandbox process, persists the table. Sandboxes stay on disk. */
  close(): Promise<void>;
}

let warnedNotIsolated = false;

/** Constant-time key comparison. */
function sameKey(given: string | undefined, expected: string): boolean {
  const a = createHash("sha256").update(given ?? "").digest();
  const b = createHash("sha256").update(expected).digest();
  return given !== undefined && timingSafeEqual(a, b);
}

function defaultLog(msg: string): void {
  process.stderr.write(`[local-sandbox] ${msg}\n`);
}

async function route(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://local-sandbox");
  const method = req.method ?? "GET";
  const params: Record<string, string> = {};
  const sandboxId = header(req, "e2b-sandbox-id");

  if (sandboxId !== undefined) {
    const gate = gateEnvd(ctx, req, sandboxId, url.pathname);
    if ("reply" in gate) {
      req.resume();
      writeReply(req, res, gate.reply);
      return;
    }
    const envdRoute = matchEnvd(method, url.pathname);
    if (!envdRoute) {
      req.resume();
      const rpc = /^\/[a-z]+\.[A-Za-z]+\//.test(url.pathname);
      writeReply(req, res, rpc
        ? json(404, { code: "unimplemented", message: `${url.pathname} is not implemented` })
        : json(404, { code: 404, message: `${method} ${url.pathname} not found` }));
      return;
    }
    await dispatch(ctx, envdRoute, { req, res, url, params, sandbox: gate.sandbox });
    return;
  }

  // A signed file URL names no sandbox: its signature does (envd-signing.ts).
  const signed = signedFileTarget(method, url, ctx.store.all().filter((sb) => sb.running));
  const filesRoute = signed && "sandbox" in signed ? matchEnvd(method, url.pathname) : undefined;
  if (signed && filesRoute && "sandbox" in signed) {
    await dispatch(ctx, filesRoute, { req, res, url, params, sandbox: signed.sandbox });
    return;
  }
  if (signed && "reply" in signed) {
    req.resume();
    writeReply(req, res, signed.reply);
    return;
  }

  const upload = matchTemplateUpload(method, url.pathname, params);
  if (upload) {
    await dispatch(ctx, upload, { req, res, url, params });
    return;
  }

  if (url.pathname === "/health" && method === "GET") {
    req.resume();
    writeReply(req, res, { kind: "raw", status: 200, body: "Health check successful", headers: { "Content-Type": "text/plain" } });
    return;
  }
  const admin = url.pathname.startsWith("/admin/");
  // The admin API has a key of its own: the E2B key (which the Worker holds) cannot reach it.
  if (admin ? !sameKey(header(req, "x-admin-key"), ctx.adminKey) : !sameKey(header(req, "x-api-key"), ctx.apiKey)) {
    req.resume();
    writeReply(req, res, json(401, { code: 401, message: admin ? "Invalid admin key (X-Admin-Key)" : INVALID_API_KEY_MESSAGE }));
    return;
  }
  const matched = admin ? matchAdmin(method, url.pathname, params) : matchControlPlane(method, url.pathname, params);
  if (matched === undefined || matched === "method-not-allowed") {
    req.resume();
    const status = matched === undefined ? 404 : 405;
    writeReply(req, res, json(status, { code: status, message: `${method} ${url.pathname} ${status === 404 ? "not found" : "not allowed"}` }));
    return;
  }
  const info: RequestInfo = { req, res, url, params };
  await dispatch(ctx, matched, info);
}

/** The egress proxy for these settings, or undefined (off, unconfined, or one bwrap per command). */
function egressProxy(options: SandboxServerOptions, kind: IsolationKind, shared: boolean, forwardHosts: ReturnType<typeof parseForwardHosts>): EgressProxy | undefined {
  const mode = options.egress ?? "allowlist";
  if (mode === "off" || kind === "none") return undefined;
  if (!shared) {
    if (mode === "open") throw new Error("SANDBOX_EGRESS=open needs one namespace per sandbox (root with nsenter and setpriv); one bwrap per command has no proxy");
    return undefined;
  }
  if (forwardHosts.some((h) => h.host === PROXY_ADDRESS && h.port === PROXY_PORT)) {
    throw new Error(`forwarded host ${PROXY_ADDRESS}:${PROXY_PORT} is where sandboxes reach the egress proxy: forward another port, or set SANDBOX_EGRESS=off`);
  }
  return new EgressProxy({ mode, hostLoopback: options.egressLoopback ?? false, forwardHosts });
}

export async function startSandboxServer(options: SandboxServerOptions = {}): Promise<SandboxServer> {
  const log = options.log ?? defaultLog;
  const dataDir = resolve(options.dataDir ?? ".sandbox-data");
  const forwardHosts = parseForwardHosts(options.forwardHosts ?? []);
  const isolation = await resolveIsolation(options.isolation ?? "auto", {
    rootfs: join(dataDir, ".rootfs"),
    ...(options.sharedNamespace !== undefined ? { sharedNamespace: options.sharedNamespace } : {}),
    ...(options.unshareHolder ? { unshareHolder: options.unshareHolder } : {}),
  });
  if (forwardHosts.length > 0 && isolation.kind !== "none" && !isolation.shared) {
    throw new Error("forwarded hosts need one namespace per sandbox (root with nsenter and setpriv); one bwrap per command cannot forward");
  }
  let cgroups: Cgroups | undefined;
  if (isolation.kind !== "none" && options.limits !== false) {
    const found = Cgroups.detect({ ...DEFAULT_LIMITS, ...options.limits });
    if (typeof found === "string") {
      throw new Error(`no per-sandbox resource limits here (${found}); run as root with a writable /sys/fs/cgroup, or set SANDBOX_LIMITS=off to run sandboxes without CPU, memory and process limits`);
    }
    cgroups = found;
  }
  if (isolation.kind === "none" && !warnedNotIsolated) {
    warnedNotIsolated = true;
    log(NOT_ISOLATED_WARNING);
  }
  const egress = egressProxy(options, isolation.kind, isolation.shared !== undefined, forwardHosts);
  const stats = new Stats();
  const spawner = await makeSpawner(options.spawner ?? "auto", realPython(), log);
  const faults = new FaultInjector(options.faults ?? [], options.latency ?? {});
  const store = new SandboxStore({
    dataDir,
    maxLive: options.maxLive ?? Number.POSITIVE_INFINITY,
    isolation,
    spawner,
    exposePaths: (options.exposePaths ?? []).map((p) => resolve(p)),
    hidePaths: (options.hidePaths ?? []).map((p) => resolve(p)),
    forwardHosts,
    egress,
    cgroups,
    frozenMemoryMB: options.frozenMemoryMB ?? DEFAULT_FROZEN_MEMORY_MB,
    stats,
    persist: options.persist ?? true,
    log,
  });
  const apiKey = options.apiKey ?? randomApiKey();
  if (apiKey === WELL_KNOWN_API_KEY) {
    throw new Error(`the E2B API key ${WELL_KNOWN_API_KEY} is the well-known public default: set another one, or none for a random key per start`);
  }
  const adminKey = options.adminKey ?? randomBytes(24).toString("hex");
  if (adminKey === apiKey) throw new Error("the admin key must differ from the E2B API key");
  const snapshots = new SnapshotStore(dataDir, log);
  const templates = new TemplateBuilds(dataDir);
  const ctx: ServerContext = { store, snapshots, templates, stats, faults, apiKey, adminKey, log };

  const server = createServer((req, res) => {
    req.on("error", () => {});
    res.on("error", () => {});
    route(ctx, req, res).catch((err: unknown) => {
      // Last resort: never let a request crash the process.
      log(`request failed: ${(err as Error)?.stack ?? String(err)}`);
      try {
        writeReply(req, res, errorReply(new RpcError("internal", String(err)), "api", log));
      } catch {
        res.destroy();
      }
    });
  });
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.on("clientError", (_err, socket) => socket.destroy());

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (egress) egress.settings.serverPort = port;
  const disk = cgroups && options.limits !== false
    ? new DiskWatch({ limitMB: options.limits?.diskMB ?? DEFAULT_DISK_MB, intervalMs: options.diskCheckIntervalMs ?? 5000, sandboxes: () => store.all(), log })
    : undefined;
  disk?.start();

  const sweeper = setInterval(() => {
    try {
      store.sweep();
    } catch (err) {
      log(`sweep failed: ${(err as Error).message}`);
    }
  }, options.sweepIntervalMs ?? 250);
  sweeper.unref();

  let closing: Promise<void> | undefined;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    apiKey,
    adminKey,
    dataDir,
    isolation: isolation.kind,
    sharedNamespace: isolation.shared !== undefined,
    store,
    stats,
    faults,
    getStats: () => stats.snapshot(store.liveCount(), store.pausedCount()),
    resetStats: () => stats.reset(store.liveCount()),
    reset: () => resetAll(ctx),
    setFaults: (f) => faults.setFaults(f),
    addFault: (f) => faults.addFault(f),
    clearFaults: () => faults.clearFaults(),
    setLatency: (l) => faults.setLatency(l),
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        disk?.close();
        await store.close();
        spawner.close();
        egress?.close();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
