/**
 * `npm run bench`: measured figures, printed as tables.
 *  1. Makespan of N forks (default N=100, maxConcurrent=20) in two variants side by side: CPU-heavy
 *     (150 ms injected create latency, one short command) and CPU-light (500 ms, `sleep 2`, so the
 *     sandboxes hardly compete with the runtime and the ratio shows orchestration): Forkyard under
 *     `wrangler dev` versus an in-memory promise pool doing the same sandbox calls, and versus the
 *     ideal ceil(N/C)·T_fork; then the control-plane calls per fork.
 *  2. Latency from POST /v1/runs to the first sandbox request (p50, p95).
 *  3. The durable agent loop versus the same scripted agent in a plain in-memory loop
 *     (50 turns, 100 ms model latency).
 *  4. The local Workflows engine alone (bench/engine-probe): time per trivial step of a workflow of
 *     200 steps, so the engine's cost can be told from Forkyard's.
 *  5. The warm pool: acquire latency warm vs cold with 500 ms create latency (E2B-like), and the
 *     hit rate of a 20-fork run with `min: 5` (max 5, and max 20: the target follows cold acquires).
 *  7. Prepared forks: 10 forks after a ~15 s prepare (sleeps plus a few MB of files), prepared once
 *     and forked against prepared in every fork (the backend's fork refused): makespan and sandbox-seconds.
 *  8. Evals: an eval of the bundled suite (4 tasks, scripted answers fixed per fork), N=1 vs N=4:
 *     pass@1, oracle, selected, cost per task and per solved task, time per task, the eval's wall time.
 *  6. Sessions: a message to a session whose sandbox was paused for idleness -> its first model
 *     call (p50, p95), against a session whose sandbox is still running; and what the paused
 *     sandbox costs while idle (sandbox USD and live sandboxes on the sandbox server).
 * Smoke mode (`npm run bench -- --smoke`, or BENCH_SMOKE=1; CI runs it): every section end to end
 * with small sizes (4 forks, a few samples, short sleeps), the same tables, in about a minute on a
 * 2-core machine (each part's time on stderr); the figures mean nothing, the point is that the bench still runs. In either mode a
 * fork or turn that failed, or a figure that could not be measured, is listed at the end and the
 * exit code is 1.
 * Environment: BENCH_FORKS, BENCH_CONCURRENCY, BENCH_CREATE_LATENCY_MS, BENCH_LATENCY_SAMPLES,
 * BENCH_AGENT_TURNS, BENCH_MODEL_LATENCY_MS, BENCH_ONLY (makespan | latency | agent | engine | warm | session | prepare | eval), BENCH_STATE_DIR;
 * PROFILE=1 also prints where the Worker's CPU went during each variant's Forkyard run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import type { RunView } from "../src/api/runs.ts";
import { followToEnd, forkyardClient, sandboxAdminClient, type RunEventRecord } from "../scripts/api-client.ts";
import { freePort } from "../scripts/free-port.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, ROOT, scratchDir, startSandboxServer, startWorker, workerVars, type StackProcess } from "../scripts/local-stack.ts";
import { createTestRepo } from "../test/support/test-repo.ts";
import { createEvalRepos } from "../test/support/eval-repos.ts";
import { evalBench } from "./eval-suite.ts";
import { startScriptedAnthropic } from "../test/support/anthropic-server.ts";
import { agentScript, durableAgentLoop, inMemoryAgentLoop } from "./agent-loop.ts";
import { runBaseline } from "./baseline-pool.ts";
import { stepTimeline } from "./step-timeline.ts";
import { median, percentile, printTable } from "./stats.ts";
import { printProfile, startCpuProfile } from "../scripts/cpu-profile.ts";
import { workerdUsage } from "../scripts/workerd-usage.ts";

const SMOKE = process.argv.includes("--smoke") || ["1", "true"].includes(process.env.BENCH_SMOKE ?? "");
/** A size: from its environment variable when set, else the full bench's or the smoke run's. */
const size = (env: string | undefined, full: number, smoke: number) => Number(env ?? (SMOKE ? smoke : full));
const N = size(process.env.BENCH_FORKS, 100, 4);
const C = size(process.env.BENCH_CONCURRENCY, 20, 2);
const CREATE_LATENCY_MS = Number(process.env.BENCH_CREATE_LATENCY_MS ?? 150);
const LATENCY_SAMPLES = size(process.env.BENCH_LATENCY_SAMPLES, 20, 3);
const AGENT_TURNS = size(process.env.BENCH_AGENT_TURNS, 50, 4);
const MODEL_LATENCY_MS = Number(process.env.BENCH_MODEL_LATENCY_MS ?? 100);
const ONLY = process.env.BENCH_ONLY;
/** Makespan: single-fork runs for T_fork, after a warm-up run that is not counted (none in a smoke run). */
const SINGLE_RUNS = size(undefined, 3, 1);
const WARMUP_RUNS = size(undefined, 1, 0);
/** The CPU-light variant's command (its sandboxes mostly wait). */
const LIGHT_COMMAND = SMOKE ? "sleep 0.5" : "sleep 2";
const ENGINE_STEPS = size(undefined, 200, 20);
const ENGINE_SAMPLES = size(undefined, 5, 2);
const WARM = SMOKE ? { forks: 4, min: 2, max: 4, createMs: 200 } : { forks: 20, min: 5, max: 20, createMs: 500 };
const SESSION_SAMPLES = size(process.env.BENCH_SESSION_SAMPLES, 10, 2);
const SESSION_IDLE_MS = size(undefined, 2000, 200);
const PREPARE = SMOKE
  ? { forks: 2, seconds: 0.5, commands: ["sleep 0.5", "head -c 400000 /dev/urandom > deps.bin"] }
  : { forks: 10, seconds: 15, commands: ["sleep 14", "head -c 4000000 /dev/urandom > deps.bin && sleep 1"] };
