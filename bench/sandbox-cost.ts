// CPU cost of the local sandbox server per sandbox and per command, by isolation mode: starts the
// server in its own process, creates sandboxes with the official e2b SDK, runs commands in each,
// and reads the server's CPU time (with its children's) from /proc. Prints a table.
//   node bench/sandbox-cost.ts [sandboxes=20] [commands=5]
import { Sandbox } from "e2b";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSandboxServer } from "../scripts/local-stack.ts";

const TICKS = 100;
const [sandboxes, commands] = [Number(process.argv[2] ?? 20), Number(process.argv[3] ?? 5)];

/** User+system CPU seconds of a process and its reaped children (/proc/PID/stat fields 14–17). */
function cpuSeconds(pid: number, which: "all" | "self" = "all"): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ").map(Number);
  return (f[11]! + f[12]! + (which === "all" ? f[13]! + f[14]! : 0)) / TICKS;
}

async function measure(isolation: string) {
  const dataDir = mkdtempSync(join(tmpdir(), "sbx-cost-"));
  const apiKey = "e2b_" + "ab12".repeat(10);
  const server = await startSandboxServer({ dataDir, apiKey, quiet: true, env: { SANDBOX_ISOLATION: isolation, ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}) } });
  const opts = { apiKey, apiUrl: server.url, sandboxUrl: server.url, debug: false } as const;
  const pid = server.child.pid!;
  try {
    const s0 = cpuSeconds(pid, "self");
    const c0 = cpuSeconds(pid);
    const boxes = [];
    for (let i = 0; i < sandboxes; i++) boxes.push(await Sandbox.create({ ...opts }));
    const c1 = cpuSeconds(pid);
    for (const box of boxes) for (let j = 0; j < commands; j++) await box.commands.run("echo hi");
    const c2 = cpuSeconds(pid);
    for (const box of boxes) await box.kill();
    const c3 = cpuSeconds(pid);
    const self = ((cpuSeconds(pid, "self") - s0) / sandboxes) * 1000;
    return { isolation, self, create: ((c1 - c0) / sandboxes) * 1000, command: ((c2 - c1) / (sandboxes * commands)) * 1000, kill: ((c3 - c2) / sandboxes) * 1000 };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const rows = [];
for (const mode of process.argv[4]?.split(",") ?? ["none", "unshare"]) rows.push(await measure(mode));
console.log(`| isolation | CPU ms / create | CPU ms / command | CPU ms / kill | server process's own CPU ms / sandbox |  (${sandboxes} sandboxes × ${commands} commands)`);
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.isolation} | ${r.create.toFixed(1)} | ${r.command.toFixed(1)} | ${r.kill.toFixed(1)} | ${r.self.toFixed(1)} |`);
