// How sandbox processes are launched.
//
// bwrap (bubblewrap), when available and working. The sandbox's view of the filesystem:
//   --ro-bind / /              whole host read-only
//   --dev /dev --proc /proc    minimal /dev; a procfs for the sandbox's PID namespace
//   --tmpfs /home --tmpfs /root [--tmpfs <dataDir>]   hide users' homes and the other sandboxes
//   --bind <home> /home/user --bind <tmp> /tmp        the sandbox's own writable areas
//   [--ro-bind-try P P ...]    extra host paths exposed read-only (e.g. test repos under /tmp);
//                              also the data dir's parent when that is a directory under /tmp
//   --unshare-pid --die-with-parent --cap-drop ALL
//
// Two ways of running commands in it:
//  - shared namespace (root with nsenter + setpriv; preferred): one long-lived bwrap "holder"
//    per running sandbox (`sleep infinity` under bwrap's PID-1 init) owns the sandbox's mount and
//    PID namespaces; every command is `nsenter -t <init> -m -p -r -w -- setpriv <drop all caps,
//    no_new_privs> -- sh -c 'cd "$0" && exec "$@"' <cwd> cmd args`. Like a real VM: processes of
//    different commands see each other, and `cmd &` jobs outlive the command that started them
//    (they are reparented to the namespace's init). Killing the holder tears everything down.
//  - per process (fallback): each command is its own `bwrap ... -- cmd args` with its own PID
//    namespace, which dies with the command (background jobs do not survive it).
// In both, the server spawns commands `detached` (own process group, no controlling terminal)
// and signals the whole group (kill(-pid)), so SendSignal/deadlines reach the command's tree.
//
// none: plain child process with cwd mapped to the host directory. NOT isolated: commands can
// write anywhere the server can. A loud warning is logged once.
import { accessSync, constants, mkdirSync, rmSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { delimiter, dirname, join } from "node:path";
import { tmpdir } from "node:os";

export type IsolationMode = "auto" | "bwrap" | "none";
export type IsolationKind = "bwrap" | "none";

export interface Isolation {
  kind: IsolationKind;
  /** bwrap binary path when kind === "bwrap". */
  bwrapPath?: string;
  /** Extra flags the smoke test found necessary (e.g. --unshare-user when not root). */
  extraFlags: string[];
  /** Set when commands run inside one shared namespace per sandbox (see above). */
  shared?: { nsenterPath: string; setprivPath: string };
  /** Why bwrap is not used (kind === "none"). */
  reason?: string;
}

export function findOnPath(binary: string, pathEnv = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
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

const CACHE = new Map<string, Isolation>();

/** Detects (once per mode) whether bwrap works here, by running a tiny sandboxed shell. */
export function detectIsolation(mode: IsolationMode = "auto"): Isolation {
  const cached = CACHE.get(mode);
  if (cached) return cached;
  const result = detect(mode);
  CACHE.set(mode, result);
  return result;
}

function detect(mode: IsolationMode): Isolation {
  if (mode === "none") return { kind: "none", extraFlags: [], reason: "SANDBOX_ISOLATION=none" };
  const bwrapPath = findOnPath("bwrap");
  if (!bwrapPath) {
    if (mode === "bwrap") throw new Error("SANDBOX_ISOLATION=bwrap but `bwrap` is not on PATH (apt-get install bubblewrap)");
    return { kind: "none", extraFlags: [], reason: "bwrap not found on PATH" };
  }
  const probeHome = join(tmpdir(), `local-sandbox-probe-${process.pid}`);
  mkdirSync(probeHome, { recursive: true });
  const attempts: string[][] = [[], ["--unshare-user"]];
  let lastError = "";
  try {
    for (const extra of attempts) {
      const r = spawnSync(
        bwrapPath,
        [
          "--ro-bind", "/", "/",
          "--dev", "/dev",
          "--proc", "/proc",
          "--tmpfs", "/home",
          "--bind", probeHome, "/home/user",
          "--unshare-pid", "--die-with-parent", "--cap-drop", "ALL",
          ...extra,
          "--chdir", "/home/user",
          "--", "/bin/sh", "-c", "touch /home/user/.probe && ! touch /.local-sandbox-probe 2>/dev/null",
        ],
        { encoding: "utf8", timeout: 10_000 },
      );
      if (r.status === 0) return { kind: "bwrap", bwrapPath, extraFlags: extra };
      lastError = (r.stderr || r.error?.message || `exit ${r.status}`).trim();
    }
  } finally {
    rmSync(probeHome, { recursive: true, force: true });
  }
  if (mode === "bwrap") throw new Error(`SANDBOX_ISOLATION=bwrap but bwrap does not work here: ${lastError}`);
  return { kind: "none", extraFlags: [], reason: `bwrap does not work here: ${lastError}` };
}

export interface MountInput {
  home: string;
  tmp: string;
  dataDir: string;
  exposePaths: string[];
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

/** bwrap arguments building the sandbox's filesystem view and namespaces (no command). */
export function bwrapSandboxArgs(iso: Isolation, m: MountInput): string[] {
  const args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/home", "--tmpfs", "/root"];
  // Hide the other sandboxes (unless the data dir is already hidden by /home, /root or /tmp).
  if (!["/home", "/root", "/tmp"].some((p) => isUnder(m.dataDir, p))) args.push("--tmpfs", m.dataDir);
  args.push("--bind", m.home, "/home/user", "--bind", m.tmp, "/tmp");
  // A data dir inside a throw-away directory under /tmp (tests: /tmp/x/sandboxes next to /tmp/x/repo)
  // gets that directory exposed read-only, so its siblings can be cloned; the data dir stays hidden.
  const parent = dirname(m.dataDir);
  if (parent !== "/tmp" && isUnder(parent, "/tmp")) args.push("--ro-bind-try", parent, parent, "--tmpfs", m.dataDir);
  for (const p of m.exposePaths) args.push("--ro-bind-try", p, p);
  // An exposed folder holding the data dir must not expose the other sandboxes.
  if (m.exposePaths.some((p) => isUnder(m.dataDir, p))) args.push("--tmpfs", m.dataDir);
  args.push("--unshare-pid", "--die-with-parent", "--cap-drop", "ALL", ...iso.extraFlags);
  return args;
}

/** Arguments of a namespace holder: bwrap keeping the namespaces alive, reporting its init pid on fd 3. */
export function holderArgs(iso: Isolation, m: MountInput): string[] {
  // "--json-status-fd" reports the init's pid as soon as it is cloned, before the namespace is set
  // up; the "ready" line on stdout proves setup finished (the command only runs afterwards).
  return [
    ...bwrapSandboxArgs(iso, m), "--json-status-fd", "3", "--chdir", "/home/user",
    "--", "/bin/sh", "-c", "echo ready; exec sleep infinity",
  ];
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
  /** Sandbox-visible cwd (bwrap) ... */
  virtualCwd: string;
  /** ... and its host equivalent, when it lies in /home/user or /tmp. */
  hostCwd?: string;
  /** Host pid of the sandbox namespace's init (shared-namespace mode). */
  initPid?: number;
}

export function buildLaunch(iso: Isolation, input: LaunchInput): LaunchSpec {
  if (iso.kind === "none" || !iso.bwrapPath) {
    if (!input.hostCwd) throw new Error(`cwd ${input.virtualCwd} is not inside /home/user or /tmp`);
    return { file: input.cmd, args: input.args, cwd: input.hostCwd };
  }
  if (iso.shared && input.initPid !== undefined) {
    return {
      file: iso.shared.nsenterPath,
      args: [
        "-t", String(input.initPid), "-m", "-p", "-r", "-w", "--",
        iso.shared.setprivPath, "--bounding-set", "-all", "--inh-caps", "-all", "--no-new-privs", "--",
        "/bin/sh", "-c", 'cd -- "$0" && exec "$@"', input.virtualCwd, input.cmd, ...input.args,
      ],
      cwd: "/",
    };
  }
  return {
    file: iso.bwrapPath,
    args: [...bwrapSandboxArgs(iso, input), "--chdir", input.virtualCwd, "--", input.cmd, ...input.args],
    cwd: "/",
  };
}

/**
 * Starts a namespace holder for a sandbox. Resolves with the host pid of the namespace's init
 * once bwrap reports it; `stop()` kills the holder (and so everything in the namespace).
 */
export class NamespaceHolder {
  readonly ready: Promise<number>;
  private pid: number | undefined;
  private exited = false;

  constructor(iso: Isolation, m: MountInput, onExit: () => void) {
    const child = spawn(iso.bwrapPath as string, holderArgs(iso, m), {
      cwd: "/",
      detached: true,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    this.pid = child.pid;
    let stderr = "";
    child.stdio[2]?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    this.ready = new Promise<number>((resolve, reject) => {
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
        if (m) initPid = Number(m[1]);
        check();
      });
      child.stdio[1]?.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("ready")) setUp = true;
        check();
      });
      child.stdio[3]?.on("error", () => {});
      child.on("error", (err) => reject(err));
      child.on("exit", (code, signal) => {
        this.exited = true;
        reject(new Error(`namespace holder exited (${signal ?? code}): ${stderr.trim()}`));
        onExit();
      });
    });
    this.ready.catch(() => {});
  }

  get alive(): boolean {
    return !this.exited;
  }

  stop(): void {
    if (this.exited || this.pid === undefined) return;
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * Checks that shared-namespace mode works here (root, nsenter and setpriv present, entering a
 * holder's namespaces succeeds). Returns the isolation with `shared` set, or unchanged.
 */
export async function probeSharedNamespace(iso: Isolation): Promise<Isolation> {
  if (iso.kind !== "bwrap" || iso.extraFlags.length > 0 || process.getuid?.() !== 0) return iso;
  const nsenterPath = findOnPath("nsenter");
  const setprivPath = findOnPath("setpriv");
  if (!nsenterPath || !setprivPath) return iso;
  const cached = CACHE.get("shared-probe");
  if (cached) return cached;
  const base = join(tmpdir(), `local-sandbox-nsprobe-${process.pid}`);
  const home = join(base, "home");
  const tmp = join(base, "tmp");
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const candidate: Isolation = { ...iso, shared: { nsenterPath, setprivPath } };
  const holder = new NamespaceHolder(iso, { home, tmp, dataDir: base, exposePaths: [] }, () => {});
  let result = iso;
  try {
    const initPid = await Promise.race([
      holder.ready,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("holder timeout")), 5000).unref()),
    ]);
    const launch = buildLaunch(candidate, {
      cmd: "/bin/sh",
      args: ["-c", "touch /home/user/.probe && ! touch /.local-sandbox-probe 2>/dev/null && test \"$(cat /proc/self/status | grep CapEff)\" = \"$(printf 'CapEff:\\t0000000000000000')\""],
      virtualCwd: "/home/user",
      home,
      tmp,
      dataDir: base,
      exposePaths: [],
      initPid,
    });
    const r = spawnSync(launch.file, launch.args, { cwd: launch.cwd, timeout: 10_000 });
    if (r.status === 0) result = candidate;
  } catch {
    result = iso;
  } finally {
    holder.stop();
    rmSync(base, { recursive: true, force: true });
  }
  CACHE.set("shared-probe", result);
  return result;
}

export const NOT_ISOLATED_WARNING =
  "\n" +
  "############################################################################\n" +
  "#  WARNING: local-sandbox is running WITHOUT isolation (no working bwrap).  #\n" +
  "#  Sandbox commands run as plain child processes of this server and can    #\n" +
  "#  read and write anything this user can. Install bubblewrap              #\n" +
  "#  (apt-get install bubblewrap) to confine them.                           #\n" +
  "############################################################################\n";
