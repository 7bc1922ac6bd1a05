// The filesystem a sandbox sees, as an ordered list of mount operations. Both isolation backends
// (bubblewrap and util-linux unshare) build exactly this view, so what a command observes does
// not depend on which one runs it:
//   /usr /etc /opt (+ /bin /sbin /lib* as on the host)   system directories, read-only
//   /etc/passwd, /etc/group                               the host's plus the sandbox user
//   /etc/profile, /.local-sandbox/bin/sudo                the host's plus `sudo` on PATH (sudo.ts)
//   /dev (null, zero, full, random, urandom, tty, shm)    minimal devices
//   /proc                                                 the sandbox's own PID namespace only
//   /proc/sys/kernel/random/boot_id                       the sandbox's own, new at each start
//   /home/user, /tmp                                      the sandbox's own writable directories
//   /root, /var/tmp                                       empty / a link to /tmp
//   exposed paths (SANDBOX_EXPOSE_PATHS)                  read-only, at their host path
// Nothing else of the host: not its homes, not the data dir (other sandboxes), and hidden paths
// (the server's state, the project checkout) stay hidden even inside an exposed or system folder.
// The root itself is read-only once the view is built.
import { lstatSync, readlinkSync } from "node:fs";
import { BOOT_ID_PATH } from "./boot-id.ts";
import { SUDO_DIR } from "./sudo.ts";
import type { UserFiles } from "./user.ts";

export type MountOp =
  /** Host path `src` at `dst`, read-only (`optional`: skipped when `src` does not exist). */
  | { op: "ro-bind"; src: string; dst: string; optional?: boolean }
  /** Host directory `src` at `dst`, writable. */
  | { op: "bind"; src: string; dst: string }
  | { op: "symlink"; target: string; dst: string }
  /** An empty directory hiding whatever is below `dst`. */
  | { op: "tmpfs"; dst: string }
  | { op: "dir"; dst: string }
  | { op: "dev"; dst: string }
  | { op: "proc"; dst: string };

export interface MountInput {
  /** Host directory mounted at /home/user. */
  home: string;
  /** Host directory mounted at /tmp. */
  tmp: string;
  /** The server's data dir (every sandbox's files): always hidden. */
  dataDir: string;
  exposePaths: string[];
  /** Host paths never shown, even inside an exposed or system folder. */
  hidePaths?: string[];
  /** Generated /etc/passwd and /etc/group naming the sandbox user (isolation/user.ts), and `sudo` (sudo.ts). */
  userFiles?: UserFiles;
  /** A file holding the sandbox's boot id, bound over /proc/sys/kernel/random/boot_id (boot-id.ts). */
  bootId?: string;
}

/** Host directories every sandbox sees read-only (a symlink on the host stays a symlink). */
export const SYSTEM_DIRS = ["/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/** Devices bound into the sandbox's /dev. */
export const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];

export function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

const depth = (p: string) => p.split("/").filter(Boolean).length;

/** Reads how a host path exists: a directory/file, a symlink (with its target) or not at all. */
export type HostLookup = (path: string) => { kind: "missing" } | { kind: "path" } | { kind: "symlink"; target: string };

export const lookupHost: HostLookup = (path) => {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return { kind: "missing" };
  if (st.isSymbolicLink()) return { kind: "symlink", target: readlinkSync(path) };
  return { kind: "path" };
};

/** The ordered mount operations building a sandbox's view (see the header). */
export function sandboxView(m: MountInput, lookup: HostLookup = lookupHost): MountOp[] {
  const ops: MountOp[] = [];
  const shown: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    const found = lookup(dir);
    if (found.kind === "symlink") ops.push({ op: "symlink", target: found.target, dst: dir });
    else if (found.kind === "path") {
      ops.push({ op: "ro-bind", src: dir, dst: dir });
      shown.push(dir);
    }
  }
  if (m.userFiles) {
    ops.push({ op: "ro-bind", src: m.userFiles.passwd, dst: "/etc/passwd" }, { op: "ro-bind", src: m.userFiles.group, dst: "/etc/group" });
    const sudo = m.userFiles.sudo;
    if (sudo) ops.push({ op: "ro-bind", src: sudo.bin, dst: SUDO_DIR });
    if (sudo?.profile) ops.push({ op: "ro-bind", src: sudo.profile, dst: "/etc/profile" });
  }
  ops.push(
    { op: "dev", dst: "/dev" },
    { op: "proc", dst: "/proc" },
    ...(m.bootId ? [{ op: "ro-bind", src: m.bootId, dst: BOOT_ID_PATH } as const] : []),
    { op: "dir", dst: "/home" },
    { op: "bind", src: m.home, dst: "/home/user" },
    { op: "bind", src: m.tmp, dst: "/tmp" },
    { op: "dir", dst: "/root" },
    { op: "dir", dst: "/var" },
    { op: "symlink", target: "/tmp", dst: "/var/tmp" },
  );
  // Exposed and hidden paths, parents before children, so the deeper rule wins (a hidden path
  // named exactly, or an exposed path inside the data dir, stays hidden).
  const exposed = [...new Set(m.exposePaths)].filter((p) => p !== "/");
  shown.push(...exposed);
  const hidden = [...new Set([m.dataDir, ...(m.hidePaths ?? [])])]
    // Hiding matters only where the path would otherwise be visible.
    .filter((p) => shown.some((s) => isUnder(p, s)));
  const layered = [
    ...exposed
      .filter((p) => !isUnder(p, m.dataDir) && !hidden.includes(p))
      .map((p): MountOp => ({ op: "ro-bind", src: p, dst: p, optional: true })),
    ...hidden.map((p): MountOp => ({ op: "tmpfs", dst: p })),
  ];
  layered.sort((a, b) => depth(a.dst) - depth(b.dst));
  ops.push(...layered);
  return ops;
}
