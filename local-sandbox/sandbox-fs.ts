// The envd file API's way to the sandbox's files: beneath-the-root resolution, never by host path.
//
// A sandbox's processes change its files while the server works on them, so a path checked and
// then used could be a directory at the check and a symlink to a host folder at the use. Every
// operation therefore goes through directory descriptors: each component is looked up *in an
// already opened directory* (`/proc/self/fd/<dirfd>/<name>`, i.e. openat-style: the kernel jumps
// to that directory and looks up one name) with lstat / O_NOFOLLOW, so the kernel never follows a
// link on the server's behalf. Links are followed by this code, in the sandbox's namespace (an
// absolute target is a sandbox path), and each of their components is resolved the same way. The
// final operation (lstat, open, mkdir, rename, unlink, rmdir, readlink) acts on one name in an
// opened directory and does not follow a link in that name either.
//
// Non-regular files (FIFOs, devices, sockets) are refused before being opened (lstat), and opens
// use O_NONBLOCK then fstat: a FIFO swapped in after the lstat cannot block a thread of the pool.
import { closeSync, constants, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { lstat, open, readdir, rmdir, unlink, type FileHandle } from "node:fs/promises";
import { RpcError } from "./errors.ts";
import { HOME, TMP, normalizeVirtual, type Owner, type SandboxRoots } from "./paths.ts";

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** A path naming `name` in the opened directory `dirFd`, resolved without following a link. */
export const at = (dirFd: number, name?: string) => (name === undefined ? `/proc/self/fd/${dirFd}` : `/proc/self/fd/${dirFd}/${name}`);

/** One name in an opened directory of the sandbox. `close()` when done (idempotent). */
export interface Located {
  /** Normalised sandbox path of the final component. */
  virtual: string;
  dirFd: number;
  /** The final name ("." for /home/user and /tmp themselves). */
  name: string;
  /** at(dirFd, name): use it for the final operation. */
  path: string;
  close(): void;
}

export interface LocateOptions {
  /** Follow a symlink in the final component (stat vs lstat semantics). */
  followFinal: boolean;
  /** Make missing parent folders (owned by `owner`) instead of failing. */
  makeParents?: boolean;
  owner?: Owner | undefined;
}

const outside = (virtual: string) =>
  new RpcError("permission_denied", `path ${virtual} is outside the sandbox's writable area (/home/user, /tmp)`);

const enoent = (virtual: string) => Object.assign(new Error(`ENOENT: ${virtual}`), { code: "ENOENT" });

function rootOf(roots: SandboxRoots, virtual: string): string | undefined {
  if (virtual === HOME) return roots.home;
  if (virtual === TMP) return roots.tmp;
  return undefined;
}

/** Resolves a sandbox path to (opened parent directory, final name); see the header. */
export function locate(roots: SandboxRoots, input: string, opts: LocateOptions): Located {
  if (input.includes("\0")) throw new RpcError("invalid_argument", "path contains a NUL byte");
  let pending = normalizeVirtual(input).split("/").filter(Boolean);
  let resolved: string[] = [];
  let fd: number | undefined;
  let hops = 0;
  const drop = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  try {
    for (;;) {
      const name = pending.shift();
      if (name === undefined) {
        // Only "/" or "/home" end here: not the sandbox's.
        throw outside("/" + resolved.join("/"));
      }
      if (name === ".") continue;
      if (name === "..") {
        // From a link's target: resolve again from the top with the shorter prefix.
        pending = [...resolved.slice(0, -1), ...pending];
        resolved = [];
        drop();
        continue;
      }
      resolved.push(name);
      const virtual = "/" + resolved.join("/");
      const final = pending.length === 0;
      if (fd === undefined) {
        const root = rootOf(roots, virtual);
        if (root === undefined) {
          if (virtual === "/home" && !final) continue;
          throw outside(virtual);
        }
        fd = openSync(root, DIR_FLAGS);
        if (final) return located(virtual, fd, ".");
        continue;
      }
      if (final && !opts.followFinal) return located(virtual, fd, name);
      let st: Stats;
      try {
        st = lstatSync(at(fd, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        if (final) return located(virtual, fd, name);
        if (!opts.makeParents) throw enoent("/" + [...resolved, ...pending].join("/"));
        try {
          mkdirSync(at(fd, name), 0o755);
          // lchown: never through a link swapped in meanwhile
          if (opts.owner) lchownSync(at(fd, name), opts.owner.uid, opts.owner.gid);
        } catch (mkErr) {
          if ((mkErr as NodeJS.ErrnoException).code !== "EEXIST") throw mkErr;
        }
        resolved.pop();
        pending.unshift(name); // look again: whatever is there now
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > 40) throw new RpcError("invalid_argument", `too many levels of symbolic links: ${input}`);
        const target = readlinkSync(at(fd, name));
        resolved.pop();
        pending = [...target.split("/").filter(Boolean), ...pending];
        if (target.startsWith("/")) {
          resolved = [];
          drop();
        }
        continue;
      }
      if (final) return located(virtual, fd, name);
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: ${virtual}`), { code: "ENOTDIR" });
      let next: number;
      try {
        next = openSync(at(fd, name), DIR_FLAGS);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Swapped since the lstat: look at it again.
        if ((code !== "ELOOP" && code !== "ENOTDIR") || ++hops > 40) throw err;
        resolved.pop();
        pending.unshift(name);
        continue;
      }
      closeSync(fd);
      fd = next;
    }
  } catch (err) {
    drop();
    throw err;
  }
}

function located(virtual: string, dirFd: number, name: string): Located {
  let open = true;
  return {
    virtual,
    dirFd,
    name,
    path: at(dirFd, name),
    close() {
      if (open) closeSync(dirFd);
      open = false;
    },
  };
}

/** Runs `fn` on a located path and closes its directory afterwards. */
export async function withLocated<T>(roots: SandboxRoots, input: string, opts: LocateOptions, fn: (loc: Located) => Promise<T> | T): Promise<T> {
  const loc = locate(roots, input, opts);
  try {
    return await fn(loc);
  } finally {
    loc.close();
  }
}

export class NotRegularFile extends RpcError {
  constructor(virtual: string) {
    super("invalid_argument", `path '${virtual}' is not a regular file`);
  }
}

/**
 * Opens a located regular file without ever blocking or following a link: lstat first (FIFOs,
 * devices, sockets and folders refused unopened), then O_NOFOLLOW | O_NONBLOCK, then fstat.
 * `create`: made when missing (owned by `owner`). The caller closes the handle.
 */
export async function openRegular(loc: Located, flags: number, create?: { owner: Owner | undefined }): Promise<{ fh: FileHandle; st: Stats }> {
  const existing = await lstat(loc.path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" && create) return undefined;
    throw err;
  });
  if (existing?.isDirectory()) throw Object.assign(new Error(`EISDIR: ${loc.virtual}`), { code: "EISDIR" });
  if (existing && !existing.isFile()) throw new NotRegularFile(loc.virtual);
  const fh = await open(loc.path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK | (create ? constants.O_CREAT : 0), 0o644);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFile(loc.virtual);
    if (!existing && create?.owner) await fh.chown(create.owner.uid, create.owner.gid);
    return { fh, st };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/** Opens the folder `name` of an opened folder (not following a link) and returns its descriptor. */
export function openDirAt(dirFd: number, name: string): number {
  return openSync(at(dirFd, name), DIR_FLAGS);
}

/** The entries of an opened folder, sorted by name. */
export const listOpened = (dirFd: number) => readdirSync(at(dirFd)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Removes `name` in the opened folder `dirFd`, recursively, never leaving that folder's tree. */
export async function removeAt(dirFd: number, name: string): Promise<void> {
  const path = at(dirFd, name);
  const st = await lstat(path);
  if (!st.isDirectory()) return unlink(path);
  let sub: number;
  try {
    sub = openSync(path, DIR_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") return unlink(path); // swapped for a link or file
    throw err;
  }
  try {
    for (const child of await readdir(at(sub))) {
      await removeAt(sub, child).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    }
  } finally {
    closeSync(sub);
  }
  await rmdir(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOTDIR") return unlink(path);
    throw err;
  });
}
