/**
 * Starting the local stack from Node: the local sandbox server and the Worker under
 * `wrangler dev`, each in its own process group so that it can be stopped (or kill -9'd) whole.
 * Every group is also registered with the orphan guard (orphan-guard.ts), which stops it when
 * its starter dies in any way, SIGKILL included. Used by `npm start`, chaos, bench and tests.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LOCAL_API_TOKEN } from "../cli/local-token.ts";
import { freePort, portInUse } from "./free-port.ts";

export const ROOT = resolve(import.meta.dirname, "..");
/**
 * The key between the Worker and the local sandbox server: random per start (a fixed, public key
 * would let anything on the machine drive every sandbox); E2B's SDK checks keys look like `e2b_<hex>`.
 */
export const LOCAL_E2B_API_KEY = `e2b_${randomBytes(20).toString("hex")}`;
/** The API token `npm start` accepts when FORKYARD_API_TOKENS is not set (cli/local-token.ts). */
export { LOCAL_API_TOKEN };

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
/** wrangler run by the pinned Node (its shim would pick whatever `node` is first on PATH). */
const wrangler = (...args: string[]) => [bin("node"), [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), ...args]] as const;

export interface StackProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM to the whole process group, then wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group (a crash). */
  kill9(): Promise<void>;
}

/**
 * Runs a check script (chaos, scale): `<name>: FAIL — <why>` when it throws, the cleanup always,
 * and the exit code says whether `main` passed.
 */
export async function runCheck(name: string, main: () => Promise<boolean>, cleanup: () => Promise<void>): Promise<never> {
  let ok = false;
  try {
    ok = await main();
  } catch (err) {
    console.log(`${name}: FAIL — ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await cleanup();
  }
  process.exit(ok ? 0 : 1);
}

/** A new throw-away folder under the checkout's .test-data (created as needed; git-ignored). */
export function scratchDir(prefix: string): string {
  const base = join(ROOT, ".test-data");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${prefix}-`));
  // Often exposed to sandboxes, whose commands run as an unprivileged user: readable by others.
  chmodSync(dir, 0o755);
  return dir;
}

let guard: ChildProcess | undefined;

/** Tells the orphan guard (started on first use) about a process group, or that it is gone. */
export function guardGroup(change: "+" | "-", pgid: number): void {
  if (!guard) {
    guard = spawn(bin("node"), [join(ROOT, "scripts", "orphan-guard.ts")], { detached: true, stdio: ["pipe", "ignore", "inherit"] });
    guard.unref();
    (guard.stdin as unknown as { unref(): void }).unref();
    guard.stdin?.on("error", () => {});
  }
  guard.stdin?.write(`${change}${pgid}\n`);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once no process of the group is left (the leader's exit is not enough). */
async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * stdio for a started process: printed through when not quiet, otherwise captured, keeping the
 * last few KiB so that a process that fails to start can say why.
 */
function outputOf(quiet: boolean | undefined): { stdio: ["ignore", "inherit" | "pipe", "inherit" | "pipe"]; capture(child: ChildProcess): () => string } {
  if (!quiet) return { stdio: ["ignore", "inherit", "inherit"], capture: () => () => "" };
  return {
    stdio: ["ignore", "pipe", "pipe"],
    capture(child) {
      let tail = "";
      const keep = (chunk: Buffer) => {
        tail = (tail + chunk.toString("utf8")).slice(-4096);
      };
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
      return () => tail.replace(/\x1b\[[0-9;]*m/g, "").trim();
    },
  };
}

/**
 * Starts a server on `port`, or on a free one picked here when none is asked for; a picked port
 * another process bound before the server could is picked again.
 */
async function onPort(port: number | undefined, launch: (port: number) => Promise<StackProcess>, what: string, graceMs = 5000): Promise<StackProcess> {
  // A fixed port another process holds: that process may even answer the health check (an earlier
  // stack still running), so ours would look ready while it exits over the port. Say so instead.
  // (A process of ours that just ended, e.g. chaos's killed Worker, may take a moment to let go of it.)
  if (port !== undefined && (await portStaysInUse(port, graceMs))) throw new PortInUseError(what, port);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(port ?? (await freePort()));
    } catch (err) {
      if (port !== undefined || attempt >= 3 || !(err instanceof ExitedBeforeReadyError && err.portTaken)) throw err;
    }
  }
}

function groupHandle(url: string, child: ChildProcess): StackProcess {
  const pgid = child.pid;
  if (pgid) guardGroup("+", pgid);
  const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r())));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (pgid) process.kill(-pgid, signal);
    } catch {
      // already gone
    }
  };
  const ended = async (graceMs: number) => {
    if (pgid && !(await groupGone(pgid, graceMs))) {
      signalGroup("SIGKILL");
      await groupGone(pgid, 5000);
    }
    await exited;
    if (pgid) guardGroup("-", pgid);
  };
  return {
    url,
    child,
    async stop() {
      signalGroup("SIGTERM");
      await ended(5000);
    },
    async kill9() {
      signalGroup("SIGKILL");
      await ended(0);
    },
  };
}

