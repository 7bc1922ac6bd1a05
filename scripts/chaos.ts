/**
 * `npm run chaos`: proves runs survive a crash of the Worker runtime. Starts the local stack (and
 * a scripted model server), posts a 20-fork run of slow commands and a 3-fork agent run, kill -9s
 * every wrangler/workerd process mid-run, restarts the Worker on the same persisted state (with
 * the default reconcile settings), and checks that every fork completes, that exactly one sandbox
 * was created per fork (re-run acquire steps found theirs), that none is left alive, that no
 * completed model call was made again (the model server's call log holds one call per scripted
 * turn, plus only the model steps that were in flight at the kill), and that the runs finish
 * within the work left at the kill plus 10 s of the restarted runtime being up. A session's turn
 * (the same agent loop, in a session's sandbox) is killed mid-turn too: it completes, with no
 * completed model call made again. A second session's sandbox is killed behind Forkyard's back
 * between two turns: the next turn rebuilds it (`sandbox.lost`, `session.rebuilt`) and succeeds,
 * with no model call made again; a third's during a turn: the tool step that finds it gone
 * rebuilds it and runs the call again, no model call made again; a fourth's resume loses a file
 * (fault `resume.files`): it is repaired (`session.repaired`) before the turn goes on
 * (scripts/chaos-sessions.ts). So are a prepared run (the kill may land in its prepare or its
 * forking) and a fork branched while it runs (the kill may land before, in or after its branch
 * step): they complete, and no forked sandbox is left alive.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startScriptedAnthropic, type MessagesRequest, type ScriptedReply } from "../test/support/anthropic-server.ts";
import { createTestRepo } from "../test/support/test-repo.ts";
import { forkyardClient, sandboxAdminClient, waitForTerminal } from "./api-client.ts";
import { lostBetweenTurns, lostDuringTurn, repairedResume } from "./chaos-sessions.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, ROOT, runCheck, scratchDir, startSandboxServer, startWorker, workerVars, type StackProcess } from "./local-stack.ts";

const FORKS = 20;
/** A whole fork's work (clone, three commands, check, collect) at most: a bound on what is left at the kill. */
const FORK_WORK_SECONDS = 8;
/** After a restart, the runs must finish within the work left plus this (the runtime's start not counted). */
const RECOVERY_SLACK_SECONDS = 10;
const AGENT_FORKS = 3;
/** A run prepared once and forked N ways (E2B's sandbox fork); the kill may land in its prepare or its forking. */
const PREPARED_FORKS = 3;
const AGENT_TURNS = 4;
const MODEL_KEY = "sk-ant-chaos-0000";
/** Forks branched from a running fork just before the kill. */
const BRANCHES = 2;
/** Each agent turn runs a slow tool call, so the kill lands mid-agent. */
const agentTurn: ScriptedReply = {
  content: [{ type: "tool_use", name: "bash", input: { command: "sleep 1 && echo turn >> agent.log" } }],
  usage: { input_tokens: 400, output_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 1500 },
};
const agentSummary: ScriptedReply = { content: [{ type: "text", text: "Appended to agent.log." }] };
/** The session's turn has slower tool calls, so that it is still running when the forks are underway. */
const sessionTurn: ScriptedReply = { ...agentTurn, content: [{ type: "tool_use", name: "bash", input: { command: "sleep 2.5 && echo turn >> agent.log" } }] };
const isSessionTurn = (request: MessagesRequest) => JSON.stringify(request.system ?? "").includes("working with a person");
const root = scratchDir("chaos");
mkdirSync(root, { recursive: true });
const stateDir = join(root, "state");
const processes: StackProcess[] = [];
const closers: (() => Promise<void>)[] = [];

