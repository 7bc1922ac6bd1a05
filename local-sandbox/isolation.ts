// How sandbox processes are confined. Every isolated sandbox sees the same view (isolation/view.ts:
// system directories read-only, its own /home/user and /tmp, exposed paths, nothing else of the
// host) in its own mount, PID, network (own loopback only; isolation/forward.ts), IPC and UTS
// namespaces, built by one of two backends:
//   bwrap    bubblewrap, when installed and working (isolation/bwrap.ts)
//   unshare  util-linux's unshare + mount + pivot_root, as root (isolation/unshare.ts)
//   none     plain child processes in the host directories: only when asked for
//            (SANDBOX_ISOLATION=none), never as a fallback.
// `auto` picks bwrap, else unshare, else refuses to start, saying what to install.
//
// Two ways of running commands:
//  - shared namespace (root with nsenter + setpriv; always for unshare): one long-lived "holder"
//    per running sandbox owns its namespaces; every command is `nsenter -t <init> -m -p -n -i -u -r -w --
//    setpriv <drop all caps, no_new_privs> -- sh -c 'cd "$0" && exec "$@"' <cwd> cmd args` (the
//    loader's variables are set by that last `sh` only: isolation/loader-env.ts). Like a
//    VM: processes of different commands see each other, and `cmd &` jobs outlive the command that
//    started them. Killing the holder tears everything down; so does the server dying.
//  - per process (bwrap without root): each command is its own `bwrap ... -- cmd args` with its
//    own PID namespace, which dies with the command (background jobs do not survive it).
// The server spawns commands `detached` (own process group, no controlling terminal) and signals
// the whole group (kill(-pid)), so SendSignal/deadlines reach the command's tree.
import { accessSync, chmodSync, chownSync, constants, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";
import { BWRAP_NAMESPACE_ARGS, bwrapViewArgs } from "./isolation/bwrap.ts";
import { pythonHolderCommand, shellHolderCommand, unshareHolderArgs } from "./isolation/unshare.ts";
import { sandboxView, type MountInput } from "./isolation/view.ts";
import { inCgroup } from "./isolation/cgroups.ts";
import { lastStageScript } from "./isolation/loader-env.ts";
import { NodeSpawner, type Spawned, type Spawner } from "./spawner.ts";
import { SANDBOX_GID, SANDBOX_UID, SETPRIV_USER_ARGS, writeUserFiles } from "./isolation/user.ts";

export type { MountInput } from "./isolation/view.ts";

export type IsolationMode = "auto" | "bwrap" | "unshare" | "none";
export type IsolationKind = "bwrap" | "unshare" | "none";
export const ISOLATION_MODES: IsolationMode[] = ["auto", "bwrap", "unshare", "none"];

export interface Isolation {
  kind: IsolationKind;
  /** bwrap binary (kind bwrap). */
  bwrapPath?: string;
  /**
   * unshare binary and the empty host directory each holder mounts its root on (kind unshare);
   * `python`: the interpreter running holder.py, else the holder is the shell script.
   */
  unshare?: { unsharePath: string; rootfs: string; python?: string };
  /** Extra bwrap flags the probe found necessary (--unshare-user when not root). */
  extraFlags: string[];
  /** Set when commands run inside one shared namespace per sandbox (see above). */
  shared?: { nsenterPath: string; setprivPath: string };
  /** setpriv, to tie unconfined processes to the server's life (kind none). */
  setprivPath?: string;
  /** Why this kind (e.g. why bwrap is not used). */
  reason?: string;
}

export function findOnPath(binary: string, pathEnv = process.env.PATH ?? ""): string | undefined {
  for (const dir of [...pathEnv.split(delimiter), "/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const isRoot = () => process.getuid?.() === 0;

/** bwrap arguments building the sandbox's filesystem view and namespaces (no command). */
export function bwrapSandboxArgs(iso: Isolation, m: MountInput): string[] {
  return [...bwrapViewArgs(sandboxView(m)), ...BWRAP_NAMESPACE_ARGS, ...iso.extraFlags];
}

/** How a holder is started and how it reports its namespace's init pid. */
interface HolderSpec {
  file: string;
  args: string[];
  /** "fd3": bwrap's --json-status-fd; "stdout": a "pid N" line (unshare). */
  pidFrom: "fd3" | "stdout";
}

function holderSpec(iso: Isolation, m: MountInput): HolderSpec {
  if (iso.kind === "unshare" && iso.unshare && iso.shared) {
    const { python, rootfs, unsharePath } = iso.unshare;
    const isDir = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? true;
    const command = python ? pythonHolderCommand(python, sandboxView(m), rootfs, isDir) : shellHolderCommand(sandboxView(m), rootfs, isDir);
    return { file: iso.shared.setprivPath, args: unshareHolderArgs(unsharePath, command), pidFrom: "stdout" };
  }
  if (iso.kind === "bwrap" && iso.bwrapPath) {
    // "--json-status-fd" reports the init's pid as soon as it is cloned, before the namespace is
    // set up; the "ready" line on stdout proves setup finished.
    return {
      file: iso.bwrapPath,
      args: [...bwrapSandboxArgs(iso, m), "--json-status-fd", "3", "--chdir", "/home/user", "--", "/bin/sh", "-c", "echo ready; exec sleep infinity"],
      pidFrom: "fd3",
    };
  }
  throw new Error(`isolation ${iso.kind} has no namespace holder`);
}

export interface LaunchSpec {
  file: string;
  args: string[];
  /** Host cwd for the spawned process itself. */
  cwd: string;
}

export interface LaunchInput extends MountInput {
  cmd: string;
  args: string[];
  /** Sandbox-visible cwd ... */
  virtualCwd: string;
  /** ... and its host equivalent, when it lies in /home/user or /tmp. */
  hostCwd?: string;
  /** Host pid of the sandbox namespace's init (shared-namespace mode). */
  initPid?: number;
  /** The loader's variables, set inside the sandbox only (isolation/loader-env.ts). */
  loaderEnv?: [string, string][];
}

export function buildLaunch(iso: Isolation, input: LaunchInput): LaunchSpec {
  if (iso.kind === "none") {
    if (!input.hostCwd) throw new Error(`cwd ${input.virtualCwd} is not inside /home/user or /tmp`);
    // Unconfined, but still gone when the server goes.
    if (iso.setprivPath) return { file: iso.setprivPath, args: ["--pdeathsig", "KILL", "--", input.cmd, ...input.args], cwd: input.hostCwd };
    return { file: input.cmd, args: input.args, cwd: input.hostCwd };
  }
  const loader = input.loaderEnv ?? [];
  if (iso.shared && input.initPid !== undefined) {
    return {
      file: iso.shared.nsenterPath,
      args: [
        "-t", String(input.initPid), "-m", "-p", "-n", "-i", "-u", "-r", "-w", "--",
        iso.shared.setprivPath, ...SETPRIV_USER_ARGS, "--bounding-set", "-all", "--inh-caps", "-all", "--no-new-privs", "--",
        "/bin/sh", "-c", lastStageScript(loader), input.virtualCwd, ...loader.map(([, value]) => value), input.cmd, ...input.args,
      ],
      cwd: "/",
    };
  }
  if (iso.kind === "bwrap" && iso.bwrapPath) {
    return {
      file: iso.bwrapPath,
      args: [...bwrapSandboxArgs(iso, input), ...loader.flatMap(([name, value]) => ["--setenv", name, value]), "--chdir", input.virtualCwd, "--", input.cmd, ...input.args],
      cwd: "/",
    };
  }
  throw new Error("the sandbox's namespace is not running");
}

/**
 * A sandbox's namespace holder. Resolves `ready` with the host pid of the namespace's init once
 * the view is built; `stop()` kills the holder (and so everything in the namespace).
 */
export class NamespaceHolder {
  readonly ready: Promise<number>;
  private pid: number | undefined;
  private exited = false;

  /** `procs`: the `cgroup.procs` files of the sandbox's groups (isolation/cgroups.ts), if any. */
  constructor(spawner: Spawner, iso: Isolation, m: MountInput, onExit: () => void, procs: string[] = []) {
    const spec = holderSpec(iso, m);
    const start = inCgroup(procs, spec.file, spec.args);
    this.ready = spawner
      .spawn(start.file, start.args, { cwd: "/", detached: true, stdio: ["ignore", "pipe", "pipe", "pipe"], env: { PATH: SYSTEM_PATH } })
      .then((child) => this.watch(child, spec.pidFrom, onExit));
    this.ready.catch(() => {});
  }

  private watch(child: Spawned, pidFrom: HolderSpec["pidFrom"], onExit: () => void): Promise<number> {
    this.pid = child.pid;
    // Stopped while it was being started.
    if (this.exited) this.kill();
    let stderr = "";
    child.stdio[2]?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    return new Promise<number>((resolve, reject) => {
      let status = "";
      let out = "";
      let initPid: number | undefined;
      let setUp = false;
      const check = () => {
        if (initPid !== undefined && setUp) resolve(initPid);
      };
      child.stdio[3]?.on("data", (d: Buffer) => {
        status += d.toString();
        const m = /"child-pid":\s*(\d+)/.exec(status);
        if (m && pidFrom === "fd3") initPid = Number(m[1]);
        check();
      });
      child.stdio[1]?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^pid (\d+)$/m.exec(out);
        if (m && pidFrom === "stdout") initPid = Number(m[1]);
        if (/^ready$/m.test(out)) setUp = true;
        check();
      });
      child.stdio[3]?.on("error", () => {});
      child.on("error", (err) => reject(err));
      child.on("exit", (code, signal) => {
        this.exited = true;
        reject(new Error(`namespace holder exited (${signal ?? code}): ${stderr.trim().slice(-500)}`));
        onExit();
      });
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Host pid of the holder (every process of its namespace descends from it), while alive. */
  get hostPid(): number | undefined {
    return this.exited ? undefined : this.pid;
  }

  stop(): void {
    if (this.exited) return;
    // Not started yet: killed as soon as it is (watch).
    if (this.pid === undefined) this.exited = true;
    else this.kill();
  }

  private kill(): void {
    try {
      process.kill(-this.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

// ---- detection ----------------------------------------------------------------------------------

/**
 * What a probe sandbox must show: home writable; root, /etc read-only; no capabilities; own PIDs;
 * its own network namespace (no interface but lo); in a shared namespace, the sandbox user.
 */
const PROBE_SCRIPT =
  "touch /home/user/.probe && ! touch /.probe 2>/dev/null && ! touch /etc/.probe 2>/dev/null && " +
  "grep -q '^CapEff:[[:space:]]*0*$' /proc/self/status && test \"$(ls /proc | grep -c '^[0-9]')\" -lt 20 && " +
  "test \"$(grep -c ':' /proc/net/dev)\" -eq 1 && grep -q '^ *lo:' /proc/net/dev";

function probeDirs(): { base: string; m: MountInput } {
  const base = mkdtempSync(join(tmpdir(), "local-sandbox-probe-"));
  const m: MountInput = { home: join(base, "home"), tmp: join(base, "tmp"), dataDir: join(base, "data"), exposePaths: [] };
  for (const dir of [m.home, m.tmp, m.dataDir]) mkdirSync(dir, { recursive: true });
  chmodSync(m.tmp, 0o1777);
  if (isRoot()) {
    chownSync(m.home, SANDBOX_UID, SANDBOX_GID);
    m.userFiles = writeUserFiles(join(m.dataDir, "etc"));
  }
  return { base, m };
}

/** Starts a holder with a probe view, runs the probe inside; returns an error message or undefined. */
async function probeHolder(iso: Isolation, m: MountInput): Promise<string | undefined> {
  let holder: NamespaceHolder | undefined;
  try {
    holder = new NamespaceHolder(new NodeSpawner(), iso, m, () => {});
    const initPid = await Promise.race([
      holder.ready,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("holder did not start within 10 s")), 10_000).unref()),
    ]);
    const script = `${PROBE_SCRIPT} && test "$(id -u):$(id -un)" = "${SANDBOX_UID}:user"`;
    const launch = buildLaunch(iso, { ...m, cmd: "/bin/sh", args: ["-c", script], virtualCwd: "/home/user", initPid });
    const r = spawnSync(launch.file, launch.args, { cwd: launch.cwd, timeout: 10_000, encoding: "utf8", env: { PATH: SYSTEM_PATH } });
    return r.status === 0 ? undefined : `probe command failed (${r.status ?? r.signal}): ${(r.stderr ?? "").trim().slice(-300)}`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    holder?.stop();
  }
}

function sharedTools(): Isolation["shared"] {
  const nsenterPath = findOnPath("nsenter");
  const setprivPath = findOnPath("setpriv");
  return nsenterPath && setprivPath ? { nsenterPath, setprivPath } : undefined;
}

/** bwrap: a working per-process sandbox, upgraded to a shared namespace when root allows it. */
async function tryBwrap(sharedNamespace: boolean): Promise<Isolation | string> {
  const bwrapPath = findOnPath("bwrap");
  if (!bwrapPath) return "bwrap is not installed";
  const { base, m } = probeDirs();
  try {
    let lastError = "";
    for (const extraFlags of [[], ["--unshare-user"]]) {
      const iso: Isolation = { kind: "bwrap", bwrapPath, extraFlags };
      // A per-process bwrap runs its command as the server's own user (without capabilities): the
      // probe's home is that user's; the shared namespace below drops to the sandbox user.
      if (isRoot()) chownSync(m.home, 0, 0);
      const launch = buildLaunch(iso, { ...m, cmd: "/bin/sh", args: ["-c", PROBE_SCRIPT], virtualCwd: "/home/user" });
      const r = spawnSync(launch.file, launch.args, { encoding: "utf8", timeout: 10_000, env: { PATH: SYSTEM_PATH } });
      if (r.status !== 0) {
        lastError = (r.stderr || r.error?.message || `exit ${r.status}`).trim();
        continue;
      }
      const shared = sharedTools();
      if (!sharedNamespace || extraFlags.length > 0 || !isRoot() || !shared) return iso;
      // The shared namespace's probe, as the sandbox user, in a home without the root-owned probe file.
      rmSync(join(m.home, ".probe"), { force: true });
      chownSync(m.home, SANDBOX_UID, SANDBOX_GID);
      const candidate = { ...iso, shared };
      return (await probeHolder(candidate, m)) === undefined ? candidate : iso;
    }
    return `bwrap does not work here: ${lastError}`;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/**
 * The real path of python3 (a version manager's shim on PATH is a script: run once here, not per
 * sandbox), or undefined without one.
 */
export function realPython(): string | undefined {
  const shim = findOnPath("python3");
  if (!shim) return undefined;
  const r = spawnSync(shim, ["-I", "-S", "-c", "import sys; print(sys.executable)"], { encoding: "utf8", timeout: 10_000 });
  const path = r.status === 0 ? r.stdout.trim() : "";
  return path.startsWith("/") ? path : undefined;
}

/** unshare: root with util-linux (unshare, nsenter, setpriv, mount, pivot_root); python3 when there is one (holder.py). */
async function tryUnshare(rootfs: string, holder: UnshareHolder): Promise<Isolation | string> {
  if (!isRoot()) return "unshare isolation needs root";
  const unsharePath = findOnPath("unshare");
  const shared = sharedTools();
  const missing = [["unshare", unsharePath], ["nsenter", shared], ["setpriv", shared], ["mount", findOnPath("mount")], ["pivot_root", findOnPath("pivot_root")], ["ip (iproute2)", findOnPath("ip")]]
    .filter(([, found]) => !found)
    .map(([name]) => name);
  if (missing.length > 0 || !unsharePath || !shared) return `util-linux tools missing: ${missing.join(", ")}`;
  mkdirSync(rootfs, { recursive: true });
  const python = holder === "auto" ? realPython() : undefined;
  const { base, m } = probeDirs();
  try {
    let error: string | undefined;
    // holder.py first when python3 is there; the shell script when it is not, or fails here.
    for (const candidate of python ? [python, undefined] : [undefined]) {
      const iso: Isolation = { kind: "unshare", unshare: { unsharePath, rootfs, ...(candidate ? { python: candidate } : {}) }, shared, extraFlags: [] };
      error = await probeHolder(iso, m);
      if (error === undefined) return candidate ? iso : { ...iso, ...(python ? { reason: `holder.py failed its probe: ${error}` } : {}) };
      rmSync(join(m.home, ".probe"), { force: true });
    }
    return `unshare does not work here: ${error}`;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

export interface IsolationOptions {
  /** bwrap: one namespace per sandbox when root allows (default true). */
  sharedNamespace?: boolean;
  /** An empty directory the unshare backend mounts each sandbox's root on. */
  rootfs: string;
  /** The unshare holder: holder.py when python3 is there (`auto`, default), or always the shell script. */
  unshareHolder?: UnshareHolder;
}

export type UnshareHolder = "auto" | "sh";

/**
 * Picks and checks the isolation backend. `auto`: as root unshare, else bwrap (then the other); with neither working it
 * throws (unconfined sandboxes only with mode `none`).
 */
export async function resolveIsolation(mode: IsolationMode, opts: IsolationOptions): Promise<Isolation> {
  if (mode === "none") {
    const setprivPath = findOnPath("setpriv");
    return { kind: "none", extraFlags: [], reason: "SANDBOX_ISOLATION=none", ...(setprivPath ? { setprivPath } : {}) };
  }
  const failures: string[] = [];
  // As root, util-linux unshare gives the whole view (network namespace, forwarding, the sandbox
  // user, cgroup limits) and is what every test runs: auto tries it first. bwrap is the backend
  // without root (and can be chosen explicitly).
  const order: ("bwrap" | "unshare")[] = mode === "auto" ? (isRoot() ? ["unshare", "bwrap"] : ["bwrap", "unshare"]) : mode === "bwrap" ? ["bwrap"] : ["unshare"];
  for (const kind of order) {
    const found = kind === "bwrap" ? await tryBwrap(opts.sharedNamespace ?? true) : await tryUnshare(opts.rootfs, opts.unshareHolder ?? "auto");
    if (typeof found !== "string") return found;
    failures.push(found);
  }
  throw new Error(
    `SANDBOX_ISOLATION=${mode}: no way to isolate sandboxes here (${failures.join("; ")}). ` +
      "Install bubblewrap (apt-get install bubblewrap), or run as root with util-linux (unshare, nsenter, setpriv), " +
      "or set SANDBOX_ISOLATION=none to run sandbox commands unconfined on this host.",
  );
}

export const NOT_ISOLATED_WARNING =
  "\n" +
  "############################################################################\n" +
  "#  WARNING: SANDBOX_ISOLATION=none: sandboxes are NOT isolated.             #\n" +
  "#  Sandbox commands run as plain child processes of this server and can    #\n" +
  "#  read and write anything this user can.                                  #\n" +
  "############################################################################\n";
