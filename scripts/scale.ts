/**
 * `npm run scale`: a run whose state is large — by default 100 forks × 100 commands × 4 KiB of
 * output each — against the local stack. It checks that the run completes and that reading it
 * stays prompt and bounded while it runs and after: GET of the run (size and latency), GET of one
 * fork, a new SSE watcher (its whole log), and cancelling a second run of the same size midway
 * (the answer, and the time until its last sandbox is killed).
 * Prints a table (and workerd's peak memory); exits non-zero when the run fails or a read is not
 * prompt. Environment: SCALE_FORKS, SCALE_COMMANDS, SCALE_CONCURRENCY; PROFILE=1 prints where the
 * Worker's CPU went during the first half of the run.
 */
import { join } from "node:path";
import type { RunView } from "../src/api/runs.ts";
import { printTable } from "../bench/stats.ts";
import { printProfile, startCpuProfile } from "./cpu-profile.ts";
import { forkyardClient, sandboxAdminClient, waitForTerminal } from "./api-client.ts";
import { freePort } from "./free-port.ts";
import { workerdUsage } from "./workerd-usage.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, runCheck, scratchDir, startSandboxServer, startWorker, workerVars, type StackProcess } from "./local-stack.ts";
import { createTestRepo } from "../test/support/test-repo.ts";
import { rmSync } from "node:fs";

const FORKS = Number(process.env.SCALE_FORKS ?? 100);
const COMMANDS = Number(process.env.SCALE_COMMANDS ?? 100);
const CONCURRENCY = Number(process.env.SCALE_CONCURRENCY ?? 50);
/** A read slower than this is not "prompt". */
const PROMPT_MS = 5_000;

const root = scratchDir("scale");
const processes: StackProcess[] = [];
const auth = { Authorization: `Bearer ${LOCAL_API_TOKEN}` };

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function main(): Promise<boolean> {
  const sandbox = await startSandboxServer({ dataDir: join(root, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [root], quiet: true });
  processes.push(sandbox);
  const vars = { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: {} }), MAX_LIVE_SANDBOXES: String(CONCURRENCY * 2), SANDBOX_CREATE_RATE_PER_SECOND: "1000", LOG_LEVEL: "warn" };
  const inspectorPort = process.env.PROFILE ? await freePort() : undefined;
  const worker = await startWorker({ stateDir: join(root, "state"), vars, quiet: true, inspectorPort });
  processes.push(worker);
  const api = forkyardClient(worker.url, LOCAL_API_TOKEN);
  const repo = createTestRepo(join(root, "repo"));
  const commands = Array.from({ length: COMMANDS }, () => "head -c 4096 /dev/zero | tr '\\0' x");
  const body = { repo, forks: FORKS, maxConcurrent: CONCURRENCY, task: { commands }, timeoutSeconds: 3600 };

  const getRun = (id: string) => timed(async () => (await fetch(`${worker.url}/v1/runs/${id}`, { headers: auth })).text());
  const getFork = (id: string) => timed(async () => (await fetch(`${worker.url}/v1/runs/${id}/forks/1`, { headers: auth })).text());
  /** A new watcher: time to its first event, and (for an ended run) to the end of its log. */
  const watch = (id: string, untilEnd: boolean) =>
    timed(async () => {
      const res = await fetch(`${worker.url}/v1/runs/${id}/events`, { headers: auth });
      const reader = res.body!.getReader();
      let bytes = 0;
      let firstEventMs = 0;
      const started = performance.now();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        if (!firstEventMs && new TextDecoder().decode(value).includes("\nevent: ")) firstEventMs = performance.now() - started;
        if (!untilEnd && firstEventMs) break;
      }
      await reader.cancel().catch(() => undefined);
      return { bytes, firstEventMs };
    });

  const rssBefore = workerdUsage(worker).rssMiB;
  let rssPeak = rssBefore;
  const rows: (string | number)[][] = [];
  const slow: string[] = [];
  const record = (what: string, ms: number, bytes: number) => {
    rows.push([what, ms.toFixed(0), (bytes / 1024).toFixed(0)]);
    if (ms > PROMPT_MS) slow.push(what);
  };

  const started = Date.now();
  const profile = inspectorPort ? await startCpuProfile(inspectorPort) : null;
  const run = await api.createRun(body);
  // Reads while it runs: once about half of its commands are done.
  for (;;) {
    await new Promise((r) => setTimeout(r, 3000));
    rssPeak = Math.max(rssPeak, workerdUsage(worker).rssMiB);
    const { ms, value } = await getRun(run.id);
    const view = JSON.parse(value) as RunView;
    const done = view.forks.reduce((n, f) => n + f.commands.length, 0);
    if (done >= (FORKS * COMMANDS) / 2 || ["completed", "failed"].includes(view.status)) {
      if (profile) {
        printProfile("first half of the run", await profile.stop());
      }
      record(`GET run, ${done} of ${FORKS * COMMANDS} commands done`, ms, value.length);
      const fork = await getFork(run.id);
      record("GET one fork (whole tails), mid-run", fork.ms, fork.value.length);
      const watcher = await watch(run.id, false);
      record("new SSE watcher: first event, mid-run", watcher.value.firstEventMs, watcher.value.bytes);
      break;
    }
  }
  const final = await waitForTerminal(api, run.id, 3_600_000);
  const runMs = Date.now() - started;
  rssPeak = Math.max(rssPeak, workerdUsage(worker).rssMiB);
  const after = await getRun(run.id);
  record("GET run, ended", after.ms, after.value.length);
  const replay = await watch(run.id, true);
  record("new SSE watcher: the whole log, ended", replay.ms, replay.value.bytes);

  // A second run of the same size, cancelled once a fifth of it is done.
  const second = await api.createRun(body);
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const view = JSON.parse((await getRun(second.id)).value) as RunView;
    if (view.forks.reduce((n, f) => n + f.commands.length, 0) >= (FORKS * COMMANDS) / 5) break;
  }
  const cancel = await timed(async () => (await fetch(`${worker.url}/v1/runs/${second.id}/cancel`, { method: "POST", headers: auth })).text());
  record("POST cancel, a fifth done", cancel.ms, cancel.value.length);
  // The kills follow the answer: time until no sandbox of the run is left, from the cancel.
  const admin = sandboxAdminClient(sandbox.url, sandbox.adminKey);
  const killed = await timed(async () => {
    while ((await admin.stats()).live > 0) await new Promise((r) => setTimeout(r, 50));
  });
  record("every sandbox killed, after the cancel began", cancel.ms + killed.ms, 0);
  rssPeak = Math.max(rssPeak, workerdUsage(worker).rssMiB);

  const ok = final.status === "completed" && final.forks.every((f) => f.status === "succeeded") && slow.length === 0;
  printTable(`Scale: ${FORKS} forks × ${COMMANDS} commands × 4 KiB of output, maxConcurrent ${CONCURRENCY} (run took ${(runMs / 1000).toFixed(0)} s)`, ["read", "ms", "KiB"], rows);
  printTable("Worker runtime memory (workerd RSS)", ["before MiB", "peak MiB"], [[rssBefore.toFixed(0), rssPeak.toFixed(0)]]);
  console.log(`scale: ${ok ? "PASS" : "FAIL"} — run ${final.status}, ${final.forks.filter((f) => f.status === "succeeded").length}/${FORKS} forks succeeded${slow.length ? `; slower than ${PROMPT_MS} ms: ${slow.join(", ")}` : ""}`);
  return ok;
}

await runCheck("scale", main, async () => {
  for (const p of processes.reverse()) await p.stop();
  rmSync(root, { recursive: true, force: true });
});
