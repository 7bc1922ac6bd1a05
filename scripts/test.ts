/**
 * `npm test` after the typecheck: the vitest projects (vitest.config.ts) run at the same time as
 * lanes, one vitest process each (in one process vitest runs projects of different worker counts
 * one group after the other): `workers` (the Worker in workerd; FORKYARD_WORKERS_RUNNERS runners
 * side by side inside it, default 2, each taking the next file longest first: scripts/test-order.ts),
 * `node` (the local sandbox server,
 * CLI, scripts, the Worker's pure logic) and `stack` (files that start a `wrangler dev` stack, one
 * at a time). Each lane writes its output to .test-data/test-logs/<lane>.log. Prints one table of
 * per-file durations, a failed lane's log, and exits non-zero when a lane failed.
 *
 * Each lane is a process group registered with the orphan guard, so the lanes die with the runner
 * whatever ends it (SIGINT, SIGTERM, SIGHUP here; SIGKILL through the guard).
 *
 *   npm test                                  # typecheck, then every lane
 *   node scripts/test.ts -- -t x              # arguments after `--` go to every vitest process
 *   FORKYARD_TEST_LANES=workers,stack node scripts/test.ts
 *   FORKYARD_WORKERS_RUNNERS=3 node scripts/test.ts
 *   node scripts/test.ts --record-seconds     # after a green run, refresh test/workers/file-seconds.json
 *
 * A single file still runs with `npx vitest run <file>`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { guardGroup, ROOT } from "./local-stack.ts";
import { treeCpuSeconds } from "./process-cpu.ts";
import { recordSeconds } from "./test-order.ts";
import type { FileTiming } from "./test-timing-reporter.ts";

const PROJECTS = (process.env.FORKYARD_TEST_LANES || "workers,node,stack").split(",").filter(Boolean);
const recordFlag = process.argv.includes("--record-seconds");
const extra = (() => {
  const i = process.argv.indexOf("--");
  return i >= 0 ? process.argv.slice(i + 1) : process.argv.slice(2).filter((a) => a !== "--record-seconds");
})();
const LANES = PROJECTS.map((project) => ({ name: project, project }));
const logDir = join(ROOT, ".test-data", "test-logs");
// Every Node process of the suite (vitest's workers, the sandbox servers, wrangler, each CLI run)
// reuses compiled code and stripped TypeScript across processes and runs: a CLI start drops from
// about 0.45 to 0.14 CPU-s. Keyed by content, so an edited file is compiled afresh.
const compileCache = process.env.NODE_COMPILE_CACHE || join(ROOT, ".test-data", "node-compile-cache");
mkdirSync(logDir, { recursive: true });

interface Lane {
  name: string;
  child: ChildProcess;
  log: string;
  timings: string;
  started: number;
  ended?: number;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  done: Promise<void>;
}

function startLane({ name, project }: { name: string; project: string }): Lane {
  const log = join(logDir, `${name}.log`);
  const timings = join(logDir, `${name}.timings.jsonl`);
  rmSync(timings, { force: true });
  const out = createWriteStream(log);
  const child = spawn(
    process.execPath,
    [join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--project", project, "--reporter=default", `--reporter=${join(ROOT, "scripts", "test-timing-reporter.ts")}`, ...extra],
    // Its own process group: stopping the lane stops vitest's workers and workerd with it.
    { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? "1" : "0", FORKYARD_TEST_TIMINGS: timings, NODE_COMPILE_CACHE: compileCache } },
  );
  guardGroup("+", child.pid!);
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const lane: Lane = { name, child, log, timings, started: Date.now(), done: Promise.resolve() };
  lane.done = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      lane.ended = Date.now();
      lane.code = code;
      lane.signal = signal;
    });
    child.on("close", () => {
      guardGroup("-", child.pid!);
      out.end(() => resolve());
      const secs = ((lane.ended! - lane.started) / 1000).toFixed(1);
      console.log(`${name} lane: ${lane.code === 0 ? "passed" : `FAILED (${lane.signal ?? `exit ${lane.code}`})`} in ${secs} s`);
    });
  });
  return lane;
}

const lanes: Lane[] = [];
let stopping = false;

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // gone
  }
}

async function stopAll(sig: NodeJS.Signals): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const lane of lanes) killGroup(lane.child.pid!, "SIGTERM");
    const grace = setTimeout(() => {
      for (const lane of lanes) killGroup(lane.child.pid!, "SIGKILL");
    }, 5000);
    await Promise.all(lanes.map((l) => l.done));
    clearTimeout(grace);
    for (const lane of lanes) killGroup(lane.child.pid!, "SIGKILL"); // whatever of a group outlived its leader
  }
  process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as Record<string, number>)[sig]!);
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void stopAll(sig));

const t0 = Date.now();
console.log(`running the ${LANES.map((l) => l.name).join(", ")} lanes at the same time (output: ${logDir}/<lane>.log)`);
for (const plan of LANES) lanes.push(startLane(plan));
await Promise.all(lanes.map((l) => l.done));
// Stopped by a signal: stopAll exits with its code, no table.
if (stopping) await new Promise(() => {});
for (const lane of lanes) killGroup(lane.child.pid!, "SIGKILL"); // nothing of a finished lane may linger

const rows: (FileTiming & { lane: string })[] = lanes.flatMap((l) =>
  existsSync(l.timings)
    ? readFileSync(l.timings, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => ({ ...(JSON.parse(line) as FileTiming), lane: l.name }))
    : [],
);
rows.sort((a, b) => b.end - b.start - (a.end - a.start));
const s = (ms: number) => (ms / 1000).toFixed(1).padStart(6);
const fileWidth = Math.max(4, ...rows.map((r) => r.file.length));
console.log(`\n${"file".padEnd(fileWidth)}  lane       wall s  tests s  setup s  cpu s  tests  state`);
for (const r of rows) {
  const state = r.failed ? `FAILED ${r.failed}` : r.state;
  console.log(`${r.file.padEnd(fileWidth)}  ${r.lane.padEnd(9)} ${s(r.end - r.start)}   ${s(r.duration)}   ${s(r.prepare)} ${s((r.cpu ?? 0) * 1000)}  ${String(r.tests).padStart(5)}  ${state}`);
}
const failed = lanes.filter((l) => l.code !== 0);
for (const lane of lanes) {
  const files = rows.filter((r) => r.lane === lane.name);
  const laneCpu = Math.max(0, ...files.map((r) => r.laneCpu ?? 0));
  console.log(`${lane.name} lane: ${files.length} files, ${files.reduce((n, r) => n + r.tests, 0)} tests, ${s(lane.ended! - lane.started)} s, ${s(laneCpu * 1000)} CPU-s`);
}
// Every lane has exited and been waited for: this process's children times hold all their CPU.
console.log(`total: ${s(Date.now() - t0)} s wall, ${s(treeCpuSeconds(process.pid) * 1000)} CPU-s`);
if (recordFlag && !failed.length) recordSeconds(ROOT, rows);
for (const lane of failed) {
  console.log(`\n===== ${lane.name} lane failed: ${lane.log} =====`);
  process.stdout.write(readFileSync(lane.log, "utf8"));
}
process.exit(failed.length ? 1 : 0);
