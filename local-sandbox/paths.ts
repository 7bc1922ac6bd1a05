// Sandbox path mapping. Paths are always handled as the sandbox sees them ("virtual" paths):
//   /home/user/...  -> <sandboxDir>/home/...
//   /tmp/...        -> <sandboxDir>/tmp/...
// Relative paths resolve against /home/user. Anything else is refused (permission_denied).
// Resolving a path to the files themselves (symlinks followed in the sandbox's namespace, never
// by the host's kernel) is sandbox-fs.ts's job.
import { join, posix } from "node:path";

export const HOME = "/home/user";
export const TMP = "/tmp";

export interface SandboxRoots {
  /** Host directory mounted at /home/user. */
  home: string;
  /** Host directory mounted at /tmp. */
  tmp: string;
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

export interface Owner {
  uid: number;
  gid: number;
}

