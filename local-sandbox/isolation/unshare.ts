// The sandbox view (view.ts) built with util-linux alone (unshare, mount, pivot_root: present on
// every Debian/Ubuntu base image), for machines without bubblewrap. Needs root.
//
// The holder is `setpriv --pdeathsig KILL unshare --mount --pid --net --ipc --uts --fork
// --kill-child sh -c SCRIPT`: private mount, network (nothing but its own loopback, brought up by
// the script), IPC and hostname namespaces and a PID namespace whose init (PID 1) is the script. The script
// prints its host pid (read from the host's procfs before the sandbox's own is mounted), builds
// the view on a tmpfs, pivots into it (the host's mounts are detached, not just hidden), makes
// the root read-only, prints "ready" and becomes a reaping init. Killing the holder, or the
// server dying, ends the PID namespace and with it every process of the sandbox.
//
// Every command of the script is a process to start, and a sandbox's first command waits for
// them all, so the script batches: one `mkdir -p` for every directory that no mount hides, one
// `ln -s -t` for links named like their target, one `mount --bind -o ro,...` per read-only bind.
// Where python3 is installed, holder.py makes the same steps as system calls in one process (about
// 45 processes fewer per sandbox start); the script is the holder without it.
import { join, posix } from "node:path";
import type { MountOp } from "./view.ts";
import { DEVICES, isUnder } from "./view.ts";

/** Single-quotes a value for sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const q = shellQuote;
const at = (dst: string) => `"$R"${q(dst)}`;

/** Mounts of an op: the paths it puts a new filesystem on (nothing made before under them survives). */
function mountPoint(m: MountOp): string | null {
  return m.op === "dir" || m.op === "symlink" ? null : m.dst;
}

/** The directory an op needs before it runs (its mount point, or a link's parent). */
function neededDir(m: MountOp, isDir: (path: string) => boolean): string | null {
  if (m.op === "symlink") return posix.dirname(m.dst);
  if (m.op === "ro-bind" && !isDir(m.src)) return posix.dirname(m.dst);
  return m.dst;
}

function devLines(dst: string): string[] {
  const d = at(dst);
  return [
    `mount -t tmpfs -o mode=0755,nosuid dev ${d}`,
    `mkdir ${d}/shm ${d}/pts && touch ${DEVICES.map((n) => `${d}/${n}`).join(" ")}`,
    ...DEVICES.map((n) => `mount --bind /dev/${n} ${d}/${n}`),
    `ln -s /proc/self/fd/0 ${d}/stdin; ln -s /proc/self/fd/1 ${d}/stdout; ln -s /proc/self/fd/2 ${d}/stderr`,
    `mount -t tmpfs -o mode=1777,nosuid,nodev shm ${d}/shm`,
    `if mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts ${d}/pts 2>/dev/null; then ln -s -t ${d} /proc/self/fd pts/ptmx; else ln -s -t ${d} /proc/self/fd; fi`,
  ];
}

function opLines(m: MountOp, isDir: (path: string) => boolean): string[] {
  switch (m.op) {
    case "ro-bind": {
      // A file is bound on a file: made when missing (an existing one may lie in a read-only bind).
      const point = isDir(m.src) ? `mkdir -p ${at(m.dst)}` : `test -e ${at(m.dst)} || { mkdir -p ${at(posix.dirname(m.dst))}; touch ${at(m.dst)}; }`;
      const bind = `mount --bind -o ro,nosuid,nodev ${q(m.src)} ${at(m.dst)}`;
      // Optional (an exposed path): nothing at all when the host has no such path, as with bwrap.
      return m.optional ? [`if [ -e ${q(m.src)} ]; then ${point}; ${bind}; fi`] : [bind];
    }
    case "bind":
      return [`mount --bind ${q(m.src)} ${at(m.dst)}`];
    case "symlink":
      return [`ln -s ${q(m.target)} ${at(m.dst)}`];
    case "tmpfs":
      return [`mount -t tmpfs -o mode=0755,nosuid,nodev hidden ${at(m.dst)}`];
    case "dir":
      return [];
    case "proc":
      return [`mount -t proc -o nosuid,nodev,noexec proc ${at(m.dst)}`];
    case "dev":
      return devLines(m.dst);
  }
}

/** The holder's script: builds the view under `rootfs` (an empty host directory), then idles as init. */
export function unshareHolderScript(ops: MountOp[], rootfs: string, isDir: (path: string) => boolean): string {
  // Directories made up front are those no earlier mount covers; the rest are made in order.
  const early: string[] = [];
  const earlyLinks: string[] = [];
  const steps: string[] = [];
  const mounted: string[] = [];
  for (const m of ops) {
    const dir = m.op === "ro-bind" && m.optional ? null : neededDir(m, isDir);
    const covered = dir !== null && mounted.some((p) => isUnder(dir, p));
    if (m.op === "symlink" && !covered && posix.dirname(m.dst) === "/" && posix.basename(m.target) === posix.basename(m.dst)) {
      earlyLinks.push(m.target);
    } else {
      if (dir !== null && dir !== "/") {
        if (covered) steps.push(`mkdir -p ${at(dir)}`);
        else early.push(dir);
      }
      steps.push(...opLines(m, isDir));
    }
    const point = mountPoint(m);
    if (point) mounted.push(point);
  }
  return [
    "set -eu",
    `echo "pid $(cut -d' ' -f4 /proc/self/stat)"`,
    "ip link set lo up",
    `R=${q(rootfs)}`,
    `mount -t tmpfs -o mode=0755 sandbox-root "$R"`,
    ...(early.length > 0 ? [`mkdir -p ${[...new Set(early)].map(at).join(" ")}`] : []),
    ...(earlyLinks.length > 0 ? [`ln -s -t "$R" ${earlyLinks.map(q).join(" ")}`] : []),
    ...steps,
    `cd "$R"; mkdir .oldroot; pivot_root . .oldroot; cd /; umount -l /.oldroot; rmdir /.oldroot`,
    "mount -o remount,bind,ro /",
    "echo ready",
    // PID 1 of the namespace: reaps the orphans that `cmd &` jobs leave behind.
    `exec /bin/sh -c 'while :; do sleep 2147483647 & wait; done'`,
  ].join("\n");
}

const HOLDER_PY = join(import.meta.dirname, "holder.py");

/** The holder's command as holder.py (`python`: the interpreter's real path) builds the view under `rootfs`. */
export function pythonHolderCommand(python: string, ops: MountOp[], rootfs: string, isDir: (path: string) => boolean): string[] {
  const spec = { root: rootfs, ops: ops.map((m) => (m.op === "ro-bind" && !isDir(m.src) ? { ...m, file: true } : m)) };
  // -I -S: no user site, no environment, no site module (faster, and nothing of the host's configuration).
  return [python, "-I", "-S", HOLDER_PY, JSON.stringify(spec)];
}

/** The holder's command as the shell script (unshareHolderScript). */
export function shellHolderCommand(ops: MountOp[], rootfs: string, isDir: (path: string) => boolean): string[] {
  return ["/bin/sh", "-c", unshareHolderScript(ops, rootfs, isDir)];
}

/** Arguments (after `setpriv`) of an unshare holder running `command` as the namespaces' init. */
export function unshareHolderArgs(unsharePath: string, command: string[]): string[] {
  return [
    "--pdeathsig", "KILL", "--",
    unsharePath, "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child=SIGKILL", "--propagation", "private",
    "--", ...command,
  ];
}
