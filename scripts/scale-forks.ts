/**
 * `npm run scale:forks`: does the cost per fork stay flat as forks grow? Each fork a CPU-light
 * `sleep 2`, 50 sandboxes at once, against one local stack:
 *  - 100 forks: one run, maxConcurrent 50;
 *  - 1,000 forks at maxConcurrent 50 in all: a run holds at most 100 forks, so ten runs of 100 at
 *    once, each with maxConcurrent 5 (the forks beyond 50 wait in their Orchestrators);
 *  - 1,000 forks queued in the Pool: the same ten runs with maxConcurrent 50 each, so 500 forks
 *    start and 450 of them wait in the Pool's queue for a sandbox;
 *  - `1000-run`: one run of 1,000 forks (MAX_FORKS_PER_RUN=1000), maxConcurrent 50: one
 *    Orchestrator holds every fork.
 * Prints makespan and the Worker runtime's CPU per fork (all of workerd: engine, SDK,
 * Orchestrators, Pool) for each, and each 1,000-fork CPU per fork against the 100-fork one. Exits
 * non-zero when a fork fails. Every 10 s it prints progress (sandboxes killed, the Pool's live
 * sandboxes and waiters, workerd's CPU), and each variant's peak workerd memory (sampled then). Environment:
 * SCALE_VARIANTS (default "100,1000,1000-pool,1000-run"; a variant named more than once runs that
 * many times, and the others are compared with the mean of the first one's runs so far: a single
 * 100-fork run's CPU per fork varies by a fifth between runs), SCALE_LIVE (50); PROFILE=1 profiles the Worker for 10 s, 30 s into the last variant;
 * PROFILE=120,700 profiles it for 20 s at each of those seconds into the last variant (early and late in a long run, to compare).
 * HEAP=1 reads the Worker isolate's live JS heap (after a full collection) at every progress line
 * and prints each variant's peak: every object of the Worker shares that isolate locally, so it
 * bounds one Orchestrator's memory from above (a deployed object has 128 MB).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { printTable } from "../bench/stats.ts";
import { createTestRepo } from "../test/support/test-repo.ts";
import type { RunView } from "../src/api/runs.ts";
import { followToEnd, forkyardClient, sandboxAdminClient } from "./api-client.ts";
import { freePort } from "./free-port.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, runCheck, scratchDir, startSandboxServer, startWorker, workerVars, type StackProcess } from "./local-stack.ts";
import { workerdUsage } from "./workerd-usage.ts";
import { connectInspector, liveHeapMiB, printProfile, startCpuProfile, type InspectorSession } from "./cpu-profile.ts";

const VARIANTS = (process.env.SCALE_VARIANTS ?? "100,1000,1000-pool,1000-run")
  .split(",")
  .map((name) => ({ name, size: Number.parseInt(name, 10), queueInPool: name.endsWith("-pool"), oneRun: name.endsWith("-run") }));
const LIVE = Number(process.env.SCALE_LIVE ?? 50);
/** The forks of a run in the split variants (the default MAX_FORKS_PER_RUN); `-run` variants use one run. */
const RUN_CAP = 100;

const root = scratchDir("scale-forks");
const processes: StackProcess[] = [];

