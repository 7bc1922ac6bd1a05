import { execFileSync } from "node:child_process";
import type { StackProcess } from "./local-stack.ts";

/** The Worker runtime's resident memory (MiB) and CPU time so far (s): every workerd of the wrangler process group. */
export function workerdUsage(worker: StackProcess): { rssMiB: number; cpuSeconds: number } {
  try {
    const out = execFileSync("ps", ["-o", "rss=,cputimes=,comm=", "-g", String(worker.child.pid)], { encoding: "utf8" });
    const rows = out.split("\n").filter((line) => line.includes("workerd")).map((line) => line.trim().split(/\s+/).map(Number));
    return { rssMiB: rows.reduce((sum, [rss]) => sum + (rss ?? 0), 0) / 1024, cpuSeconds: rows.reduce((sum, [, cpu]) => sum + (cpu ?? 0), 0) };
  } catch {
    return { rssMiB: 0, cpuSeconds: 0 };
  }
}
