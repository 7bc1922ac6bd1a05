// The sandbox table: lifecycle (create, pause, resume, timeouts, fork, kill), the on-disk layout
// and persistence.
//
// Layout:  <dataDir>/sandboxes.json        the table (rewritten atomically after every change)
//          <dataDir>/<sandboxID>/home      mounted at /home/user
//          <dataDir>/<sandboxID>/tmp       mounted at /tmp
// Restart semantics: the table is reloaded; sandboxes keep their state (running ones stay running
// but have no processes, like an envd restart) and their endAt, so the sweeper expires them on
// schedule. Paused sandboxes stay paused.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { rm, rename, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { copyTree } from "./copy-tree.ts";
import { randomBytes, randomInt } from "node:crypto";
import { join } from "node:path";
import { ApiError, RpcError, maxLiveMessage, sandboxNotFoundMessage } from "./errors.ts";
import { bootId } from "./isolation/boot-id.ts";
import { NamespaceHolder, buildLaunch, type Isolation, type MountInput } from "./isolation.ts";
import { Forwarder, type ForwardHost } from "./isolation/forward.ts";
import { allowedForwards, type NetworkRules } from "./isolation/egress.ts";
import { inCgroup, type Cgroups, type SandboxCgroup } from "./isolation/cgroups.ts";
import { splitLoaderEnv } from "./isolation/loader-env.ts";
import type { EgressProxy } from "./isolation/egress-proxy.ts";
import { freeze, memoryOf, type FrozenSandbox } from "./isolation/freeze.ts";
import { SANDBOX_GID, SANDBOX_UID, seedHome, writeUserFiles, type UserFiles } from "./isolation/user.ts";
import { HOME, normalizeVirtual, mapVirtual } from "./paths.ts";
import { locate } from "./sandbox-fs.ts";
import { ProcessTable, type ProcessConfig, type SandboxProcess } from "./processes.ts";
import { PtyTerminal, ptyLaunch, type PtySize } from "./pty.ts";
import type { Spawner } from "./spawner.ts";
import type { Stats } from "./stats.ts";
import type { ConnectStream } from "./connect-protocol.ts";
import type { RepoVisibility } from "./repo-check.ts";

export const ENVD_VERSION = "0.6.13";
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/**
 * How long a command waits for its sandbox's namespace (holder, view, forwarded addresses) to start:
 * a bound for a loaded host, where dozens of namespaces starting at once take seconds each, not a
 * timing. At 15 s, a test suite's start-up load and a 1,000-fork run made healthy sandboxes fail
 * their first command as gone (their forks failed `sandbox_gone`: 394 of 1,000).
 */
const HOLDER_START_BOUND_MS = 90_000;

export type SandboxState = "running" | "paused";

/** Persisted fields of a sandbox. Times are epoch ms. */
export interface SandboxRecord {
  sandboxID: string;
  templateID: string;
  alias: string;
  envdAccessToken: string;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  state: SandboxState;
  createdAt: number;
  startedAt: number;
  endAt: number;
  autoPause: boolean;
  autoResume: boolean;
  /** `false`: a timeout's auto-pause is files-only (E2B's `onTimeout: { action: "pause", keepMemory: false }`). */
  autoPauseMemory?: false;
  /** TTL requested at creation (seconds); reused when traffic auto-resumes a paused sandbox. */
  timeoutSec?: number;
  /** The create body's outbound rules (isolation/egress.ts): which forwarded hosts it gets. Forks inherit them. */
  network?: NetworkRules;
  /** How the last pause went: processes kept frozen (`memory`) or files only, and why. */
  pause?: PauseInfo;
  /** Working directory of commands that name none (a template's WORKDIR; default /home/user). */
  workdir?: string;
}

/** A pause's kind: `memory` = its processes are frozen and go on when resumed; else files only. */
export interface PauseInfo {
  memory: boolean;
  /** Why a pause asked to keep memory is files-only (cap reached, server restarted...). */
  note?: string;
}

