// Descriptors the server inherited from whatever started it (a supervisor's pipes, a terminal's
// extra fds, a file a shell script opened) are open without close-on-exec, so every process it
// spawns — each sandbox command included — would inherit them too: a hostile command could read a
// host file or write to its starter's pipe through them. The server closes them once at start;
// its own descriptors (libuv's, Node's) are all close-on-exec.
import { closeSync, readdirSync, readFileSync } from "node:fs";

/** O_CLOEXEC in /proc/<pid>/fdinfo's octal `flags`. */
const O_CLOEXEC = 0o2000000;

/** The descriptors of this process above stdio that lack close-on-exec (Linux /proc). */
export function inheritedFds(): number[] {
  let names: string[];
  try {
    names = readdirSync("/proc/self/fd");
  } catch {
    return [];
  }
  // Node's IPC channel with its parent, if any, is inherited on purpose.
  const channel = (process.channel as { fd?: number } | undefined)?.fd;
  return names.map(Number).filter((fd) => {
    if (fd <= 2 || fd === channel) return false;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
      return flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0;
    } catch {
      return false; // the directory's own descriptor, gone once listed
    }
  });
}

/** Closes every inherited descriptor (see the header); answers how many. */
export function closeInheritedFds(): number {
  const fds = inheritedFds();
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  return fds.length;
}