const COMMAND = "echo done > result.txt";
const ANTHROPIC_KEY = "sk-ant-bench-0000";

const forkDurations = (view: RunView) => view.forks.filter((f) => f.startedAt && f.finishedAt).map((f) => Date.parse(f.finishedAt!) - Date.parse(f.startedAt!));
const seconds = (ms: number) => (ms / 1000).toFixed(2);

const benchStarted = Date.now();
const wants = (section: string) => !ONLY || ONLY === section;
const root = scratchDir("bench");
const processes: StackProcess[] = [];
const closers: (() => Promise<void>)[] = [];
/** What went wrong without stopping the bench (a failed fork, a figure with no samples): exit code 1. */
const problems: string[] = [];
const check = (ok: boolean, problem: string) => void (ok || problems.push(problem));
let stopping: Promise<void> | undefined;
/** Stops everything the bench started (once): its servers' process groups, in-process servers, scratch files. */
const stopAll = () =>
  (stopping ??= (async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const close of closers) await close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  })());
/** Stops what the bench started, then exits (a signal, its parent gone, a smoke run that hangs). */
let exiting = false;
const stopAndExit = (why: string, code: number) => {
  if (exiting) return;
  exiting = true;
  console.error(`\nbench: ${why}, stopping what it started`);
  void stopAll().finally(() => process.exit(code));
};
// A signal (Ctrl-C, a CI job's SIGTERM; npm forwards SIGINT and SIGTERM, the script execs) stops
// what the bench started before it exits; a SIGKILL leaves that to the orphan guard
// (scripts/orphan-guard.ts).
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => stopAndExit(signal, 128 + constants.signals[signal]));
// Its parent gone (npm or a shell killed): the bench stops too rather than measure for no one.
const parent = process.ppid;
setInterval(() => process.ppid !== parent && stopAndExit("its parent process is gone", 1), 500).unref();
if (SMOKE) {
  // A smoke run that hangs fails instead (CI).
  setTimeout(() => stopAndExit("a smoke run not done after 5 minutes", 1), 5 * 60_000).unref();
  console.log("bench: smoke mode (small sizes: the figures below only show that every section runs)");
}
/** In a smoke run, how long each part took (stderr; the tables stay the same). */
let partStarted = Date.now();
const took = (part: string) => {
  if (SMOKE) console.error(`bench --smoke: ${part} ${((Date.now() - partStarted) / 1000).toFixed(1)} s`);
  partStarted = Date.now();
};
/** Every started process, as it spawns (one spawned while stopping is stopped at once). */
const track = (p: StackProcess) => {
  processes.push(p);
  if (stopping) void p.stop();
};
try {
  // The engine probe (bench/engine-probe, its own tiny Worker) starts first, beside the rest, and
  // idles until its section.
  const probeStarting = wants("engine") ? startWorker({ stateDir: join(root, "probe-state"), vars: {}, quiet: true, config: join(ROOT, "bench", "engine-probe", "wrangler.toml"), onSpawn: track }) : undefined;
  probeStarting?.catch(() => {}); // awaited below
  const anthropic = await startScriptedAnthropic({ apiKey: ANTHROPIC_KEY });
  closers.push(() => anthropic.close());
  const sandbox = await startSandboxServer({ dataDir: join(root, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [root], quiet: true, onSpawn: track });
  const vars = {
    ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: {} }),
    MAX_LIVE_SANDBOXES: String(Math.max(100, C * 2)),
    SANDBOX_CREATE_RATE_PER_SECOND: "1000",
    LOG_LEVEL: "warn",
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    ANTHROPIC_BASE_URL: anthropic.url,
  };
  const inspectorPort = process.env.PROFILE ? await freePort() : undefined;
  // BENCH_STATE_DIR (e.g. under /dev/shm) puts the runtime's SQLite files elsewhere: on tmpfs a
  // commit's fsync, which blocks the local runtime's only thread, costs nothing.
  const stateDir = process.env.BENCH_STATE_DIR ? mkdtempSync(join(process.env.BENCH_STATE_DIR, "forkyard-bench-")) : join(root, "state");
  closers.push(async () => rmSync(stateDir, { recursive: true, force: true }));
  const worker = await startWorker({ stateDir, vars, quiet: true, inspectorPort, onSpawn: track });
  const probe = await probeStarting;
  const api = forkyardClient(worker.url, LOCAL_API_TOKEN);
  const admin = sandboxAdminClient(sandbox.url, sandbox.adminKey);
  const repo = createTestRepo(join(root, "repo"));
  const connection = { apiKey: LOCAL_E2B_API_KEY, apiUrl: sandbox.url, sandboxUrl: sandbox.url };

  took("start-up");
  if (wants("makespan")) await makespan().then(() => took("makespan"));
  if (wants("latency")) await postToFirstSandbox().then(() => took("latency"));
  if (wants("agent")) await agentOverhead().then(() => took("agent loop"));
  if (probe) await engineProbe(probe).then(() => took("engine probe"));
  if (wants("warm")) await warmPool().then(() => took("warm pool"));
  if (wants("session")) await sessionResume().then(() => took("sessions"));
  if (wants("prepare")) await preparedForks().then(() => took("prepared forks"));
  if (wants("eval")) await evalSuite().then(() => took("eval"));

  async function evalSuite(): Promise<void> {
    await admin.reset();
    await admin.latency({});
    const suiteRoot = createEvalRepos(join(root, "evals"));
    const { header, rows, wallMs } = await evalBench({ baseUrl: worker.url, token: LOCAL_API_TOKEN, suiteRoot, setScript: (turns) => anthropic.setScript(turns), check, smoke: SMOKE });
    printTable(`Evals: the bundled suite (${SMOKE ? "2 tasks, N=1 vs N=2" : "4 tasks, N=1 vs N=4"}; scripted answers: the figures test the plumbing, not a model); the whole eval took ${seconds(wallMs)} s`, header, rows);
  }

  async function preparedForks(): Promise<void> {
    const FORKS = PREPARE.forks;
    const prepare = { commands: PREPARE.commands };
    // The Worker's default E2B prices (PRICE_VCPU_SECOND, PRICE_GIB_SECOND; the bench sets neither).
    const perSecond = (view: RunView) => view.sandbox.vcpu * 0.000014 + view.sandbox.memoryGib * 0.0000045;
    const rows: (string | number)[][] = [];
    const measured: Record<string, number> = {};
    for (const [name, faults] of [
      ["prepared once, forked", []],
      ["prepared in every fork", [{ op: "fork", status: 501 }]],
    ] as const) {
      await admin.reset();
      await admin.latency({});
      await admin.faults([...faults]);
      const t0 = Date.now();
      const run = await api.createRun({ repo, forks: FORKS, maxConcurrent: FORKS, prepare, task: { commands: ["test -s deps.bin"] } });
      const { view } = await followToEnd(worker.url, LOCAL_API_TOKEN, run.id, 300_000);
      const makespan = Date.now() - t0;
      const sandboxSeconds = view.totals.costUsd.sandbox / perSecond(view);
      measured[name] = sandboxSeconds;
      check(view.totals.succeeded === FORKS, `prepared forks, ${name}: ${view.totals.succeeded}/${FORKS} forks succeeded`);
      const stats = await admin.stats();
      rows.push([name, view.prepared?.status ?? "-", `${view.totals.succeeded}/${FORKS}`, seconds(makespan), sandboxSeconds.toFixed(1), stats.calls.create ?? 0, stats.calls.fork ?? 0]);
    }
    await admin.faults([]);
    const [forked, perFork] = [measured["prepared once, forked"]!, measured["prepared in every fork"]!];
    printTable(`Prepared forks: ${FORKS} forks after a ~${PREPARE.seconds} s prepare; sandbox-seconds from the runs' sandbox cost (the prepared sandbox included)`, ["variant", "prepared", "forks ok", "makespan s", "sandbox-s", "creates", "fork calls"], rows);
    printTable("… forked / per fork", ["sandbox-seconds ratio"], [[(forked / perFork).toFixed(2)]]);
  }

  async function sessionResume(): Promise<void> {
    const SAMPLES = SESSION_SAMPLES;
    await admin.latency({});
    const session = await api.createSession({ repo, idleSeconds: 3600 });
    const waitFor = async (what: string, probe: (v: Awaited<ReturnType<typeof api.getSession>>) => boolean) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const view = await api.getSession(session.id);
        if (probe(view)) return view;
        if (Date.now() > deadline) throw new Error(`session: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor("setup", (v) => v.status === "idle");
    /** POST message -> the model server's first call of that turn (a scripted reply notes when it was asked). */
    const firstCallMs = async (n: number): Promise<number> => {
      let calledAt = 0;
      anthropic.setScript([() => ((calledAt = Date.now()), { content: [{ type: "text", text: "ok" }] })]);
      const t0 = Date.now();
      await api.sendMessage(session.id, `message ${n}`);
      await waitFor(`turn ${n}`, (v) => v.turns[n - 1]?.status === "succeeded");
      return calledAt - t0;
    };
    const running: number[] = [];
    const resumed: number[] = [];
    const idleUsd: number[] = [];
    let n = 0;
    for (let i = 0; i < SAMPLES; i++) {
      running.push(await firstCallMs(++n));
      const paused = await api.pauseSession(session.id);
      await new Promise((r) => setTimeout(r, SESSION_IDLE_MS));
      const later = await api.getSession(session.id);
      idleUsd.push(later.costUsd.sandbox - paused.costUsd.sandbox);
      if ((await admin.stats()).live !== 0) throw new Error("session: a paused sandbox counted as live");
      resumed.push(await firstCallMs(++n));
    }
    await api.destroySession(session.id);
    printTable(`Sessions: POST message -> first model call, ms (${SAMPLES} samples each; local sandbox server, no injected latency)`, ["sandbox", "p50", "p95", "max"], [
      ["running (idle < idleSeconds)", median(running), percentile(running, 95), Math.max(...running)],
      ["paused (resumed by the turn)", median(resumed), percentile(resumed, 95), Math.max(...resumed)],
    ]);
    printTable(`Sessions: cost of a paused sandbox over ${SESSION_IDLE_MS / 1000} s of idleness`, ["sandbox USD (max over samples)", "live sandboxes while paused"], [[Math.max(...idleUsd), 0]]);
  }

  async function warmPool(): Promise<void> {
    const FORKS = WARM.forks;
    await admin.latency({ create: WARM.createMs });
    const rows: (string | number)[][] = [];
    for (const [name, pool] of [
      ["no warm pool", {}],
      [`min ${WARM.min}, max ${WARM.min}`, { base: { min: WARM.min, max: WARM.min, idleSeconds: 600 } }],
      [`min ${WARM.min}, max ${WARM.max}`, { base: { min: WARM.min, max: WARM.max, idleSeconds: 600 } }],
    ] as const) {
      await api.configurePool(pool);
      const ready = Date.now() + 60_000;
      const min = "base" in pool ? pool.base.min : 0;
      // Settled: at least min ready and nothing being created (the target may have grown past min).
      const settled = async () => {
        const warm = (await api.pool()).templates.base?.warm;
        return (warm?.running ?? 0) >= min && (warm?.creating ?? 0) === 0;
      };
      while (!(await settled()) && Date.now() < ready) await new Promise((r) => setTimeout(r, 200));
      const before = (await api.pool()).templates.base;
      await admin.reset();
      await admin.latency({ create: WARM.createMs });
      const t0 = Date.now();
      const run = await api.createRun({ repo, forks: FORKS, maxConcurrent: FORKS, task: { commands: ["true"] } });
      const { view } = await followToEnd(worker.url, LOCAL_API_TOKEN, run.id, 120_000);
      const makespan = Date.now() - t0;
      check(view.totals.succeeded === FORKS, `warm pool, ${name}: ${view.totals.succeeded}/${FORKS} forks succeeded`);
      const after = (await api.pool()).templates.base!;
      const hits = after.hits - (before?.hits ?? 0);
      const misses = after.misses - (before?.misses ?? 0);
      const creates = (await admin.stats()).calls.create ?? 0;
      rows.push([name, `${view.totals.succeeded}/${FORKS}`, seconds(makespan), hits, "base" in pool ? `${Math.round((100 * hits) / FORKS)} %` : "", creates, after.acquireMs.warm.p50 ?? "", after.acquireMs.warm.p95 ?? "", after.acquireMs.cold.p50 ?? "", after.acquireMs.cold.p95 ?? ""]);
    }
    await api.configurePool({});
    await admin.latency({});
    printTable(
      `Warm pool: ${FORKS} forks at once, ${WARM.createMs} ms create latency; acquire ms from the Pool's own samples (cumulative over the rows)`,
      ["pool", "forks ok", "makespan s", "warm hits", "hit rate", "creates (refills too)", "warm p50", "warm p95", "cold p50", "cold p95"],
      rows,
    );
  }

  async function engineProbe(probe: StackProcess): Promise<void> {
    const runMs = async (steps: number) => {
      const res = await fetch(`${probe.url}/run?steps=${steps}`, { method: "POST" });
      const body = (await res.json()) as { ms?: number; error?: string };
      if (body.ms === undefined) throw new Error(`engine probe: ${body.error}`);
      return body.ms;
    };
    for (let i = 0; i < Math.min(3, ENGINE_SAMPLES); i++) await runMs(20);
    const samples = async (steps: number) => {
      const ms: number[] = [];
      for (let i = 0; i < ENGINE_SAMPLES; i++) ms.push(await runMs(steps));
      return ms;
    };
    const cpu = () => workerdUsage(probe).cpuSeconds * 1000;
    let cpuBefore = cpu();
    const empty = median(await samples(0));
    const emptyCpu = (cpu() - cpuBefore) / ENGINE_SAMPLES;
    cpuBefore = cpu();
    const full = median(await samples(ENGINE_STEPS));
    const fullCpu = (cpu() - cpuBefore) / ENGINE_SAMPLES;
    printTable(`Local Workflows engine alone: a workflow of ${ENGINE_STEPS} trivial steps (median of ${ENGINE_SAMPLES}; runtime CPU: mean)`, ["0 steps ms", `${ENGINE_STEPS} steps ms`, "per step ms", "runtime CPU per step ms"], [
      [empty, full, ((full - empty) / ENGINE_STEPS).toFixed(2), ((fullCpu - emptyCpu) / ENGINE_STEPS).toFixed(2)],
    ]);
    // The runtime's Durable Object costs: an RPC, its commit, a SQLite write.
    const rpcMs = async (calls: number, writes: number) => {
      const ms: number[] = [];
      const before = cpu();
      for (let i = 0; i < ENGINE_SAMPLES; i++) ms.push(((await (await fetch(`${probe.url}/rpc?calls=${calls}&writes=${writes}`, { method: "POST" })).json()) as { ms: number }).ms);
      return [median(ms) / calls, (cpu() - before) / (ENGINE_SAMPLES * calls)];
    };
    await rpcMs(20, 1);
    const rows = [];
    for (const writes of [0, 1, 10]) rows.push([writes, ...(await rpcMs(ENGINE_STEPS, writes)).map((ms) => ms.toFixed(2))]);
    printTable(`Local Durable Object alone: ${ENGINE_STEPS} calls one after another, each inserting k rows (median of ${ENGINE_SAMPLES}; runtime CPU: mean)`, ["rows per call", "ms per call", "runtime CPU per call ms"], rows);
  }

  async function agentOverhead(): Promise<void> {
    await admin.reset();
    anthropic.setFaults({ latencyMs: MODEL_LATENCY_MS });
    anthropic.setScript(agentScript(AGENT_TURNS));
    const durable = await durableAgentLoop(api, worker.url, LOCAL_API_TOKEN, repo, AGENT_TURNS);
    check(durable.modelCalls === AGENT_TURNS, `agent loop: ${durable.modelCalls}/${AGENT_TURNS} model calls in the durable loop`);
    anthropic.reset();
    anthropic.setFaults({ latencyMs: MODEL_LATENCY_MS });
    anthropic.setScript(agentScript(AGENT_TURNS));
    const memoryMs = await inMemoryAgentLoop({ anthropic, apiKey: ANTHROPIC_KEY, sandbox: connection, turns: AGENT_TURNS });
    printTable(`Agent loop: ${AGENT_TURNS} turns (${AGENT_TURNS - 1} bash tool calls), ${MODEL_LATENCY_MS} ms model latency`, ["loop", "time s", "per turn ms", "model calls"], [
      ["Forkyard (a Workflow step per model and tool call)", seconds(durable.loopMs), (durable.loopMs / AGENT_TURNS).toFixed(0), durable.modelCalls],
      ["in-memory loop (same calls, no checkpoints)", seconds(memoryMs), (memoryMs / AGENT_TURNS).toFixed(0), AGENT_TURNS],
      ["ratio durable / in-memory", `${(durable.loopMs / memoryMs).toFixed(2)}x`, "", ""],
    ]);
  }

  /** One makespan variant: Forkyard and the in-memory pool doing the same sandbox calls. */
  async function makespanOf(variant: { createLatencyMs: number; command: string }) {
    // Warm-up (first requests compile the Worker's modules), then T_fork: single-fork runs in isolation.
    await admin.latency({ create: variant.createLatencyMs });
    const single: number[] = [];
    const singleEvents: RunEventRecord[] = [];
    for (let i = 1 - WARMUP_RUNS; i <= SINGLE_RUNS; i++) {
      const run = await api.createRun({ repo, task: { commands: [variant.command] } });
      const { view, events } = await followToEnd(worker.url, LOCAL_API_TOKEN, run.id, 60_000);
      check(view.totals.succeeded === 1, `makespan, a single fork (${variant.command}): ${view.forks[0]?.status ?? "no fork"}`);
      if (i > 0) single.push(...forkDurations(view));
      if (i > 0) singleEvents.push(...events);
    }
    const tFork = median(single);

    await admin.reset();
    await admin.latency({ create: variant.createLatencyMs });
    const profile = inspectorPort ? await startCpuProfile(inspectorPort) : null;
    const started = Date.now();
    const run = await api.createRun({ repo, forks: N, maxConcurrent: C, task: { commands: [variant.command] } });
    const { view, events } = await followToEnd(worker.url, LOCAL_API_TOKEN, run.id, 30 * 60_000);
    if (profile) {
      printProfile(`during the Forkyard run (${variant.command})`, await profile.stop());
    }
    const forkyardMs = Math.max(...view.forks.map((f) => Date.parse(f.finishedAt ?? "0"))) - started;
    check(view.totals.succeeded === N, `makespan (${variant.command}): ${view.totals.succeeded}/${N} forks succeeded`);
    const stats = await admin.stats();
    const baseline = await runBaseline({ forks: N, concurrency: C, repo, command: variant.command, connection });
    const unverified = await runBaseline({ forks: N, concurrency: C, repo, command: variant.command, connection, verify: false });
    return { tFork, view, forkyardMs, stats, baseline, unverified, ideal: Math.ceil(N / C) * tFork, timeline: { alone: stepTimeline(singleEvents), inRun: stepTimeline(events) } };
  }

  async function makespan(): Promise<void> {
    const variants = [
      { name: "CPU-heavy", createLatencyMs: CREATE_LATENCY_MS, command: COMMAND },
      { name: "CPU-light", createLatencyMs: 500, command: LIGHT_COMMAND },
    ];
    const rows: (string | number)[][] = [];
    const calls: (string | number)[][] = [];
    const timelines: { name: string; alone: (string | number)[][]; inRun: (string | number)[][]; inMemory: Record<string, number[]> }[] = [];
    for (const variant of variants) {
      const m = await makespanOf(variant);
      timelines.push({ name: variant.name, ...m.timeline, inMemory: m.baseline.phases });
      rows.push([
        `${variant.name} (${variant.createLatencyMs} ms create, ${variant.command})`,
        seconds(m.forkyardMs),
        seconds(m.baseline.makespanMs),
        `${(m.forkyardMs / m.baseline.makespanMs).toFixed(2)}x`,
        seconds(median(forkDurations(m.view))),
        seconds(median(m.baseline.forkMs)),
        `${(m.forkyardMs / m.ideal).toFixed(2)}x`,
        `${m.view.totals.succeeded}/${N}`,
        m.stats.peakLive,
        seconds(m.unverified.makespanMs),
        `${(m.forkyardMs / m.unverified.makespanMs).toFixed(2)}x`,
      ]);
      const per = (op: string) => ((m.stats.calls[op] ?? 0) / N).toFixed(2);
      calls.push([variant.name, per("create"), per("kill"), per("connect"), per("get"), per("list")]);
    }
    printTable(
      `Makespan: N=${N} forks, maxConcurrent=${C}: Forkyard (wrangler dev, durable) vs an in-memory promise pool doing the same sandbox calls ` +
        "(each fork verified in a second sandbox, as Forkyard does); last columns: the pool without the verification sandbox (what verification costs)",
      ["variant", "Forkyard s", "in-memory s", "ratio", "fork median s", "in-memory fork median s", "Forkyard vs ideal", "forks ok", "peak live", "in-memory unverified s", "ratio to unverified"],
      rows,
    );
    printTable("Control-plane calls per fork (Forkyard run, from the sandbox server's counters)", ["variant", "create", "kill", "connect", "get", "list"], calls);
    for (const t of timelines) {
      const inRun = new Map(t.inRun.map(([step, ...rest]) => [step, rest]));
      printTable(
        `Where a fork's time goes, ${t.name}: median ms before each step starts (engine checkpoint, scheduling, reports) and inside it; a fork alone vs in the ${N}-fork run, and the in-memory pool's same call in its run`,
        ["step", "before, alone", "inside, alone", `before, ${N} forks`, `inside, ${N} forks`, "in-memory call"],
        t.alone.map((row) => {
          const call = t.inMemory[String(row[0])];
          return [...row, ...(inRun.get(row[0]!) ?? ["", ""]), call ? median(call) : ""];
        }),
      );
    }
  }

  async function postToFirstSandbox(): Promise<void> {
  // POST -> first sandbox request, no injected latency.
  await admin.latency({});
  const latencies: number[] = [];
  // The path, from the run's events: POST -> run recorded, then (side by side) the Pool's create
  // request for the fork's lease, and the fork's instance: its first step, its acquire step.
  const legs: number[][] = [[], [], [], []];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    await admin.reset();
    const t0 = Date.now();
    const r = await api.createRun({ repo, task: { commands: ["true"] } });
    const { events } = await followToEnd(worker.url, LOCAL_API_TOKEN, r.id, 60_000);
    const calls = await admin.calls("create");
    const first = calls[0];
    check(!!first, "POST -> first sandbox: a run made no create request");
    if (!first) continue;
    latencies.push(first.at - t0);
    const at = (type: string, step?: string) => Date.parse(events.find((e) => e.type === type && (step === undefined || e.step === step))?.at ?? "");
    const recorded = at("run.created");
    [recorded - t0, first.at - recorded, at("step.started", "budget") - recorded, at("step.started", "acquire-sandbox") - recorded].forEach((ms, leg) => legs[leg]!.push(ms));
  }
  printTable(`POST /v1/runs -> first sandbox create request (${latencies.length} runs of 1 fork)`, ["p50 ms", "p95 ms", "min ms", "max ms"], [
    [percentile(latencies, 50), percentile(latencies, 95), Math.min(...latencies), Math.max(...latencies)],
  ]);
  printTable("… its legs, p50 ms (from the run's events)", ["POST -> run recorded", "run recorded -> create request", "run recorded -> fork's first step", "run recorded -> acquire step"], [legs.map((l) => median(l))]);
  }
} catch (err) {
  if (!exiting) throw err; // what was interrupted fails; stopAndExit exits
} finally {
  await stopAll();
}
if (!exiting) {
  console.log(`\nbench${SMOKE ? " --smoke" : ""}: ${((Date.now() - benchStarted) / 1000).toFixed(0)} s in all`);
  if (problems.length) {
    console.log(`\nbench: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    process.exitCode = 1;
  }
}