/** Whether `port` is still in use after `graceMs` of asking. */
async function portStaysInUse(port: number, graceMs: number): Promise<boolean> {
  for (const deadline = Date.now() + graceMs; ; ) {
    if (!(await portInUse(port))) return false;
    if (Date.now() > deadline) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A fixed port (PORT, SANDBOX_PORT) is held by another process: nothing of ours was started on it. */
export class PortInUseError extends Error {
  constructor(what: string, port: number) {
    const variable = what === "the sandbox server" ? "SANDBOX_PORT" : "PORT";
    super(`${what} cannot listen on 127.0.0.1:${port}: the port is in use (another \`npm start\` still running?). Stop that process, or set ${variable} to a free port.`);
  }
}

/** A started process ended before it answered; `output` is the end of what it printed (when captured). */
export class ExitedBeforeReadyError extends Error {
  readonly output: string;
  constructor(url: string, exitCode: number | null, output = "") {
    super(`process exited (${exitCode}) before ${url} answered${output ? `; it printed:\n${output}` : ""}`);
    this.output = output;
  }
  /** Another process bound the port between our pick and its bind. */
  get portTaken(): boolean {
    return /EADDRINUSE|Address already in use/i.test(this.output);
  }
}

export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess, output?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new ExitedBeforeReadyError(url, child.exitCode, output?.());
    try {
      // Only a success counts: a port another process took first may answer too (another
      // wrangler's inspector answers 403), until the process we started exits over it.
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface SandboxServerProcess extends StackProcess {
  /** Key of the server's /admin API (never the E2B key). */
  adminKey: string;
}

export async function startSandboxServer(opts: {
  /** Omitted: a free port. */
  port?: number;
  dataDir: string;
  apiKey: string;
  /** Host folders sandboxes may read (local repos); nothing else of the host but system folders. */
  exposePaths?: string[];
  /** Host paths sandboxes never see, even inside an exposed folder (the checkout and state always). */
  hidePaths?: string[];
  env?: NodeJS.ProcessEnv;
  quiet?: boolean;
  onSpawn?: (p: StackProcess) => void;
  /** How long a fixed `port` may stay in use before that is an error (default 5 s). */
  portGraceMs?: number;
}): Promise<SandboxServerProcess> {
  const env = { ...process.env, ...opts.env };
  const list = (...parts: (string | undefined)[]) => parts.flatMap((p) => (p ?? "").split(":")).filter(Boolean).join(":");
  const adminKey = env.SANDBOX_ADMIN_KEY || randomBytes(24).toString("hex");
  const output = outputOf(opts.quiet);
  const handle = await onPort(opts.port, (port) => {
    const child = spawn(bin("node"), [join(ROOT, "local-sandbox", "main.ts")], {
      cwd: ROOT,
      detached: true,
      stdio: output.stdio,
      env: {
        ...env,
        SANDBOX_PORT: String(port),
        SANDBOX_DATA_DIR: opts.dataDir,
        E2B_API_KEY: opts.apiKey,
        SANDBOX_ADMIN_KEY: adminKey,
        SANDBOX_EXPOSE_PATHS: list(env.SANDBOX_EXPOSE_PATHS, ...(opts.exposePaths ?? [])),
        SANDBOX_HIDE_PATHS: list(env.SANDBOX_HIDE_PATHS, ROOT, ...(opts.hidePaths ?? [])),
      },
    });
    // ~1 s on a quiet machine; a bound, not a timing: at `npm test`'s start five vitest processes
    // compile at once on two cores and a start took over 15 s (a lane failed so).
    return started(groupHandle(`http://127.0.0.1:${port}`, child), "/health", 90_000, output.capture(child), opts.onSpawn);
  }, "the sandbox server", opts.portGraceMs);
  return { ...handle, adminKey };
}

/**
 * Waits until a spawned process answers; a process that never does is stopped. `onSpawn` sees the
 * process before it is ready, so a shutdown during start-up can stop it too.
 */
async function started(handle: StackProcess, path: string, timeoutMs: number, output: () => string, onSpawn?: (p: StackProcess) => void): Promise<StackProcess> {
  onSpawn?.(handle);
  try {
    await waitForHttp(`${handle.url}${path}`, timeoutMs, handle.child, output);
    return handle;
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

/** Applies D1 migrations to the local state, then runs the Worker with `wrangler dev`. */
export async function startWorker(opts: {
  /** Omitted: a free port. */
  port?: number;
  stateDir: string;
  vars: Record<string, string>;
  quiet?: boolean;
  /** Opens the Worker's V8 inspector on this port (CPU profiles: scripts/cpu-profile.ts). */
  inspectorPort?: number;
  /**
   * Another Worker than Forkyard (a wrangler.toml path; no D1 migrations), e.g. the engine probe.
   * Like Forkyard, it must answer GET /healthz with a 2xx: that is how its start is told.
   */
  config?: string;
  onSpawn?: (p: StackProcess) => void;
}): Promise<StackProcess> {
  mkdirSync(opts.stateDir, { recursive: true });
  // Vars and secrets go through a private env file, never on a command line.
  const envFile = join(opts.stateDir, "forkyard.env");
  writeFileSync(envFile, Object.entries(opts.vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n") + "\n", { mode: 0o600 });
  chmodSync(envFile, 0o600);
  if (!opts.config) migrateD1(opts.stateDir, opts.quiet);
  const output = outputOf(opts.quiet);
  return onPort(opts.port, (port) => {
    const child = spawn(
      ...wrangler("dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", opts.stateDir, "--env-file", envFile, "--show-interactive-dev-session=false", ...(opts.inspectorPort ? ["--inspector-port", String(opts.inspectorPort)] : []), ...(opts.config ? ["-c", opts.config] : [])),
      { cwd: ROOT, detached: true, stdio: output.stdio, env: { ...process.env, CI: "1", ...devRuntimeEnv() } },
    );
    return started(groupHandle(`http://127.0.0.1:${port}`, child), "/healthz", 90_000, output.capture(child), opts.onSpawn);
  }, "the Worker (wrangler dev)");
}

/** Applies the D1 migrations to a state dir with `wrangler d1 migrations apply` (only what is new). */
function applyMigrations(stateDir: string, quiet: boolean | undefined): void {
  const migrate = spawnSync(...wrangler("d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir), {
    cwd: ROOT,
    stdio: quiet ? "ignore" : "inherit",
    env: { ...process.env, CI: "1" },
  });
  if (migrate.status !== 0) throw new Error("applying D1 migrations failed");
}

/**
 * Gives a state dir a migrated D1 database. A new state dir gets a copy of one migrated once per
 * set of migrations (kept under .wrangler/), which spares a wrangler process (~5 s) per start of a
 * fresh stack; a state dir that has a database already gets what is new applied.
 */
function migrateD1(stateDir: string, quiet: boolean | undefined): void {
  const d1 = join("v3", "d1");
  if (existsSync(join(stateDir, d1))) return applyMigrations(stateDir, quiet);
  const hash = createHash("sha256").update(readFileSync(join(ROOT, "wrangler.toml")));
  const dir = join(ROOT, "migrations");
  for (const name of readdirSync(dir).sort()) hash.update(name).update(readFileSync(join(dir, name)));
  const migrated = join(ROOT, ".wrangler", `d1-migrated-${hash.digest("hex").slice(0, 16)}`);
  if (!existsSync(migrated)) {
    mkdirSync(join(ROOT, ".wrangler"), { recursive: true });
    const building = mkdtempSync(`${migrated}-building-`);
    applyMigrations(building, quiet);
    try {
      renameSync(building, migrated);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another start made it first
    }
  }
  cpSync(join(migrated, d1), join(stateDir, d1), { recursive: true });
}

/**
 * wrangler dev's local trace collector records every invocation (each RPC and workflow step) in its
 * own SQLite store, on the runtime's only thread: it was most of the runtime's disk writes and a
 * large share of its time. Off unless asked for (X_LOCAL_OBSERVABILITY=true); Cloudflare's own
 * observability (wrangler.toml) is unaffected.
 */
function devRuntimeEnv(): Record<string, string> {
  return { X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false" };
}

/** Worker configuration for running against the local sandbox server (or real E2B). */
export function workerVars(opts: { backend: "local" | "e2b"; sandboxUrl?: string; env: NodeJS.ProcessEnv }): Record<string, string> {
  const env = opts.env;
  const vars: Record<string, string> = {
    SANDBOX_BACKEND: opts.backend,
    FORKYARD_API_TOKENS: env.FORKYARD_API_TOKENS || LOCAL_API_TOKEN,
    ALLOW_LOCAL_REPOS: env.ALLOW_LOCAL_REPOS ?? (opts.backend === "local" ? "true" : "false"),
  };
  if (opts.backend === "local" && opts.sandboxUrl) {
    vars.E2B_API_KEY = env.LOCAL_SANDBOX_API_KEY ?? LOCAL_E2B_API_KEY;
    vars.E2B_API_URL = opts.sandboxUrl;
    vars.E2B_SANDBOX_URL = opts.sandboxUrl;
    // The local sandbox server has no creation rate of its own (wrangler.toml's 1 a second is E2B Hobby's).
    vars.SANDBOX_CREATE_RATE_PER_SECOND = env.SANDBOX_CREATE_RATE_PER_SECOND ?? "50";
  } else {
    if (!env.E2B_API_KEY) throw new Error("SANDBOX_BACKEND=e2b needs E2B_API_KEY in the environment");
    vars.E2B_API_KEY = env.E2B_API_KEY;
    for (const key of ["E2B_API_URL", "E2B_SANDBOX_URL", "E2B_DOMAIN"]) if (env[key]) vars[key] = env[key]!;
  }
  // Every other configuration value set in the environment is passed through.
  for (const key of PASSTHROUGH) if (env[key] !== undefined && vars[key] === undefined) vars[key] = env[key]!;
  return vars;
}

const PASSTHROUGH = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_BASE_URL",
  "PUBLIC_URL",
  "MODEL_PROXY_SECRET",
  "GITHUB_TOKEN",
  "GITHUB_WEBHOOK_SECRET",
  "GITHUB_API_URL",
  "GITHUB_TRIGGERS",
  "GITHUB_TRIGGER_LABEL",
  "GITHUB_MAX_FORKS",
  "GITHUB_MAX_BUDGET_USD",
  "GITHUB_COMMENT_CHECK",
  "GITHUB_PUSH_REPO",
  "MAX_LIVE_SANDBOXES",
  "SANDBOX_CREATE_RATE_PER_SECOND",
  "SANDBOX_VCPU",
  "SANDBOX_MEMORY_GIB",
  "PRICE_VCPU_SECOND",
  "PRICE_GIB_SECOND",
  "REAPER_MAX_AGE_SECONDS",
  "RECONCILE_INTERVAL_SECONDS",
  "STALE_FORK_SECONDS",
  "RETRY_POLICIES",
  "MAX_BODY_BYTES",
  "LOG_LEVEL",
];
