// The sandbox view (view.ts) built with util-linux alone (unshare, mount, pivot_root: present on
// every Debian/Ubuntu base image), for machines without bubblewrap. Needs root.
//
// The holder is `setpriv --pdeathsig KILL unshare --mount --pid --fork --kill-child sh -c SCRIPT`:
// a private mount namespace and a PID namespace whose init (PID 1) is the script. The script
// prints its host pid (read from the host's procfs before the sandbox's own is mounted), builds
// the view on a tmpfs, pivots into it (the host's mounts are detached, not just hidden), makes
// the root read-only, prints "ready" and becomes a reaping init. Killing the holder, or the
// server dying, ends the PID namespace and with it every process of the sandbox.
import type { MountOp } from "./view.ts";
import { DEVICES } from "./view.ts";

/** Single-quotes a value for sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const HELPERS = [
  // ro SRC DST: a read-only bind of a directory or a file.
  `ro() { if [ -d "$1" ]; then mkdir -p "$R$2"; else mkdir -p "$(dirname "$R$2")"; touch "$R$2"; fi; mount --bind "$1" "$R$2"; mount -o remount,bind,ro,nosuid,nodev "$R$2"; }`,
  `link() { mkdir -p "$(dirname "$R$2")"; ln -s "$1" "$R$2"; }`,
  `hide() { mkdir -p "$R$1"; mount -t tmpfs -o mode=0755,nosuid,nodev hidden "$R$1"; }`,
];

function opLines(m: MountOp): string[] {
  const q = shellQuote;
  switch (m.op) {
    case "ro-bind":
      return [m.optional ? `if [ -e ${q(m.src)} ]; then ro ${q(m.src)} ${q(m.dst)}; fi` : `ro ${q(m.src)} ${q(m.dst)}`];
    case "bind":
      return [`mkdir -p "$R"${q(m.dst)}`, `mount --bind ${q(m.src)} "$R"${q(m.dst)}`];
    case "symlink":
      return [`link ${q(m.target)} ${q(m.dst)}`];
    case "tmpfs":
      return [`hide ${q(m.dst)}`];
    case "dir":
      return [`mkdir -p "$R"${q(m.dst)}`];
    case "proc":
      return [`mkdir -p "$R"${q(m.dst)}`, `mount -t proc -o nosuid,nodev,noexec proc "$R"${q(m.dst)}`];
    case "dev": {
      const d = `"$R"${q(m.dst)}`;
      return [
        `mkdir -p ${d}`,
        `mount -t tmpfs -o mode=0755,nosuid dev ${d}`,
        `for n in ${DEVICES.join(" ")}; do touch ${d}/$n; mount --bind /dev/$n ${d}/$n; done`,
        `ln -s /proc/self/fd ${d}/fd; ln -s /proc/self/fd/0 ${d}/stdin; ln -s /proc/self/fd/1 ${d}/stdout; ln -s /proc/self/fd/2 ${d}/stderr`,
        `mkdir ${d}/shm; mount -t tmpfs -o mode=1777,nosuid,nodev shm ${d}/shm`,
        `mkdir ${d}/pts; if mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts ${d}/pts 2>/dev/null; then ln -s pts/ptmx ${d}/ptmx; fi`,
      ];
    }
  }
}

/** The holder's script: builds the view under `rootfs` (an empty host directory), then idles as init. */
export function unshareHolderScript(ops: MountOp[], rootfs: string): string {
  return [
    "set -eu",
    `echo "pid $(cut -d' ' -f4 /proc/self/stat)"`,
    `R=${shellQuote(rootfs)}`,
    `mount -t tmpfs -o mode=0755 sandbox-root "$R"`,
    ...HELPERS,
    ...ops.flatMap(opLines),
    `cd "$R"; mkdir .oldroot; pivot_root . .oldroot; cd /; umount -l /.oldroot; rmdir /.oldroot`,
    "mount -o remount,bind,ro /",
    "echo ready",
    // PID 1 of the namespace: reaps the orphans that `cmd &` jobs leave behind.
    `exec /bin/sh -c 'while :; do sleep 2147483647 & wait; done'`,
  ].join("\n");
}

/** Arguments (after `setpriv`) of an unshare holder. */
export function unshareHolderArgs(unsharePath: string, script: string): string[] {
  return [
    "--pdeathsig", "KILL", "--",
    unsharePath, "--mount", "--pid", "--fork", "--kill-child=SIGKILL", "--propagation", "private",
    "--", "/bin/sh", "-c", script,
  ];
}
