/**
 * The sessions `npm run chaos` loses sandboxes and files under (issue 24): a sandbox killed behind
 * Forkyard's back between two turns, one killed during a turn (its tool step rebuilds it and runs
 * the call again), and a resume that loses a file (the fault `resume.files`), repaired before the
 * turn goes on. Each checks that no model call was made twice and says what it saw.
 */
import { Sandbox } from "e2b";
import type { forkyardClient, sandboxAdminClient } from "./api-client.ts";
import { LOCAL_E2B_API_KEY } from "./local-stack.ts";

type ForkyardClient = ReturnType<typeof forkyardClient>;
type AdminClient = ReturnType<typeof sandboxAdminClient>;

/** What one of these sessions reports to chaos.ts: passed, the model calls it made, sandboxes it created, a line. */
export interface SessionOutcome {
  ok: boolean;
  modelCalls: number;
  sandboxes: number;
  summary: string;
}

/** Waits (up to 120 s) until the session's first `turns` turns have ended. */
export async function turnsEnded(api: ForkyardClient, id: string, turns: number) {
  const started = Date.now();
  for (;;) {
    const view = await api.getSession(id);
    if (view.turns.length >= turns && view.turns.every((t) => t.status !== "queued" && t.status !== "running")) return view;
    if (Date.now() - started > 120_000) throw new Error(`session ${id}: turns not ended: ${JSON.stringify(view.turns.map((t) => t.status))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills a sandbox through the SDK, with the local server as its API and sandbox URL (the fields the tests pass it too). */
async function killSandbox(sandboxId: string, sandboxUrl: string, what: string): Promise<void> {
  const e2b = { apiKey: LOCAL_E2B_API_KEY, apiUrl: sandboxUrl, sandboxUrl };
  if (!(await Sandbox.kill(sandboxId, e2b))) throw new Error(`${what}: its sandbox was not found to kill`);
}

/** Model steps that ran more than once, and the events of a type, in a destroyed session's log. */
async function eventLog(api: ForkyardClient, id: string) {
  const events = await api.sessionEvents(id);
  const count = (type: string) => events.filter((e) => e.type === type).length;
  const modelReruns = events.filter((e) => e.type === "step.started" && String(e.step).startsWith("model-") && Number(e.attempt) > 1).length;
  return { events, count, modelReruns };
}

const seconds = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)} s`;

/**
 * A session whose sandbox is killed behind Forkyard's back between its two turns: the second turn
 * rebuilds it (from its origin, replaying the first turn's tool calls) and succeeds, no model call
 * made again. Its model calls: `agentTurns` in the first turn, one in the second (its history
 * already holds that many answers, so the script answers with the summary at once).
 */
export async function lostBetweenTurns(api: ForkyardClient, repo: string, sandboxUrl: string, agentTurns: number): Promise<SessionOutcome> {
  const started = Date.now();
  const session = await api.createSession({ repo, title: "chaos: lost sandbox" });
  await api.sendMessage(session.id, "Append to agent.log");
  const one = await turnsEnded(api, session.id, 1);
  await killSandbox(one.sandbox.id!, sandboxUrl, `session ${session.id}`);
  await api.sendMessage(session.id, "Append once more");
  const two = await turnsEnded(api, session.id, 2);
  await api.destroySession(session.id);
  const { count, modelReruns } = await eventLog(api, session.id);
  const ok = two.turns.every((t) => t.status === "succeeded") && count("sandbox.lost") === 1 && count("session.rebuilt") === 1 && modelReruns === 0;
  return {
    ok,
    modelCalls: agentTurns + 1,
    sandboxes: 2,
    summary: `lost-sandbox session turns ${two.turns.map((t) => t.status).join("/")} (sandbox.lost ${count("sandbox.lost")}, session.rebuilt ${count("session.rebuilt")}, model steps re-run ${modelReruns}, ${seconds(started)})`,
  };
}

/**
 * A session whose sandbox is killed during its turn, as soon as the turn's first model answer is
 * recorded (its slow tool calls still to run): the tool step that finds it gone rebuilds it
 * (`rebuild-at-<step>-*`, the turn's finished calls replayed) and runs the call again; the turn
 * succeeds with all its tool calls and no model call made again.
 */
export async function lostDuringTurn(api: ForkyardClient, repo: string, sandboxUrl: string, agentTurns: number): Promise<SessionOutcome> {
  const started = Date.now();
  const session = await api.createSession({ repo, title: "chaos: lost mid-turn" });
  await api.sendMessage(session.id, "Append to agent.log");
  for (;;) {
    if ((await api.transcript(session.id)).entries.some((e) => e.role === "assistant")) break;
    if (Date.now() - started > 60_000) throw new Error(`session ${session.id}: its turn never reached a tool call`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const lost = (await api.getSession(session.id)).sandbox.id!;
  await killSandbox(lost, sandboxUrl, `session ${session.id}`);
  const view = await turnsEnded(api, session.id, 1);
  await api.destroySession(session.id);
  const { events, count, modelReruns } = await eventLog(api, session.id);
  const during = events.find((e) => e.type === "sandbox.lost")?.step;
  const turn = view.turns[0];
  const ok = turn?.status === "succeeded" && turn.toolCalls === agentTurns - 1 && typeof during === "string" && count("session.rebuilt") === 1 && view.sandbox.id !== lost && modelReruns === 0;
  return {
    ok,
    modelCalls: agentTurns,
    sandboxes: 2,
    summary: `mid-turn lost session turn ${turn?.status ?? "missing"} (${turn?.toolCalls ?? 0} tool calls, lost during ${String(during ?? "-")}, session.rebuilt ${count("session.rebuilt")}, model steps re-run ${modelReruns}, ${seconds(started)})`,
  };
}

/**
 * A session paused after its first turn whose next resume loses the file that turn wrote (the
 * local server's fault `resume.files`): the second turn's first step finds it missing, puts it back
 * from the snapshot of the pause (`session.repaired`, not rebuilt) and the turn succeeds.
 */
export async function repairedResume(api: ForkyardClient, admin: AdminClient, repo: string, agentTurns: number): Promise<SessionOutcome> {
  const started = Date.now();
  const session = await api.createSession({ repo, title: "chaos: lossy resume" });
  await api.sendMessage(session.id, "Append to agent.log");
  await turnsEnded(api, session.id, 1);
  await api.pauseSession(session.id);
  await admin.faults([{ op: "resume.files", lose: ["repo/agent.log"], firstK: 1 }]);
  await api.sendMessage(session.id, "Append once more");
  const two = await turnsEnded(api, session.id, 2);
  await api.destroySession(session.id);
  const { events, count, modelReruns } = await eventLog(api, session.id);
  const repaired = events.find((e) => e.type === "session.repaired") as { missing?: { paths?: string[] } } | undefined;
  const restoredLog = repaired?.missing?.paths?.includes("agent.log") === true;
  const ok = two.turns.every((t) => t.status === "succeeded") && count("session.repaired") === 1 && restoredLog && count("session.repair_failed") === 0 && count("sandbox.lost") === 0 && modelReruns === 0;
  return {
    ok,
    modelCalls: agentTurns + 1,
    sandboxes: 1,
    summary: `lossy-resume session turns ${two.turns.map((t) => t.status).join("/")} (session.repaired ${count("session.repaired")}${restoredLog ? " with agent.log" : ""}, repair_failed ${count("session.repair_failed")}, model steps re-run ${modelReruns}, ${seconds(started)})`,
  };
}
