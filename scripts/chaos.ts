/**
 * `npm run chaos`: proves a run survives a crash of the Worker runtime. Starts the local stack,
 * posts a 10-fork run of slow commands, kill -9s every wrangler/workerd process mid-run, restarts
 * the Worker on the same persisted state, and checks that every fork completes, that exactly one
 * sandbox was created per fork (re-run acquire steps found theirs), and that none is left alive.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createTestRepo } from "../test/support/test-repo.ts";
import { forkyardClient, sandboxAdminClient, waitForTerminal } from "./api-client.ts";
import { freePort } from "./free-port.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, ROOT, startSandboxServer, startWorker, workerVars, type StackProcess } from "./local-stack.ts";

const FORKS = 10;
const root = mkdtempSync(join(ROOT, ".test-data", "chaos-"));
mkdirSync(root, { recursive: true });
const stateDir = join(root, "state");
const processes: StackProcess[] = [];

async function main(): Promise<boolean> {
  const sandbox = await startSandboxServer({ port: await freePort(), dataDir: join(root, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, quiet: true });
  processes.push(sandbox);
  const vars = { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: {} }), RECONCILE_INTERVAL_SECONDS: "2", STALE_FORK_SECONDS: "4" };
  const workerPort = await freePort();
  let worker = await startWorker({ port: workerPort, stateDir, vars, quiet: true });
  processes.push(worker);

  const admin = sandboxAdminClient(sandbox.url, LOCAL_E2B_API_KEY);
  const api = forkyardClient(worker.url, LOCAL_API_TOKEN);
  await admin.reset();
  const repo = createTestRepo(join(root, "repo"));
  const run = await api.createRun({
    repo,
    forks: FORKS,
    maxConcurrent: FORKS,
    task: { commands: ["sleep 2", 'echo "fork $FORKYARD_FORK" > out.txt', "sleep 2"] },
    check: "test -s out.txt",
  });

  // Crash while forks are in the middle of their steps.
  const started = Date.now();
  for (;;) {
    const view = await api.getRun(run.id);
    if (view.forks.filter((f) => f.steps.some((s) => s.name.startsWith("command-"))).length >= 3) break;
    if (Date.now() - started > 60_000) throw new Error("forks never reached their commands");
    await new Promise((r) => setTimeout(r, 100));
  }
  const killedAt = Date.now() - started;
  await worker.kill9();
  processes.splice(processes.indexOf(worker), 1);
  await new Promise((r) => setTimeout(r, 1000));

  const restartedAt = Date.now();
  worker = await startWorker({ port: workerPort, stateDir, vars, quiet: true });
  processes.push(worker);
  const view = await waitForTerminal(api, run.id, 180_000);
  const recoveredMs = Date.now() - restartedAt;
  // Release is the last step before report; give the final kills a moment to land.
  let stats = await admin.stats();
  for (let i = 0; i < 20 && stats.live > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    stats = await admin.stats();
  }

  const completed = view.forks.filter((f) => f.status === "succeeded").length;
  const reruns = view.forks.reduce((sum, f) => sum + f.steps.filter((s) => s.attempts > 1).length, 0);
  const ok = view.status === "completed" && completed === FORKS && stats.created === FORKS && stats.live === 0;
  console.log(
    `chaos: ${ok ? "PASS" : "FAIL"} — forks completed ${completed}/${FORKS}, sandboxes created ${stats.created} (want ${FORKS}), ` +
      `live at end ${stats.live} (want 0), steps re-run after the crash ${reruns}, killed at +${(killedAt / 1000).toFixed(1)} s, ` +
      `finished ${(recoveredMs / 1000).toFixed(1)} s after restart, run ${view.status}`,
  );
  if (!ok) for (const f of view.forks) if (f.status !== "succeeded") console.log(`  fork ${f.n}: ${f.status} ${f.error ? `${f.error.code}: ${f.error.message}` : ""}`);
  return ok;
}

let ok = false;
try {
  ok = await main();
} catch (err) {
  console.log(`chaos: FAIL — ${err instanceof Error ? err.message : String(err)}`);
} finally {
  for (const p of processes.reverse()) await p.stop();
  rmSync(root, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