async function main(): Promise<boolean> {
  const sandbox = await startSandboxServer({ dataDir: join(root, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [root], quiet: true });
  processes.push(sandbox);
  const vars = { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: {} }), MAX_LIVE_SANDBOXES: String(LIVE), MAX_FORKS_PER_RUN: "1000", SANDBOX_CREATE_RATE_PER_SECOND: "1000", LOG_LEVEL: "warn" };
  const inspectorPort = process.env.PROFILE || process.env.HEAP ? await freePort() : undefined;
  const worker = await startWorker({ stateDir: join(root, "state"), vars, quiet: true, inspectorPort });
  processes.push(worker);
  const api = forkyardClient(worker.url, LOCAL_API_TOKEN);
  const admin = sandboxAdminClient(sandbox.url, sandbox.adminKey);
  const heap = process.env.HEAP ? await connectInspector(inspectorPort!) : undefined;
  const repo = createTestRepo(join(root, "repo"));
  const task = { commands: ["sleep 2"] };
  await followToEnd(worker.url, LOCAL_API_TOKEN, (await api.createRun({ repo, task })).id, 60_000); // warm-up

  const rows: (string | number)[][] = [];
  /** CPU per fork of each variant's runs so far: a variant named twice (100,100,100,1000-run) is compared by its mean. */
  const perFork = new Map<string, number[]>();
  const mean = (name: string) => {
    const values = perFork.get(name)!;
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  let ok = true;
  for (const variant of VARIANTS) {
    const { size } = variant;
    const cpuBefore = workerdUsage(worker).cpuSeconds;
    const started = Date.now();
    const counts = variant.oneRun ? [size] : Array.from({ length: Math.ceil(size / RUN_CAP) }, (_, i) => Math.min(RUN_CAP, size - i * RUN_CAP));
    // LIVE forks at once in all (split across the runs), or every run up to LIVE (the rest wait in the Pool).
    const maxConcurrent = variant.queueInPool ? LIVE : Math.max(1, Math.floor(LIVE / counts.length));
    const runs = await Promise.all(counts.map((forks) => api.createRun({ repo, forks, maxConcurrent, task })));
    const peak = { rssMiB: workerdUsage(worker).rssMiB, heapMiB: heap ? await liveHeapMiB(heap) : 0 };
    const ticks: Tick[] = [{ forks: 0, cpu: cpuBefore }];
    const ticker = progress({ api, admin, worker, heap }, size, started, (await admin.stats()).killed, peak, ticks);
    const profiling = process.env.PROFILE && variant === VARIANTS.at(-1) ? profileWindows(inspectorPort!, process.env.PROFILE!) : null;
    const views = await Promise.all(runs.map((run) => followToEnd(worker.url, LOCAL_API_TOKEN, run.id, 3_600_000).then((r) => r.view)));
    clearInterval(ticker);
    await profiling;
    const makespanMs = Date.now() - started;
    const cpuMs = (workerdUsage(worker).cpuSeconds - cpuBefore) * 1000;
    ticks.push({ forks: size, cpu: workerdUsage(worker).cpuSeconds });
    // Away from the launch and the tail: forks 10–30 % and 70–90 % of the way through.
    const window = { first: windowCpuPerFork(ticks, 0.1 * size, 0.3 * size), last: windowCpuPerFork(ticks, 0.7 * size, 0.9 * size) };
    const succeeded = views.reduce((n, v) => n + v.totals.succeeded, 0);
    ok &&= succeeded === size;
    if (succeeded !== size) printFailures(variant.name, views);
    perFork.set(variant.name, [...(perFork.get(variant.name) ?? []), cpuMs / size]);
    const base = mean(VARIANTS[0]!.name);
    rows.push([
      variant.name,
      size,
      `${runs.length} x maxConcurrent ${maxConcurrent}`,
      (makespanMs / 1000).toFixed(1),
      ((Math.ceil(size / LIVE) * 2000) / 1000).toFixed(0),
      `${succeeded}/${size}`,
      (cpuMs / 1000).toFixed(1),
      (cpuMs / size).toFixed(0),
      `${(cpuMs / size / base).toFixed(2)}x`,
      window.first === null || window.last === null ? "-" : `${window.first.toFixed(0)} / ${window.last.toFixed(0)} (${(window.last / window.first).toFixed(2)}x)`,
      Math.round(peak.rssMiB),
      ...(heap ? [peak.heapMiB.toFixed(1)] : []),
    ]);
  }
  printTable(
    `Forks at scale: sleep 2 each, ${LIVE} sandboxes at once (the Pool's cap), runs of up to ${RUN_CAP} forks (one run in -run variants)`,
    ["variant", "forks", "runs", "makespan s", "sleeps alone s", "succeeded", "workerd CPU s", "CPU per fork ms", `vs ${VARIANTS[0]!.name} (mean so far)`, "10–30 % / 70–90 % ms", "peak workerd MiB", ...(heap ? ["peak isolate heap MiB"] : [])],
    rows,
  );
  heap?.close();
  console.log(`scale:forks: ${ok ? "PASS" : "FAIL"}`);
  return ok;
}

