// The disk limit of a sandbox (SANDBOX_DISK_MB): a periodic size check of its /home/user and /tmp.
//
// Both are folders of the data dir's filesystem, which gives no per-folder quota without
// filesystem-specific setup (project quotas need ext4/xfs mounted for them), so the server measures:
// one `du` at a time (allocated blocks, hard links counted once, no symlink followed, not crossing
// into another filesystem, at the lowest CPU priority), over every running sandbox that has a
// namespace or running processes, then a pause of `intervalMs` before the next round. The cost is
// bounded: one scan at a time, each cut off after SCAN_TIMEOUT_MS. A sandbox over its limit has all
// its processes killed (its namespace too): each running command ends with `signal: killed: out of
// disk: ...`, the others are untouched. The sandbox stays running with its files, so the client can
// read or delete them; a command that leaves it over the limit is stopped again at the next scan.
// Between scans a sandbox may overshoot by what it writes in that time.
import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import type { Sandbox } from "../sandbox-store.ts";

const SCAN_TIMEOUT_MS = 60_000;
const MiB = 1024 * 1024;

/** Bytes allocated under `dirs` (hard links once), or undefined when the scan did not finish. */
export function diskUsage(dirs: string[], signal?: AbortSignal, timeoutMs = SCAN_TIMEOUT_MS): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn("du", ["-s", "-x", "-B1", "-c", "--", ...dirs], {
      stdio: ["ignore", "pipe", "ignore"],
      env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
      killSignal: "SIGKILL",
      ...(signal ? { signal } : {}),
    });
    let out = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("spawn", () => {
      try {
        setPriority(child.pid!, 19);
      } catch {
        // best effort
      }
    });
    child.on("error", () => resolve(undefined));
    child.on("close", (_code, signal) => {
      clearTimeout(timer);
      // du exits 1 when a file vanished during the scan: the total is still the measure.
      const total = /^(\d+)\ttotal$/m.exec(out);
      resolve(signal || !total ? undefined : Number(total[1]));
    });
  });
}

export interface DiskWatchOptions {
  limitMB: number;
  intervalMs: number;
  /** The sandboxes to look at (the store's table). */
  sandboxes: () => Sandbox[];
  log: (msg: string) => void;
}

export class DiskWatch {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Cuts a scan in progress at close. */
  private readonly abort = new AbortController();

  private readonly opts: DiskWatchOptions;

  constructor(opts: DiskWatchOptions) {
    this.opts = opts;
  }

  start(): void {
    const next = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.scan().finally(next);
      }, this.opts.intervalMs);
      this.timer.unref();
    };
    next();
  }

  /** One round over the sandboxes that can write (a namespace or running processes). */
  async scan(): Promise<void> {
    for (const sb of this.opts.sandboxes()) {
      if (this.stopped) return;
      if (!sb.running || !(sb.holder?.alive || sb.processes.running().length > 0)) continue;
      const used = await diskUsage([sb.home, sb.tmp], this.abort.signal);
      if (this.stopped) return;
      if (used === undefined) {
        this.opts.log(`disk check of sandbox ${sb.id} did not finish`);
        continue;
      }
      if (used > this.opts.limitMB * MiB && sb.running) {
        const reason = `out of disk: the sandbox's /home/user and /tmp use ${Math.ceil(used / MiB)} MiB, over its disk limit (${this.opts.limitMB} MiB)`;
        this.opts.log(`sandbox ${sb.id}: ${reason}: its processes are stopped`);
        sb.stopProcesses(reason);
      }
    }
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }
}
