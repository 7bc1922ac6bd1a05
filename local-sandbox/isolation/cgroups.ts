// CPU, memory and process limits per sandbox with cgroups (v2 unified, or v1's cpu, memory and
// pids controllers), where the server may write them (root, a writable /sys/fs/cgroup).
//
// Each sandbox gets a group `forkyard-sandboxes/srv-<server pid>-<random>/<sandbox id>` in each controller,
// made when its namespace starts. Every process of the sandbox starts in it: the holder and each
// command are spawned through a tiny `sh` that writes its own pid into the groups' `cgroup.procs`
// and then execs (nsenter ...), so everything they fork stays inside. A fork bomb meets `pids.max`
// (fork fails with EAGAIN in that sandbox only), a memory hog the memory limit (the kernel's OOM
// killer picks a process of that sandbox only; the command's error says so), a busy loop the CPU
// quota. Groups are removed when the sandbox's processes are gone, and groups of servers that
// died are removed at start.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

export interface Limits {
  /** Memory (RAM + swap) per sandbox, MiB. */
  memoryMB: number;
  /** Processes (threads included) per sandbox. */
  pids: number;
  /** CPU time per sandbox, in CPUs (quota per 100 ms period). */
  cpus: number;
}

export const DEFAULT_LIMITS: Limits = { memoryMB: 2048, pids: 1024, cpus: 2 };

const BASE = "forkyard-sandboxes";
const PERIOD_US = 100_000;

interface Controller {
  /** Folder of this server's groups in this hierarchy. */
  dir: string;
  /** File -> value for a sandbox's group. */
  settings(l: Limits): Array<[string, string]>;
}

/** A sandbox's groups: where its processes go, and how to tell an OOM kill happened. */
export interface SandboxCgroup {
  /** The `cgroup.procs` files a new process writes its pid into. */
  procs: string[];
  /** OOM kills in the sandbox so far. */
  oomKills(): number;
  /** Memory the sandbox's processes use now (bytes; page cache included). */
  memoryBytes(): number;
  /**
   * The cgroup freezer of the sandbox's group (v2 `cgroup.freeze`, v1 `freezer.state`), when this
   * host has one: `set(true)` freezes every process of the group (and all they fork), `set(false)` thaws.
   */
  freezer: { set(frozen: boolean): void } | undefined;
  /** Removes the groups (once empty; retried a few times). */
  remove(): void;
}

const bytes = (mb: number) => String(mb * 1024 * 1024);
const readBytes = (file: string): number => {
  try {
    return Number(readFileSync(file, "utf8").trim()) || 0;
  } catch {
    return 0;
  }
};

