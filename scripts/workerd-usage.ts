import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { StackProcess } from "./local-stack.ts";

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * The Worker runtime's resident memory (MiB) and CPU time so far (s, to 10 ms): every workerd of
 * the wrangler process group.
 */
export function workerdUsage(worker: StackProcess): { rssMiB: number; cpuSeconds: number } {
  try {
    const out = execFileSync("ps", ["-o", "pid=,rss=,comm=", "-g", String(worker.child.pid)], { encoding: "utf8" });
    const rows = out.split("\n").filter((line) => line.includes("workerd")).map((line) => line.trim().split(/\s+/).map(Number));
    return { rssMiB: rows.reduce((sum, [, rss]) => sum + (rss ?? 0), 0) / 1024, cpuSeconds: rows.reduce((sum, [pid]) => sum + cpuSecondsOf(pid!), 0) };
  } catch {
    return { rssMiB: 0, cpuSeconds: 0 };
  }
}

/** utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name). */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0; // it exited meanwhile
  }
}
