// How sandbox processes are launched.
//
// bwrap (bubblewrap), when available and working:
//   bwrap --ro-bind / /            whole host read-only
//         --dev /dev --proc /proc  fresh devtmpfs-like /dev and a procfs for the new PID namespace
//         --tmpfs /home --tmpfs /root [--tmpfs <dataDir>]   hide other users' homes and other sandboxes
//         --bind <home> /home/user --bind <tmp> /tmp        the sandbox's own writable areas
//         [--ro-bind P P ...]      extra host paths exposed read-only (e.g. test repos under /tmp)
//         --unshare-pid --die-with-parent --cap-drop ALL --chdir <cwd> -- cmd args...
// The process tree is killed reliably: the server spawns bwrap `detached` (its own process group,
// no controlling terminal) and signals the whole group (kill(-pid)). bwrap's PID-namespace init
// dies with it (--die-with-parent), which tears down every process in the namespace, including
// ones that called setsid(). No --new-session: detached spawn already gives a fresh session.
//
// none: plain child process with cwd mapped to the host directory. NOT isolated: commands can
// write anywhere the server can. A loud warning is logged once.
import { accessSync, constants, mkdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";

export type IsolationMode = "auto" | "bwrap" | "none";
export type IsolationKind = "bwrap" | "none";

export interface Isolation {
  kind: IsolationKind;
  /** bwrap binary path when kind === "bwrap". */
  bwrapPath?: string;
  /** Extra flags the smoke test found necessary (e.g. --unshare-user when not root). */
  extraFlags: string[];
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

/** Detects (once per mode) whether bwrap works here, by running a tiny sandboxed /bin/true. */
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
  if (mode === "bwrap") throw new Error(`SANDBOX_ISOLATION=bwrap but bwrap does not work here: ${lastError}`);
  return { kind: "none", extraFlags: [], reason: `bwrap does not work here: ${lastError}` };
}

export interface LaunchSpec {
  file: string;
  args: string[];
  /** Host cwd for the spawned process itself (bwrap: irrelevant, use "/"). */
  cwd: string;
}

export interface LaunchInput {
  cmd: string;
  args: string[];
  /** Sandbox-visible cwd (bwrap) ... */
  virtualCwd: string;
  /** ... and its host equivalent, when it lies in /home/user or /tmp. */
  hostCwd?: string;
  home: string;
  tmp: string;
  dataDir: string;
  exposePaths: string[];
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

export function buildLaunch(iso: Isolation, input: LaunchInput): LaunchSpec {
  if (iso.kind === "none" || !iso.bwrapPath) {
    if (!input.hostCwd) throw new Error(`cwd ${input.virtualCwd} is not inside /home/user or /tmp`);
    return { file: input.cmd, args: input.args, cwd: input.hostCwd };
  }
  const args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/home", "--tmpfs", "/root"];
  // Hide the other sandboxes (unless the data dir is already hidden by /home, /root or /tmp).
  if (!["/home", "/root", "/tmp"].some((p) => isUnder(input.dataDir, p))) {
    args.push("--tmpfs", input.dataDir);
  }
  args.push("--bind", input.home, "/home/user", "--bind", input.tmp, "/tmp");
  for (const p of input.exposePaths) args.push("--ro-bind-try", p, p);
  args.push("--unshare-pid", "--die-with-parent", "--cap-drop", "ALL", ...iso.extraFlags);
  args.push("--chdir", input.virtualCwd, "--", input.cmd, ...input.args);
  return { file: iso.bwrapPath, args, cwd: "/" };
}

export const NOT_ISOLATED_WARNING =
  "\n" +
  "############################################################################\n" +
  "#  WARNING: local-sandbox is running WITHOUT isolation (no working bwrap).  #\n" +
  "#  Sandbox commands run as plain child processes of this server and can    #\n" +
  "#  read and write anything this user can. Install bubblewrap              #\n" +
  "#  (apt-get install bubblewrap) to confine them.                           #\n" +
  "############################################################################\n";
