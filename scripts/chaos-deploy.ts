/**
 * `npm run chaos:deploy`: a deploy mid-run. Starts the local stack as build 1 (`CODE_VERSION=1`:
 * the workflow code before continuations), posts a run whose forks append numbered lines, one
 * command each, kill -9s the Worker while they are underway, and restarts it on the same persisted
 * state as this build (its own version, CODE_VERSION: from version 2 on, a fork continues in a new instance once its instance
 * has made FORK_CONTINUE_AFTER_STEPS steps, 20 here — a version-2 step that would land after the
 * version-1 instances' completed steps). A second run is posted on build 2. Checks: the build-1
 * run records version 1, completes, every command ran in order and once — the one in flight at
 * the kill at most twice (its check, in the fork's verification sandbox) — and none of its forks
 * continued (they keep build 1's plan); the build-2 run records version 2 and its forks continued
 * and completed the same way; one sandbox per fork plus its verification sandbox, none left alive.
 * The rules this exercises: docs/architecture-deploys.md.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CODE_VERSION } from "../src/protocol/code-version.ts";
import { createTestRepo } from "../test/support/test-repo.ts";
import { followToEnd, forkyardClient, sandboxAdminClient } from "./api-client.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, runCheck, scratchDir, startSandboxServer, startWorker, workerVars, type StackProcess } from "./local-stack.ts";

const FORKS = 4;
const COMMANDS = 30;
const root = scratchDir("chaos-deploy");
mkdirSync(root, { recursive: true });
const stateDir = join(root, "state");
const processes: StackProcess[] = [];

const numbered = Array.from({ length: COMMANDS }, (_, i) => `sleep 0.1 && echo ${i + 1} >> steps.log`);
/**
 * Every command ran, in order, once — but for the one in flight at the kill, which a step may run
 * again (its body had appended before the kill, its result was not yet kept): at most one repeat.
 */
const CHECK = `uniq steps.log > /tmp/once && seq 1 ${COMMANDS} | diff - /tmp/once && test "$(wc -l < steps.log)" -le ${COMMANDS + 1}`;
const runBody = (repo: string) => ({ repo, forks: FORKS, maxConcurrent: FORKS, task: { commands: numbered }, check: CHECK });

async function main(): Promise<boolean> {
  const sandbox = await startSandboxServer({ dataDir: join(root, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [root], quiet: true });
  processes.push(sandbox);
  const vars = { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: {} }), FORK_CONTINUE_AFTER_STEPS: "20" };
  // Build 1: the workflow code as it was before continuations.
  let worker = await startWorker({ stateDir, vars: { ...vars, CODE_VERSION: "1" }, quiet: true });
  const port = Number(new URL(worker.url).port);
  processes.push(worker);
  const admin = sandboxAdminClient(sandbox.url, sandbox.adminKey);
  const api = forkyardClient(worker.url, LOCAL_API_TOKEN);
  await admin.reset();
  const repo = createTestRepo(join(root, "repo"));
  const old = await api.createRun(runBody(repo));

  // The deploy lands while every fork is past its first commands (its instance has version-1 checkpoints).
  const started = Date.now();
  for (;;) {
    const view = await api.getRun(old.id);
    if (view.forks.every((f) => f.steps.some((s) => s.name === "command-5" && s.status === "succeeded"))) break;
    if (Date.now() - started > 90_000) throw new Error("the build-1 run's forks never got underway");
    await new Promise((r) => setTimeout(r, 100));
  }
  const killedAt = Date.now() - started;
  await worker.kill9();
  processes.splice(processes.indexOf(worker), 1);
  // Build 2: this build's own version.
  worker = await startWorker({ port, stateDir, vars, quiet: true });
  processes.push(worker);
  const fresh = await api.createRun(runBody(repo));

  const [before, after] = await Promise.all([followToEnd(worker.url, LOCAL_API_TOKEN, old.id, 300_000), followToEnd(worker.url, LOCAL_API_TOKEN, fresh.id, 300_000)]);
  let stats = await admin.stats();
  for (let i = 0; i < 20 && stats.live > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    stats = await admin.stats();
  }
  const passed = (view: typeof before.view) => view.forks.filter((f) => f.status === "succeeded" && f.check?.passed).length;
  const continued = (events: typeof before.events) => new Set(events.filter((e) => e.type === "fork.continued").map((e) => e.fork)).size;
  const creates = stats.calls.create ?? 0;
  const ok =
    before.view.codeVersion.code === 1 &&
    after.view.codeVersion.code === CODE_VERSION &&
    before.view.status === "completed" &&
    after.view.status === "completed" &&
    passed(before.view) === FORKS &&
    passed(after.view) === FORKS &&
    continued(before.events) === 0 &&
    continued(after.events) === FORKS &&
    creates === 4 * FORKS &&
    stats.live === 0;
  console.log(
    `chaos:deploy: ${ok ? "PASS" : "FAIL"} — build-1 run (code ${before.view.codeVersion.code}) ${before.view.status}, ${passed(before.view)}/${FORKS} forks with every command once (the one in flight at the kill at most twice), ` +
      `${continued(before.events)} continued (want 0); build-2 run (code ${after.view.codeVersion.code}) ${after.view.status}, ${passed(after.view)}/${FORKS} forks with every command once, ` +
      `${continued(after.events)} continued (want ${FORKS}); sandboxes created ${creates} (want ${4 * FORKS}), live at end ${stats.live} (want 0); ` +
      `killed ${(killedAt / 1000).toFixed(1)} s after the build-1 run was posted`,
  );
  if (!ok) for (const f of [...before.view.forks, ...after.view.forks]) if (f.status !== "succeeded" || !f.check?.passed) console.log(`  fork ${f.n}: ${f.status} ${f.error ? `${f.error.code}: ${f.error.message}` : ""} check ${f.check?.stdoutTail ?? "-"}`);
  return ok;
}

await runCheck("chaos:deploy", main, async () => {
  for (const p of processes.reverse()) await p.stop();
  rmSync(root, { recursive: true, force: true });
});