export class Sandbox {
  readonly record: SandboxRecord;
  readonly dir: string;
  readonly home: string;
  readonly tmp: string;
  readonly processes = new ProcessTable();
  /** Open envd streams; dropped (connection reset) when the sandbox stops running. */
  readonly streams = new Set<ConnectStream>();
  /** Keeps the sandbox's namespaces alive in shared-namespace mode (started lazily). */
  holder: NamespaceHolder | undefined;
  /** The forwarded host addresses inside the sandbox's network namespace (with the holder). */
  forwarder: Promise<Forwarder> | undefined;
  /** The sandbox's cgroups (resource limits), made with its namespace. */
  cgroup: SandboxCgroup | undefined;
  /** Its processes while paused with memory (isolation/freeze.ts). */
  frozen: FrozenSandbox | undefined;
  /** Called once when it stops running (kill, pause, timeout): e.g. directory watchers. */
  readonly onStop = new Set<() => void>();

  constructor(record: SandboxRecord, dataDir: string) {
    this.record = record;
    this.dir = join(dataDir, record.sandboxID);
    this.home = join(this.dir, "home");
    this.tmp = join(this.dir, "tmp");
  }

  get id(): string {
    return this.record.sandboxID;
  }

  get running(): boolean {
    return this.record.state === "running";
  }

  /** What a freeze of this sandbox's processes covers (its groups, its holder and commands). */
  freezeTarget(): { cgroup: SandboxCgroup | undefined; roots: number[] } {
    const roots = this.processes.running().map((p) => p.pid);
    if (this.holder?.hostPid !== undefined) roots.push(this.holder.hostPid);
    return { cgroup: this.cgroup, roots };
  }

  /** Open envd streams are dropped (connection reset), as a paused VM's connections are; watchers end. */
  cutStreams(): void {
    for (const s of [...this.streams]) s.destroy();
    this.streams.clear();
    for (const fn of [...this.onStop]) fn();
    this.onStop.clear();
  }

  /** Stops everything running inside: processes are SIGKILLed (frozen ones too), envd streams are cut. */
  stopAll(): void {
    this.processes.killAll();
    this.holder?.stop();
    this.holder = undefined;
    // After the kills: a frozen process handles its pending SIGKILL as it thaws.
    this.frozen?.thaw();
    this.frozen = undefined;
    this.forwarder?.then((f) => f.close(), () => {});
    this.forwarder = undefined;
    this.cgroup?.remove();
    this.cgroup = undefined;
    this.cutStreams();
  }

  /**
   * Kills every process of the sandbox (its namespace too) but keeps it running, with its files and
   * streams: each running command ends `signal: killed: <reason>`. The next command starts a new namespace.
   */
  stopProcesses(reason: string): void {
    this.processes.killAll(reason);
    this.holder?.stop();
    this.holder = undefined;
  }
}

export interface CreateInput {
  templateID: string;
  /** The template's name (default: templateID). */
  alias?: string;
  timeoutSec: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  autoPause: boolean;
  autoResume: boolean;
  autoPauseMemory?: false;
  network?: NetworkRules;
  /** Default working directory of its commands (a template's). */
  workdir?: string;
}

export interface StoreOptions {
  dataDir: string;
  maxLive: number;
  isolation: Isolation;
  /** Starts the sandboxes' processes (spawner.ts). */
  spawner: Spawner;
  exposePaths: string[];
  hidePaths: string[];
  /** Host addresses every sandbox reaches at the same ip:port on its own loopback. */
  forwardHosts: ForwardHost[];
  /** The egress proxy (isolation/egress-proxy.ts), in shared-namespace mode unless SANDBOX_EGRESS=off. */
  egress?: EgressProxy | undefined;
  /** Per-sandbox resource limits (undefined: none). */
  cgroups: Cgroups | undefined;
  /** Cap on the memory of all sandboxes paused with memory (MiB); beyond it a pause is files-only. 0: always files-only. */
  frozenMemoryMB: number;
  stats: Stats;
  persist: boolean;
  log: (msg: string) => void;
}