/** The forks that did not succeed, by status and error code, with one message of each. */
function printFailures(variant: string, views: RunView[]): void {
  const byKind = new Map<string, { count: number; example: string }>();
  for (const fork of views.flatMap((v) => v.forks)) {
    if (fork.status === "succeeded") continue;
    const kind = `${fork.status}${fork.error ? ` (${fork.error.code})` : ""}`;
    const entry = byKind.get(kind) ?? { count: 0, example: `fork ${fork.n}: ${fork.error?.message ?? "-"}` };
    entry.count++;
    byKind.set(kind, entry);
  }
  for (const [kind, { count, example }] of byKind) console.log(`${variant}: ${count} forks ${kind}, e.g. ${example.slice(0, 300)}`);
}

interface Stack {
  api: ReturnType<typeof forkyardClient>;
  admin: ReturnType<typeof sandboxAdminClient>;
  worker: StackProcess;
  /** HEAP=1: the Worker's isolate, for its live heap. */
  heap?: InspectorSession;
}

/** Forks done (each fork's two sandboxes killed: its own and its verification's) and workerd's CPU seconds, at a progress line. */
interface Tick {
  forks: number;
  cpu: number;
}

/**
 * workerd's CPU per fork (ms) while the run's forks from..to ended, from the progress lines around
 * that stretch: the same run early and late, so a cost that grows with the run's size shows as a
 * ratio above 1 without the noise between two runs. Null when no tick falls in the stretch.
 */
function windowCpuPerFork(ticks: Tick[], from: number, to: number): number | null {
  const start = ticks.filter((t) => t.forks <= from).at(-1);
  const end = ticks.find((t) => t.forks >= to);
  if (!start || !end || end.forks <= start.forks) return null;
  return ((end.cpu - start.cpu) * 1000) / (end.forks - start.forks);
}

/** Prints a line every 10 s: sandboxes killed since `killedBefore` (forks done), the Pool's sandboxes and queue, workerd's CPU; keeps `peak` memory and a tick per line. */
function progress({ api, admin, worker, heap }: Stack, size: number, started: number, killedBefore: number, peak: { rssMiB: number; heapMiB: number }, ticks: Tick[]): NodeJS.Timeout {
  let last = { at: Date.now(), cpu: workerdUsage(worker).cpuSeconds };
  return setInterval(async () => {
    const pool = await api.pool().catch(() => null);
    const usage = workerdUsage(worker);
    const now = { at: Date.now(), cpu: usage.cpuSeconds };
    peak.rssMiB = Math.max(peak.rssMiB, usage.rssMiB);
    const cpuPct = Math.round(((now.cpu - last.cpu) * 100_000) / (now.at - last.at));
    last = now;
    const done = await admin
      .stats()
      .then((stats) => stats.killed - killedBefore)
      .catch(() => "?");
    if (typeof done === "number") ticks.push({ forks: done / 2, cpu: now.cpu });
    const heapMiB = heap ? await liveHeapMiB(heap).catch(() => 0) : 0;
    peak.heapMiB = Math.max(peak.heapMiB, heapMiB);
    console.log(`  ${size} forks, ${Math.round((now.at - started) / 1000)} s: ${done} sandboxes killed; pool ${pool ? `${pool.live} live, ${pool.creating} creating, ${pool.waiting} waiting` : "?"}; workerd ${cpuPct}% CPU${heap ? `; isolate live heap ${heapMiB.toFixed(1)} MiB` : ""}`);
  }, 10_000);
}

/** PROFILE=1: 10 s, 30 s into the variant; PROFILE=<s>,<s>…: 20 s at each of those seconds into it. */
async function profileWindows(port: number, spec: string): Promise<void> {
  const at = spec === "1" ? [30] : spec.split(",").map(Number);
  const forMs = spec === "1" ? 10_000 : 20_000;
  const started = Date.now();
  for (const seconds of at) {
    await new Promise((r) => setTimeout(r, Math.max(0, started + seconds * 1000 - Date.now())));
    const profile = await startCpuProfile(port);
    await new Promise((r) => setTimeout(r, forMs));
    printProfile(`${forMs / 1000} s, ${seconds} s into the largest size`, await profile.stop(25));
  }
}

await runCheck("scale:forks", main, async () => {
  for (const p of processes.reverse()) await p.stop();
  rmSync(root, { recursive: true, force: true });
});