async function main(): Promise<boolean> {
  const anthropic = await startScriptedAnthropic({ apiKey: MODEL_KEY });
  closers.push(() => anthropic.close());
  // Every fork's conversation gets the same turns, whatever order the forks' calls arrive in.
  const reply = (request: MessagesRequest) =>
    request.messages.filter((m) => m.role === "assistant").length + 1 < AGENT_TURNS ? (isSessionTurn(request) ? sessionTurn : agentTurn) : agentSummary;
  anthropic.setScript(Array.from({ length: 4 * (AGENT_FORKS + 1) * AGENT_TURNS }, () => reply));
  const sandbox = await startSandboxServer({ dataDir: join(root, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [root], quiet: true });
  processes.push(sandbox);
  const vars = {
    ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: {} }),
    ANTHROPIC_API_KEY: MODEL_KEY,
    ANTHROPIC_BASE_URL: anthropic.url,
  };
  let worker = await startWorker({ stateDir, vars, quiet: !process.env.CHAOS_LOGS });
  const workerPort = Number(new URL(worker.url).port);
  processes.push(worker);

  const admin = sandboxAdminClient(sandbox.url, sandbox.adminKey);
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
  const agentRun = await api.createRun({ repo, forks: AGENT_FORKS, maxConcurrent: AGENT_FORKS, task: { prompt: "Append to agent.log", maxTurns: AGENT_TURNS + 1 } });
  const preparedRun = await api.createRun({
    repo,
    forks: PREPARED_FORKS,
    maxConcurrent: PREPARED_FORKS,
    prepare: { commands: ["sleep 3", "echo prepared > prepared.txt"] },
    task: { commands: ["test -s prepared.txt"] },
  });
  // A fork branched while it runs: the kill may land before, during or after its branch step.
  const branchedRun = await api.createRun({ repo, task: { commands: ["echo one > a.txt", "sleep 6", "cat a.txt"] } });
  let branched = false;
  const session = await api.createSession({ repo, title: "chaos" });
  await api.sendMessage(session.id, "Append to agent.log");

  // Crash while forks are in the middle of their steps.
  const started = Date.now();
  for (;;) {
    const view = await api.getRun(run.id);
    const agents = await api.getRun(agentRun.id);
    const commandsUnderway = view.forks.filter((f) => f.steps.some((s) => s.name.startsWith("command-"))).length >= 3;
    const agentsUnderway = agents.forks.every((f) => f.steps.some((s) => s.name.startsWith("tool-")));
    const turnUnderway = (await api.getSession(session.id)).turns[0]?.status === "running" && (await api.transcript(session.id)).entries.some((e) => e.role === "tool");
    if (!branched && (await api.getRun(branchedRun.id)).forks[0]!.steps.some((s) => s.name === "command-2")) {
      await api.branch(branchedRun.id, 1, { count: BRANCHES });
      branched = true;
    }
    if (commandsUnderway && agentsUnderway && turnUnderway && branched) break;
    if (Date.now() - started > 60_000) {
      const turn = (await api.getSession(session.id)).turns[0];
      throw new Error(`forks never reached their commands and tool calls (commands ${commandsUnderway}, agents ${agentsUnderway}, session turn ${turn?.status ?? "missing"})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const killedAt = Date.now() - started;
  await worker.kill9();
  processes.splice(processes.indexOf(worker), 1);
  await new Promise((r) => setTimeout(r, 1000));

  const restartedAt = Date.now();
  worker = await startWorker({ port: workerPort, stateDir, vars, quiet: !process.env.CHAOS_LOGS });
  processes.push(worker);
  const upAt = Date.now();
  const view = await waitForTerminal(api, run.id, 180_000);
  const agentView = await waitForTerminal(api, agentRun.id, 180_000);
  let sessionView = await api.getSession(session.id);
  while (sessionView.turns[0]?.status === "running" && Date.now() - upAt < 180_000) {
    await new Promise((r) => setTimeout(r, 200));
    sessionView = await api.getSession(session.id);
  }
  const turn = sessionView.turns[0];
  await api.destroySession(session.id);
  // Model steps that ran more than once: only one in flight at the kill may have.
  const turnModelReruns = new Set((await api.sessionEvents(session.id)).filter((e) => e.type === "step.started" && String(e.step).startsWith("model-") && Number(e.attempt) > 1).map((e) => e.step)).size;
  const recoveredMs = Date.now() - restartedAt;
  const afterUpMs = Date.now() - upAt;
  // Run while the prepared and branched runs are waited for: sandboxes lost between turns and
  // during a turn, and a resume that loses a file (scripts/chaos-sessions.ts).
  const lostSessions = Promise.all([lostBetweenTurns(api, repo, sandbox.url, AGENT_TURNS), lostDuringTurn(api, repo, sandbox.url, AGENT_TURNS), repairedResume(api, admin, repo, AGENT_TURNS)]);
  // The prepared run (it may have waited for capacity behind the others): every fork in a forked sandbox.
  const preparedView = await waitForTerminal(api, preparedRun.id, 180_000);
  const preparedOk = preparedView.status === "completed" && preparedView.prepared?.status === "forked" && preparedView.forks.every((f) => f.status === "succeeded");
  // The branched run: the fork and its branches, each branch with the fork's file and only the last command run.
  const branchedView = await waitForTerminal(api, branchedRun.id, 180_000);
  const branchesOk =
    branchedView.status === "completed" &&
    branchedView.forks.length === 1 + BRANCHES &&
    branchedView.forks.every((f) => f.status === "succeeded") &&
    branchedView.forks.slice(1).every((f) => f.parent?.turn === 2 && f.commands.length === 1 && f.commands[0]!.stdoutTail === "one\n");
  const lostOutcomes = await lostSessions;
  const lostOutcome = { ok: lostOutcomes.every((o) => o.ok), modelCalls: lostOutcomes.reduce((n, o) => n + o.modelCalls, 0), sandboxes: lostOutcomes.reduce((n, o) => n + o.sandboxes, 0), summary: lostOutcomes.map((o) => o.summary).join(", ") };
  // Sandboxes a fork call made before its answer was lost to the kill carry no lease: the reaper (the cron's job) kills them.
  await api.runReaper();
  // Release is the last step before report; give the final kills a moment to land.
  let stats = await admin.stats();
  for (let i = 0; i < 20 && stats.live > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    stats = await admin.stats();
  }

  const completed = view.forks.filter((f) => f.status === "succeeded").length;
  const agentsCompleted = agentView.forks.filter((f) => f.status === "succeeded" && f.agent?.turns === AGENT_TURNS).length;
  const reruns = [...view.forks, ...agentView.forks].reduce((sum, f) => sum + f.steps.filter((s) => s.attempts > 1).length, 0);
  const modelCalls = anthropic.calls().filter((c) => c.path === "/v1/messages").length;
  const modelReruns = agentView.forks.reduce((sum, f) => sum + f.steps.filter((s) => s.name.startsWith("model-")).reduce((n, s) => n + s.attempts - 1, 0), 0);
  // Created (not forked): one per fork, the session's, the prepared run's one and the branched fork's;
  // and each run fork's verification sandbox (its check and patch are built in a fresh one).
  const verifications = FORKS + AGENT_FORKS + PREPARED_FORKS + 1 + BRANCHES;
  // The lost-sandbox sessions' two each (their setup's and their rebuild's), the lossy resume's one.
  const wantSandboxes = FORKS + AGENT_FORKS + 1 + 1 + 1 + verifications + lostOutcome.sandboxes;
  const creates = stats.calls.create ?? 0;
  const wantModelCalls = (AGENT_FORKS + 1) * AGENT_TURNS + lostOutcome.modelCalls + modelReruns + turnModelReruns;
  const turnCompleted = turn?.status === "succeeded" && turn.toolCalls === AGENT_TURNS - 1 && turnModelReruns <= 1;
  const ok =
    view.status === "completed" &&
    completed === FORKS &&
    agentView.status === "completed" &&
    agentsCompleted === AGENT_FORKS &&
    turnCompleted &&
    lostOutcome.ok &&
    preparedOk &&
    branchesOk &&
    stats.forked >= PREPARED_FORKS + BRANCHES &&
    creates === wantSandboxes &&
    stats.live === 0 &&
    modelCalls === wantModelCalls &&
    afterUpMs <= (FORK_WORK_SECONDS + RECOVERY_SLACK_SECONDS) * 1000;
  console.log(
    `chaos: ${ok ? "PASS" : "FAIL"} — forks completed ${completed}/${FORKS}, agent forks completed ${agentsCompleted}/${AGENT_FORKS}, ` +
      `session turn ${turn?.status ?? "missing"} (${turn?.toolCalls ?? 0} tool calls), ${lostOutcome.summary}, ` +
      `prepared run ${preparedView.status} (${preparedView.prepared?.status ?? "-"}, ${preparedView.forks.filter((f) => f.status === "succeeded").length}/${PREPARED_FORKS} forks, ${stats.forked} sandboxes forked), ` +
      `branched run ${branchedView.status} (${branchedView.forks.filter((f) => f.status === "succeeded").length}/${1 + BRANCHES} forks), ` +
      `sandboxes created ${creates} (want ${wantSandboxes}), live at end ${stats.live} (want 0), ` +
      `model calls ${modelCalls} (want ${(AGENT_FORKS + 1) * AGENT_TURNS + lostOutcome.modelCalls} + ${modelReruns + turnModelReruns} in flight at the kill), steps re-run after the crash ${reruns}, ` +
      `killed at +${(killedAt / 1000).toFixed(1)} s, finished ${(recoveredMs / 1000).toFixed(1)} s after restart ` +
      `(${(afterUpMs / 1000).toFixed(1)} s after the runtime was up; want ≤ ${FORK_WORK_SECONDS} s of work left + ${RECOVERY_SLACK_SECONDS} s, default reconcile settings)`,
  );
  if (!ok) {
    for (const f of [...view.forks, ...agentView.forks, ...branchedView.forks]) {
      if (f.status !== "succeeded" || (f.agent && f.agent.turns !== AGENT_TURNS)) console.log(`  fork ${f.n}: ${f.status} turns=${f.agent?.turns ?? "-"} ${f.error ? `${f.error.code}: ${f.error.message}` : ""}`);
    }
  }
  return ok;
}

await runCheck("chaos", main, async () => {
  for (const p of processes.reverse()) await p.stop();
  for (const close of closers) await close();
  rmSync(root, { recursive: true, force: true });
});
