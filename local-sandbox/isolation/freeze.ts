// Pause with memory (E2B's `pause({ keepMemory: true })`, the default): a sandbox's processes are
// frozen in place and thawed when it resumes, so a background job goes on where it stopped.
//
// With the sandbox's cgroup freezer (v2 `cgroup.freeze`, v1 `freezer.state`; isolation/cgroups.ts)
// every process of the group is frozen at once, including what it forks meanwhile. Without one
// (`SANDBOX_LIMITS=off`, `SANDBOX_ISOLATION=none`, a v1 host without the freezer hierarchy) the
// process tree under the sandbox's roots (its namespace holder and its commands) is stopped with
// SIGSTOP and continued with SIGCONT: a process that forks between two passes, or one that has left
// the tree (`setsid` + double fork outside a namespace), may escape; inside a namespace every
// process descends from its init, which is a root.
import { readFileSync, readdirSync } from "node:fs";
import type { SandboxCgroup } from "./cgroups.ts";

const PAGE = 4096;
const STOP_PASSES = 3;

/** What to freeze: the sandbox's groups (if any) and the host pids its processes descend from. */
export interface FreezeTarget {
  cgroup: SandboxCgroup | undefined;
  roots: number[];
}

export interface FrozenSandbox {
  /** "cgroup freezer" or "SIGSTOP". */
  how: string;
  /** Memory of the frozen processes when frozen (bytes). */
  bytes: number;
  /** Lets the processes run again. */
  thaw(): void;
}

/** Host pid -> parent pid, for every process. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The roots and all their descendants that exist now. */
export function processTree(roots: number[]): number[] {
  const byParent = new Map<number, number[]>();
  const all = parents();
  for (const [pid, ppid] of all) byParent.set(ppid, [...(byParent.get(ppid) ?? []), pid]);
  const seen = new Set<number>();
  const queue = roots.filter((pid) => all.has(pid));
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...(byParent.get(pid) ?? []));
  }
  return [...seen];
}

function residentBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE || 0;
  } catch {
    return 0;
  }
}

/** Memory the sandbox's processes use now: its memory group's, else their resident sets. */
export function memoryOf(t: FreezeTarget): number {
  if (t.cgroup) return t.cgroup.memoryBytes();
  return processTree(t.roots).reduce((sum, pid) => sum + residentBytes(pid), 0);
}

function signal(pids: Iterable<number>, sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

/** Freezes the sandbox's processes (see above). */
export function freeze(t: FreezeTarget): FrozenSandbox {
  const bytes = memoryOf(t);
  const freezer = t.cgroup?.freezer;
  if (freezer) {
    freezer.set(true);
    return { how: "cgroup freezer", bytes, thaw: () => freezer.set(false) };
  }
  const stopped = new Set<number>();
  for (let pass = 0; pass < STOP_PASSES; pass++) {
    const fresh = processTree(t.roots).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0 && pass > 0) break;
    signal(fresh, "SIGSTOP");
    for (const pid of fresh) stopped.add(pid);
  }
  return {
    how: "SIGSTOP",
    bytes,
    thaw: () => signal(new Set([...stopped, ...processTree(t.roots)]), "SIGCONT"),
  };
}