/** Per hierarchy: the memory-use file of a group, and the freezer's file and values. */
interface Usage {
  memoryFile: string;
  freezeFile?: (id: string) => string;
  frozen: string;
  thawed: string;
}
const readNumber = (file: string, key: string): number => {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, "m").exec(readFileSync(file, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
};

function isV2(root: string): boolean {
  return existsSync(join(root, "cgroup.controllers"));
}

/** The hierarchy folder holding a v1 controller (e.g. cpu in "cpu,cpuacct"), or undefined. */
function v1Mount(root: string, controller: string): string | undefined {
  for (const name of [controller, ...safeList(root).filter((n) => n.split(",").includes(controller))]) {
    if (existsSync(join(root, name, "cgroup.procs"))) return join(root, name);
  }
  return undefined;
}

const safeList = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Removes a group folder and its (empty) children, depth first; false when still in use. */
function removeTree(dir: string): boolean {
  let ok = true;
  for (const name of safeList(dir)) {
    const sub = join(dir, name);
    if (!existsSync(join(sub, "cgroup.procs"))) continue;
    ok = removeTree(sub) && ok;
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") ok = false;
  }
  return ok;
}

/**
 * Removes group folders now, or — processes of a killed namespace take a moment to go — retries
 * for a few seconds; `pending` sees each scheduled retry (undefined once done or given up). The
 * promise resolves then.
 */
function removeWhenEmpty(dirs: string[], pending: (timer: NodeJS.Timeout | undefined) => void = () => {}): Promise<void> {
  return new Promise((resolve) => {
    let tries = 0;
    const attempt = () => {
      const done = dirs.map((d) => removeTree(d)).every(Boolean);
      const timer = !done && ++tries < 20 ? setTimeout(attempt, 250).unref() : undefined;
      pending(timer);
      if (!timer) resolve();
    };
    attempt();
  });
}

export class Cgroups {
  readonly limits: Limits;
  private readonly controllers: Controller[];
  private readonly oomFile: (group: string) => string;
  private readonly memoryDir: string;
  /** How this hierarchy reports memory use and freezes a group (per sandbox id). */
  private readonly usage: Usage;
  /** Removals waiting for a sandbox's processes to be gone, cancelled when it starts again. */
  private readonly removing = new Map<string, NodeJS.Timeout>();

  private constructor(limits: Limits, controllers: Controller[], memoryDir: string, oomFile: (group: string) => string, usage: Usage) {
    this.limits = limits;
    this.controllers = controllers;
    this.memoryDir = memoryDir;
    this.oomFile = oomFile;
    this.usage = usage;
  }

  /** Sets up this server's groups, or says why limits cannot be applied here. */
  static detect(limits: Limits, root = "/sys/fs/cgroup"): Cgroups | string {
    if (process.getuid?.() !== 0) return "cgroup limits need root";
    // One folder per server (several may share a process: tests), named after the process.
    const server = `srv-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      let cgroups: Cgroups;
      if (isV2(root)) {
        const base = join(root, BASE);
        mkdirSync(base, { recursive: true });
        const wanted = ["cpu", "memory", "pids"];
        const available = readFileSync(join(root, "cgroup.controllers"), "utf8").trim().split(/\s+/);
        const missing = wanted.filter((c) => !available.includes(c));
        if (missing.length > 0) return `cgroup v2 controllers missing: ${missing.join(", ")}`;
        for (const dir of [root, base]) writeFileSync(join(dir, "cgroup.subtree_control"), wanted.map((c) => `+${c}`).join(" "));
        const dir = join(base, server);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, "cgroup.subtree_control"), wanted.map((c) => `+${c}`).join(" "));
        const v2: Controller = {
          dir,
          settings: (l) => [
            ["memory.max", bytes(l.memoryMB)],
            ["memory.swap.max", "0"],
            ["pids.max", String(l.pids)],
            ["cpu.max", `${Math.round(l.cpus * PERIOD_US)} ${PERIOD_US}`],
          ],
        };
        const usage: Usage = { memoryFile: "memory.current", freezeFile: (id) => join(dir, id, "cgroup.freeze"), frozen: "1", thawed: "0" };
        cgroups = new Cgroups(limits, [v2], dir, (g) => join(g, "memory.events"), usage);
      } else {
        const pids = v1Mount(root, "pids");
        const memory = v1Mount(root, "memory");
        const cpu = v1Mount(root, "cpu");
        if (!pids || !memory || !cpu) return `cgroup v1 controllers missing under ${root} (need pids, memory, cpu)`;
        const memsw = existsSync(join(memory, "memory.memsw.limit_in_bytes"));
        const at = (mount: string) => join(mount, BASE, server);
        const controllers: Controller[] = [
          { dir: at(pids), settings: (l) => [["pids.max", String(l.pids)]] },
          {
            dir: at(memory),
            // memsw (RAM + swap) is set after the RAM limit: it may never be below it.
            settings: (l) => [["memory.limit_in_bytes", bytes(l.memoryMB)], ...(memsw ? [["memory.memsw.limit_in_bytes", bytes(l.memoryMB)] as [string, string]] : [])],
          },
          { dir: at(cpu), settings: (l) => [["cpu.cfs_period_us", String(PERIOD_US)], ["cpu.cfs_quota_us", String(Math.round(l.cpus * PERIOD_US))]] },
        ];
        // The freezer hierarchy, when mounted, holds the sandbox's processes too (pause keeps them frozen).
        const freezer = v1Mount(root, "freezer");
        if (freezer) controllers.push({ dir: at(freezer), settings: () => [] });
        for (const c of controllers) mkdirSync(c.dir, { recursive: true });
        const usage: Usage = {
          memoryFile: "memory.usage_in_bytes",
          ...(freezer ? { freezeFile: (id: string) => join(at(freezer), id, "freezer.state") } : {}),
          frozen: "FROZEN",
          thawed: "THAWED",
        };
        cgroups = new Cgroups(limits, controllers, at(memory), (g) => join(g, "memory.oom_control"), usage);
      }
      cgroups.removeStale();
      // A probe group proves the limits can be written here.
      const probe = cgroups.create("probe");
      probe.remove();
      return cgroups;
    } catch (err) {
      return `cannot set up cgroups under ${root}: ${(err as Error).message}`;
    }
  }

  /** Groups left by servers that are gone. */
  private removeStale(): void {
    for (const c of this.controllers) {
      const base = join(c.dir, "..");
      for (const name of safeList(base)) {
        const pid = /^srv-(\d+)-/.exec(name)?.[1];
        if (pid && Number(pid) !== process.pid && !alive(Number(pid))) removeTree(join(base, name));
      }
    }
  }

  /** Makes (or reuses) a sandbox's groups with the limits written. */
  create(id: string): SandboxCgroup {
    clearTimeout(this.removing.get(id));
    this.removing.delete(id);
    const dirs = this.controllers.map((c) => {
      const dir = join(c.dir, id);
      mkdirSync(dir, { recursive: true });
      for (const [file, value] of c.settings(this.limits)) writeFileSync(join(dir, file), value);
      return dir;
    });
    const memoryGroup = join(this.memoryDir, id);
    const freezeFile = this.usage.freezeFile?.(id);
    const { frozen, thawed } = this.usage;
    return {
      procs: dirs.map((d) => join(d, "cgroup.procs")),
      oomKills: () => readNumber(this.oomFile(memoryGroup), "oom_kill"),
      memoryBytes: () => readBytes(join(memoryGroup, this.usage.memoryFile)),
      freezer: freezeFile && existsSync(freezeFile) ? { set: (on) => writeFileSync(freezeFile, on ? frozen : thawed) } : undefined,
      remove: () =>
        void removeWhenEmpty(dirs, (timer) => {
          if (timer) this.removing.set(id, timer);
          else this.removing.delete(id);
        }),
    };
  }

  /** Removes this server's groups (at close). */
  close(): Promise<void> {
    for (const t of this.removing.values()) clearTimeout(t);
    // What stays busy past the retries is removed by the next server (removeStale).
    return removeWhenEmpty(this.controllers.map((c) => c.dir));
  }
}

/**
 * `file args` started inside a sandbox's groups: `sh` writes its pid into each `cgroup.procs`,
 * then execs the real command (so the pid, and whatever it forks, is accounted to the sandbox).
 */
export function inCgroup(procs: string[], file: string, args: string[]): { file: string; args: string[] } {
  if (procs.length === 0) return { file, args };
  const script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n - 1)); done; exec "$@"';
  return { file: "/bin/sh", args: ["-c", script, "sh", String(procs.length), ...procs, file, ...args] };
}
