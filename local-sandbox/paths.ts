// Sandbox path mapping. Paths are always handled as the sandbox sees them ("virtual" paths):
//   /home/user/...  -> <sandboxDir>/home/...
//   /tmp/...        -> <sandboxDir>/tmp/...
// Relative paths resolve against /home/user. Anything else is refused (permission_denied).
// Symlinks are resolved component by component *in the virtual namespace* (an absolute link
// target is a sandbox path, not a host path), so a link can never lead the host-side file APIs
// outside the sandbox directory.
import { lchownSync, lstatSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { RpcError } from "./errors.ts";

export const HOME = "/home/user";
export const TMP = "/tmp";

export interface SandboxRoots {
  /** Host directory mounted at /home/user. */
  home: string;
  /** Host directory mounted at /tmp. */
  tmp: string;
}

export interface ResolvedPath {
  /** Normalised sandbox path, e.g. /home/user/a.txt */
  virtual: string;
  /** Host path backing it. */
  host: string;
}

/** Absolute, normalised sandbox path (no symlink resolution). */
export function normalizeVirtual(input: string): string {
  const raw = input.trim() === "" ? HOME : input;
  const abs = raw.startsWith("/") ? raw : posix.join(HOME, raw);
  const norm = posix.normalize(abs);
  return norm.length > 1 && norm.endsWith("/") ? norm.slice(0, -1) : norm;
}

function under(path: string, root: string): boolean {
  return path === root || path.startsWith(root + "/");
}

/** Maps a normalised sandbox path to its host path, or undefined when it is not mapped. */
export function mapVirtual(roots: SandboxRoots, virtual: string): string | undefined {
  if (under(virtual, HOME)) return join(roots.home, virtual.slice(HOME.length));
  if (under(virtual, TMP)) return join(roots.tmp, virtual.slice(TMP.length));
  return undefined;
}

/** True for the mount points themselves, which must not be removed or moved. */
export function isRoot(virtual: string): boolean {
  return virtual === HOME || virtual === TMP;
}

function isAncestorOfRoot(virtual: string): boolean {
  return virtual === "/" || virtual === "/home";
}

/**
 * Resolves a sandbox path to a host path, following symlinks inside the sandbox namespace.
 * With `followFinal: false` the last component is not dereferenced (lstat semantics).
 */
export function resolveSandboxPath(roots: SandboxRoots, input: string, followFinal = true): ResolvedPath {
  if (input.includes("\0")) throw new RpcError("invalid_argument", "path contains a NUL byte");
  const pending = normalizeVirtual(input).split("/").filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  let missing = false;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === ".") continue;
    if (name === "..") {
      resolved.pop();
      continue;
    }
    resolved.push(name);
    if (missing) continue;
    const virtual = "/" + resolved.join("/");
    const host = mapVirtual(roots, virtual);
    if (host === undefined) {
      if (isAncestorOfRoot(virtual)) continue;
      throw new RpcError("permission_denied", `path ${virtual} is outside the sandbox's writable area (/home/user, /tmp)`);
    }
    if (pending.length === 0 && !followFinal) break;
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      missing = true; // nothing below a missing component can be a link
      continue;
    }
    if (!isLink) continue;
    if (++hops > 40) throw new RpcError("invalid_argument", `too many levels of symbolic links: ${input}`);
    const target = readlinkSync(host);
    resolved.pop();
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/").filter(Boolean));
  }
  const virtual = "/" + resolved.join("/");
  const host = mapVirtual(roots, virtual);
  if (host === undefined) {
    throw new RpcError("permission_denied", `path ${virtual} is outside the sandbox's writable area (/home/user, /tmp)`);
  }
  return { virtual, host };
}

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Gives the sandbox user what `mkdir -p` just made: `first` (what mkdir returned) and every folder
 * below it down to `last`.
 */
export function chownMade(owner: Owner | undefined, first: string | undefined, last: string): void {
  if (!owner || first === undefined) return;
  for (let p = last; p.length >= first.length; p = posix.dirname(p)) {
    lchownSync(p, owner.uid, owner.gid);
    if (p === first) break;
  }
}