export interface StartProcessInput {
  config: ProcessConfig;
  stdin: boolean;
  tag?: string;
  /** Run it on a pseudo-terminal of this size (pty.ts). */
  pty?: PtySize;
}

export type ForkResult = { sandbox: Sandbox } | { error: ApiError };

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function newSandboxId(): string {
  let id = "i";
  for (let i = 0; i < 19; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export class SandboxStore {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly opts: StoreOptions;
  private readonly tablePath: string;
  private reserved = 0;
  private persistTimer: NodeJS.Timeout | undefined;
  private persistChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** The view's passwd/group naming the sandbox user (when commands run as it). */
  private readonly userFiles: UserFiles | undefined;
  /** Owner of what sandboxes (and the file API for them) create; undefined: the server's user. */
  readonly owner: { uid: number; gid: number } | undefined;

  constructor(opts: StoreOptions) {
    this.opts = opts;
    this.tablePath = join(opts.dataDir, "sandboxes.json");
    mkdirSync(opts.dataDir, { recursive: true });
    // Commands switch to the sandbox user in a shared namespace (the server is root there).
    if (opts.isolation.shared) {
      this.userFiles = writeUserFiles(join(opts.dataDir, ".etc"));
      this.owner = { uid: SANDBOX_UID, gid: SANDBOX_GID };
    }
    this.load();
    this.cleanTrash();
  }

  get dataDir(): string {
    return this.opts.dataDir;
  }

  get spawner(): Spawner {
    return this.opts.spawner;
  }

  get isolation(): Isolation {
    return this.opts.isolation;
  }

  get maxLive(): number {
    return this.opts.maxLive;
  }

  set maxLive(n: number) {
    this.opts.maxLive = n;
  }

  // ---- queries -------------------------------------------------------------------------------

  get(id: string): Sandbox | undefined {
    return this.sandboxes.get(id);
  }

  /** Throws the E2B 404 when the sandbox does not exist. */
  require(id: string): Sandbox {
    const sb = this.sandboxes.get(id);
    if (!sb) throw new ApiError(404, sandboxNotFoundMessage(id));
    return sb;
  }

  /** Like require(), but a paused sandbox is also "not found" (operations on running ones). */
  requireRunning(id: string): Sandbox {
    const sb = this.require(id);
    if (!sb.running) throw new ApiError(404, sandboxNotFoundMessage(id));
    return sb;
  }

  all(): Sandbox[] {
    return [...this.sandboxes.values()];
  }

  liveCount(): number {
    let n = 0;
    for (const sb of this.sandboxes.values()) if (sb.running) n++;
    return n;
  }

  pausedCount(): number {
    return this.sandboxes.size - this.liveCount();
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  private checkCapacity(extra = 1): void {
    if (this.liveCount() + this.reserved + extra > this.opts.maxLive) {
      throw new ApiError(429, maxLiveMessage(this.opts.maxLive));
    }
  }

  private afterLiveChange(): void {
    this.opts.stats.observeLive(this.liveCount());
    this.schedulePersist();
  }

  /** Makes a sandbox's home (owned by the sandbox user) and tmp (sticky, world-writable). */
  private makeDirs(sb: Sandbox): void {
    mkdirSync(sb.home, { recursive: true });
    mkdirSync(sb.tmp, { recursive: true });
    chmodSync(sb.tmp, 0o1777);
    if (this.owner) chownSync(sb.home, this.owner.uid, this.owner.gid);
  }

  private freshId(): string {
    let id = newSandboxId();
    while (this.sandboxes.has(id) || existsSync(join(this.opts.dataDir, id))) id = newSandboxId();
    return id;
  }

  private newRecord(input: CreateInput): SandboxRecord {
    const now = Date.now();
    return {
      sandboxID: "",
      templateID: input.templateID,
      alias: input.alias ?? input.templateID,
      envdAccessToken: randomBytes(20).toString("hex"),
      metadata: { ...input.metadata },
      envVars: { ...input.envVars },
      state: "running",
      createdAt: now,
      startedAt: now,
      endAt: now + input.timeoutSec * 1000,
      autoPause: input.autoPause,
      autoResume: input.autoResume,
      timeoutSec: input.timeoutSec,
      ...(input.autoPauseMemory === false ? { autoPauseMemory: false as const } : {}),
      ...(input.network ? { network: input.network } : {}),
      ...(input.workdir ? { workdir: input.workdir } : {}),
    };
  }

  create(input: CreateInput): Sandbox {
    this.checkCapacity();
    const record = this.newRecord(input);
    record.sandboxID = this.freshId();
    const sb = new Sandbox(record, this.opts.dataDir);
    this.makeDirs(sb);
    if (this.owner) seedHome(sb.home);
    this.sandboxes.set(sb.id, sb);
    this.opts.stats.created++;
    this.afterLiveChange();
    return sb;
  }

  /** Kills a sandbox (running or paused) and deletes its files. False when unknown. */
  kill(id: string): boolean {
    const sb = this.sandboxes.get(id);
    if (!sb) return false;
    sb.stopAll();
    this.sandboxes.delete(id);
    this.opts.stats.killed++;
    this.afterLiveChange();
    this.removeDir(sb.dir);
    return true;
  }

  /** Renames the directory out of the way synchronously, then deletes it in the background. */
  private removeDir(dir: string): void {
    const trash = join(this.opts.dataDir, `.trash-${randomBytes(6).toString("hex")}`);
    let target = dir;
    try {
      renameSync(dir, trash);
      target = trash;
    } catch {
      // fall back to deleting in place
    }
    rm(target, { recursive: true, force: true, maxRetries: 3 }).catch((err: unknown) => {
      this.opts.log(`failed to delete ${target}: ${(err as Error).message}`);
    });
  }

  private cleanTrash(): void {
    try {
      for (const name of readdirSync(this.opts.dataDir)) {
        if (name.startsWith(".trash-")) this.removeDir(join(this.opts.dataDir, name));
      }
    } catch {
      // ignore
    }
  }

  /**
   * Pauses a running sandbox. `keepMemory` (E2B's default): its processes are frozen and go on when
   * it resumes — unless the frozen sandboxes' memory would pass `frozenMemoryMB`, then (and with
   * `keepMemory: false`) processes are killed and files kept. 409 when already paused.
   */
  pause(id: string, keepMemory = true): PauseInfo {
    const sb = this.require(id);
    if (!sb.running) throw new ApiError(409, `Error pausing sandbox - sandbox '${id}' is already paused`);
    let note = keepMemory ? this.frozenMemoryFull(sb) : undefined;
    if (keepMemory && note === undefined) {
      try {
        sb.frozen = freeze(sb.freezeTarget());
      } catch (err) {
        note = `paused files-only (processes stopped): its processes could not be frozen (${(err as Error).message})`;
      }
    }
    if (keepMemory && note === undefined) {
      sb.cutStreams();
      sb.record.pause = { memory: true };
    } else {
      sb.stopAll();
      sb.record.pause = { memory: false, ...(note ? { note } : {}) };
      if (note) this.opts.log(`sandbox ${id}: ${note}`);
    }
    sb.record.state = "paused";
    this.opts.stats.paused++;
    this.afterLiveChange();
    return sb.record.pause;
  }

  /** Why freezing this sandbox would pass the frozen-memory cap (undefined: it fits). */
  private frozenMemoryFull(sb: Sandbox): string | undefined {
    const cap = this.opts.frozenMemoryMB;
    const mib = (bytes: number) => Math.ceil(bytes / 1024 / 1024);
    const frozen = this.all().reduce((sum, other) => sum + (other.frozen?.bytes ?? 0), 0);
    const mine = memoryOf(sb.freezeTarget());
    if (cap > 0 && frozen + mine <= cap * 1024 * 1024) return undefined;
    return `paused files-only (processes stopped): frozen sandboxes' memory ${mib(frozen)} MiB + this one's ${mib(mine)} MiB would pass SANDBOX_FROZEN_MEMORY_MB=${cap}`;
  }

  /**
   * Connect semantics: a running sandbox gets its TTL extended (never shortened); a paused one is
   * resumed with endAt = now + timeout. Returns whether it was resumed.
   */
  connect(id: string, timeoutSec: number): { sandbox: Sandbox; resumed: boolean } {
    const sb = this.require(id);
    const now = Date.now();
    if (sb.running) {
      sb.record.endAt = Math.max(sb.record.endAt, now + timeoutSec * 1000);
      this.schedulePersist();
      return { sandbox: sb, resumed: false };
    }
    this.checkCapacity();
    sb.frozen?.thaw();
    sb.frozen = undefined;
    sb.record.state = "running";
    sb.record.startedAt = now;
    sb.record.endAt = now + timeoutSec * 1000;
    this.opts.stats.resumed++;
    this.afterLiveChange();
    return { sandbox: sb, resumed: true };
  }

  /** Deletes files of a sandbox (the `resume.files` fault): sandbox paths, relative ones under /home/user. */
  loseFiles(id: string, paths: string[]): void {
    const sb = this.require(id);
    for (const path of paths) {
      const host = mapVirtual({ home: sb.home, tmp: sb.tmp }, normalizeVirtual(path));
      if (host) rmSync(host, { force: true, recursive: true });
    }
  }

  /** Deprecated resume: 409 when the sandbox is already running. */
  resume(id: string, timeoutSec: number, autoPause?: boolean): Sandbox {
    const sb = this.require(id);
    if (sb.running) throw new ApiError(409, `Sandbox ${id} is already running`);
    if (autoPause !== undefined) sb.record.autoPause = autoPause;
    return this.connect(id, timeoutSec).sandbox;
  }

  setTimeout(id: string, timeoutSec: number): void {
    const sb = this.requireRunning(id);
    sb.record.endAt = Date.now() + timeoutSec * 1000;
    this.schedulePersist();
  }

  refresh(id: string, durationSec: number): void {
    const sb = this.requireRunning(id);
    sb.record.endAt = Math.max(sb.record.endAt, Date.now() + durationSec * 1000);
    this.schedulePersist();
  }

  /** Copies a running sandbox's files into `count` new running sandboxes (no processes). */
  async fork(id: string, count: number, timeoutSec: number): Promise<ForkResult[]> {
    const src = this.require(id);
    if (!src.running) throw new ApiError(409, `Sandbox '${id}' is paused and cannot be forked; resume it first`);
    const jobs = Array.from({ length: count }, async (): Promise<ForkResult> => {
      const now = Date.now();
      const record: SandboxRecord = {
        ...src.record,
        sandboxID: "",
        envdAccessToken: randomBytes(20).toString("hex"),
        metadata: { ...src.record.metadata },
        envVars: { ...src.record.envVars },
        state: "running",
        createdAt: now,
        startedAt: now,
        endAt: now + timeoutSec * 1000,
        timeoutSec,
      };
      delete record.pause;
      const made = await this.materialize(record, src.dir, "forking");
      if ("sandbox" in made) this.opts.stats.forked++;
      return made;
    });
    return Promise.all(jobs);
  }

  /** A new running sandbox whose files are a copy of `from` (a folder holding `home` and `tmp`: a snapshot's). */
  async createFrom(input: CreateInput, from: string): Promise<Sandbox> {
    const made = await this.materialize(this.newRecord(input), from, "creating sandbox from snapshot");
    if ("error" in made) throw made.error;
    return made.sandbox;
  }

  /**
   * Registers a new running sandbox (`record` gets a fresh id) with a copy of `from`'s `home` and
   * `tmp`; the capacity is held while copying.
   */
  private async materialize(record: SandboxRecord, from: string, doing: string): Promise<ForkResult> {
    try {
      this.checkCapacity();
    } catch (err) {
      return { error: err as ApiError };
    }
    this.reserved++;
    record.sandboxID = this.freshId();
    const sb = new Sandbox(record, this.opts.dataDir);
    try {
      mkdirSync(sb.dir, { recursive: true });
      for (const part of ["home", "tmp"]) if (existsSync(join(from, part))) await copyTree(join(from, part), join(sb.dir, part));
      this.makeDirs(sb);
    } catch (err) {
      this.reserved--;
      await rm(sb.dir, { recursive: true, force: true }).catch(() => {});
      return { error: new ApiError(500, `Error ${doing}: ${(err as Error).message}`) };
    }
    this.reserved--;
    if (this.closed) return { error: new ApiError(503, "Server is shutting down") };
    this.sandboxes.set(sb.id, sb);
    this.opts.stats.created++;
    this.afterLiveChange();
    return { sandbox: sb };
  }

  /** Applies timeouts: expired running sandboxes are paused (autoPause) or killed. */
  sweep(now = Date.now()): void {
    for (const sb of [...this.sandboxes.values()]) {
      if (!sb.running || sb.record.endAt > now) continue;
      this.expire(sb.id);
    }
  }

  /** Runs the timeout action for one sandbox right now. */
  expire(id: string): void {
    const sb = this.require(id);
    this.opts.stats.expired++;
    if (sb.record.autoPause) {
      if (sb.running) this.pause(id, sb.record.autoPauseMemory !== false);
    } else {
      this.kill(id);
    }
  }

  // ---- processes -----------------------------------------------------------------------------

  /** Environment of a sandbox process: minimal and host-independent, plus sandbox/process envs. */
  private processEnv(sb: Sandbox, envs: Record<string, string>): Record<string, string> {
    const isolated = this.opts.isolation.kind !== "none";
    return {
      PATH: DEFAULT_PATH,
      HOME: isolated ? HOME : sb.home,
      TMPDIR: isolated ? "/tmp" : sb.tmp,
      USER: "user",
      LOGNAME: "user",
      SHELL: "/bin/bash",
      LANG: "C.UTF-8",
      E2B_SANDBOX: "true",
      E2B_SANDBOX_ID: sb.id,
      E2B_TEMPLATE_ID: sb.record.templateID,
      ...this.opts.egress?.env(sb.record.network, allowedForwards(this.opts.forwardHosts, sb.record.network)),
      ...sb.record.envVars,
      ...envs,
    };
  }

  /** What a sandbox sees of the host, for the repo check (repo-check.ts). */
  repoVisibility(): RepoVisibility {
    return { isolated: this.opts.isolation.kind !== "none", exposePaths: this.opts.exposePaths, hidePaths: this.opts.hidePaths, dataDir: this.opts.dataDir };
  }

  /** `boot`: the sandbox's namespace is starting (a new boot id). */
  private mounts(sb: Sandbox, boot = false): MountInput {
    return {
      bootId: bootId(sb.dir, boot),
      home: sb.home,
      tmp: sb.tmp,
      dataDir: this.opts.dataDir,
      exposePaths: this.opts.exposePaths,
      hidePaths: this.opts.hidePaths,
      ...(this.userFiles ? { userFiles: this.userFiles } : {}),
    };
  }

  /** Host pid of the sandbox namespace's init (shared-namespace mode), starting it if needed. */
  private async namespaceInit(sb: Sandbox): Promise<number> {
    const shared = this.opts.isolation.shared;
    if (!sb.holder?.alive && shared) {
      sb.forwarder?.then((f) => f.close(), () => {});
      sb.cgroup?.remove();
      sb.cgroup = this.opts.cgroups?.create(sb.id);
      const holder = new NamespaceHolder(this.opts.spawner, this.opts.isolation, this.mounts(sb, true), () => {}, sb.cgroup?.procs);
      sb.holder = holder;
      const forwards = allowedForwards(this.opts.forwardHosts, sb.record.network);
      const proxy = this.opts.egress?.listener(sb.record.network, forwards);
      const forwarder = holder.ready.then((pid) => Forwarder.start(this.opts.spawner, shared.nsenterPath, pid, proxy ? [...forwards, proxy] : forwards));
      forwarder.catch(() => holder.stop());
      sb.forwarder = forwarder;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`namespace holder did not start within ${HOLDER_START_BOUND_MS / 1000} s`)), HOLDER_START_BOUND_MS);
    });
    try {
      const [pid] = await Promise.race([Promise.all([sb.holder!.ready, sb.forwarder!]), timeout]);
      return pid;
    } catch (err) {
      // The e2b SDK reads `unavailable` on a process start as "the sandbox is not running anymore":
      // so it is, and a client replaces it (Forkyard's forks do).
      throw new RpcError("unavailable", `sandbox namespace is not available: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async startProcess(sb: Sandbox, input: StartProcessInput): Promise<SandboxProcess> {
    const virtualCwd = normalizeVirtual(input.config.cwd ?? sb.record.workdir ?? HOME);
    let hostCwd: string | undefined;
    if (mapVirtual(sb, virtualCwd) !== undefined) {
      let resolved: string | undefined;
      try {
        const loc = locate(sb, virtualCwd, { followFinal: true });
        try {
          if (lstatSync(loc.path).isDirectory()) resolved = mapVirtual(sb, loc.virtual);
        } finally {
          loc.close();
        }
      } catch {
        resolved = undefined;
      }
      if (resolved === undefined) throw new RpcError("invalid_argument", `failed to start process: chdir ${virtualCwd}: no such file or directory`);
      hostCwd = resolved;
    } else if (this.opts.isolation.kind === "none") {
      throw new RpcError("invalid_argument", `cwd ${virtualCwd} is outside /home/user and /tmp (no isolation available)`);
    }
    let initPid: number | undefined;
    if (this.opts.isolation.shared) {
      initPid = await this.namespaceInit(sb);
      if (!sb.running || this.sandboxes.get(sb.id) !== sb) throw new RpcError("unavailable", "sandbox is not running");
    }
    // Isolated, the host's root helpers never see the loader's variables (isolation/loader-env.ts).
    const fullEnv = this.processEnv(sb, input.config.envs);
    const { host: env, loader } = this.opts.isolation.kind === "none" ? { host: fullEnv, loader: [] } : splitLoaderEnv(fullEnv);
    const launch = buildLaunch(this.opts.isolation, {
      cmd: input.config.cmd,
      args: input.config.args,
      virtualCwd,
      ...(hostCwd !== undefined ? { hostCwd } : {}),
      ...(initPid !== undefined ? { initPid } : {}),
      loaderEnv: loader,
      ...this.mounts(sb),
    });
    try {
      const cgroup = sb.cgroup;
      const pty = input.pty ? ptyLaunch(launch, input.pty, env) : undefined;
      const start = inCgroup(cgroup?.procs ?? [], pty?.file ?? launch.file, pty?.args ?? launch.args);
      const oomBefore = cgroup?.oomKills() ?? 0;
      const memoryMB = this.opts.cgroups?.limits.memoryMB;
      const explainKill = () =>
        cgroup && cgroup.oomKills() > oomBefore ? `out of memory: the sandbox reached its memory limit (${memoryMB} MiB)` : undefined;
      const started = await sb.processes.add(
        this.opts.spawner,
        { file: start.file, args: start.args, cwd: launch.cwd, env: pty?.env ?? env, stdin: input.stdin, explainKill, ...(pty ? { pty: new PtyTerminal() } : {}) },
        input.config,
        input.tag,
      );
      // Stopped while its process was being started: the process goes too, and the start fails as
      // on a sandbox that is gone (its streams were cut before this one existed).
      if (!sb.running || this.sandboxes.get(sb.id) !== sb) {
        started.signal("SIGKILL");
        throw new RpcError("unavailable", "sandbox is not running");
      }
      return started;
    } catch (err) {
      throw err instanceof RpcError ? err : new RpcError("invalid_argument", (err as Error).message);
    }
  }

  // ---- persistence ---------------------------------------------------------------------------

  private load(): void {
    if (!this.opts.persist || !existsSync(this.tablePath)) return;
    try {
      const parsed = JSON.parse(readFileSync(this.tablePath, "utf8")) as { sandboxes?: SandboxRecord[] };
      for (const record of parsed.sandboxes ?? []) {
        const sb = new Sandbox(record, this.opts.dataDir);
        if (!existsSync(sb.home)) continue;
        // Made by a server that ran commands as root: the sandbox user's now (no symlink followed).
        if (this.owner && lstatSync(sb.home).uid !== this.owner.uid) spawnSync("chown", ["-R", "-h", "-P", `${this.owner.uid}:${this.owner.gid}`, sb.home]);
        this.makeDirs(sb);
        this.restoredFilesOnly(sb);
        this.sandboxes.set(record.sandboxID, sb);
      }
      this.opts.stats.observeLive(this.liveCount());
      if (this.sandboxes.size > 0) this.opts.log(`restored ${this.sandboxes.size} sandbox(es) from ${this.tablePath}`);
    } catch (err) {
      this.opts.log(`could not read ${this.tablePath}: ${(err as Error).message}`);
    }
  }

  /** A sandbox paused with memory by a server that is gone: its processes went with it. */
  private restoredFilesOnly(sb: Sandbox): void {
    if (sb.running || !sb.record.pause?.memory) return;
    const note = "the server restarted while the sandbox was paused with memory: its processes are gone, it resumes files-only";
    sb.record.pause = { memory: false, note };
    this.opts.log(`sandbox ${sb.id}: ${note}`);
  }

  private serialize(): string {
    return JSON.stringify({ version: 1, sandboxes: this.all().map((sb) => sb.record) }, null, 1);
  }

  private schedulePersist(): void {
    if (!this.opts.persist || this.closed || this.persistTimer) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      const data = this.serialize();
      const tmp = `${this.tablePath}.${process.pid}.tmp`;
      this.persistChain = this.persistChain
        .then(() => writeFile(tmp, data))
        .then(() => rename(tmp, this.tablePath))
        .catch((err: unknown) => this.opts.log(`failed to persist sandbox table: ${(err as Error).message}`));
    }, 25);
  }

  /** Kills all processes and writes the table synchronously. Sandboxes stay on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    for (const sb of this.sandboxes.values()) sb.stopAll();
    await Promise.all([...this.sandboxes.values()].map((sb) => sb.processes.waitIdle(3000)));
    await this.opts.cgroups?.close();
    await this.persistChain;
    if (this.opts.persist) {
      try {
        writeFileSync(this.tablePath, this.serialize());
      } catch (err) {
        this.opts.log(`failed to persist sandbox table: ${(err as Error).message}`);
      }
    }
  }

  /** Deletes everything (used by tests that want a clean slate). */
  wipe(): void {
    for (const sb of this.all()) {
      sb.stopAll();
      this.sandboxes.delete(sb.id);
      rmSync(sb.dir, { recursive: true, force: true });
    }
    this.afterLiveChange();
  }
}
