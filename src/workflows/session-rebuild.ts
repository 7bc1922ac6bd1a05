import { executeTool } from "../agent/tools";
import { ArtifactStore } from "../artifacts/store";
import { applyPatch } from "../sandbox/apply-patch";
import { decodeStepError, unwrap } from "../core/errors";
import type { Session } from "../objects/session/session";
import { POOL_NAME } from "../protocol/events";
import type { RebuildPlan, RebuildReport, ReplayCall, SessionJob, TurnStart } from "../protocol/session-job";
import { sandboxAccess } from "../sandbox/connection";
import type { SandboxHandle } from "../sandbox/handle";
import { EnvdClient } from "../sandbox/envd-client";
import { REPO_DIR } from "../sandbox/git";
import type { JobContext } from "./durable-job";
import { ForkSandbox } from "./fork-sandbox";
import { stepConfig } from "./step-policies";
import { rebuildStepNames, SESSION_STEP } from "./steps";

/** Tool calls replayed per step: a long session rebuilds in a few steps, far from the step limit. */
export const REPLAY_BATCH = 50;
const COMMAND_CHARS = 200;

/**
 * Rebuilds the session's lost sandbox before turn n goes on (issue 24, item 2) — at the turn's start
 * (`plan` from its `begin` step, steps `rebuild-*`) or during a tool step (rebuildDuringStep) — in
 * steps that may each run again: release the lost lease, acquire a new sandbox under the next lease key, clone
 * the session's base commit, run its origin's commands and lay its patch (a run fork's), or lay the
 * last snapshot (when the plan starts from one), replay the
 * later turns' tool calls in batches — editor edits as recorded, bash commands re-run and those
 * whose output differs reported — then hand the sandbox to the session. No model call is made.
 */
export async function rebuildSandbox(job: JobContext<SessionJob>, session: DurableObjectStub<Session>, start: TurnStart, plan: RebuildPlan = start.rebuild!, prefix: string = SESSION_STEP.rebuildPrefix): Promise<SandboxHandle> {
  const { config, steps, step, instanceId, params } = job;
  const retries = config.RETRY_POLICIES;
  const pool = job.env.POOL.getByName(POOL_NAME);
  const names = rebuildStepNames(prefix);
  await steps.run(names.release, stepConfig("cleanup", retries), async () => {
    await pool.release(plan.lostLeaseKey);
    return { released: plan.lostLeaseKey };
  }, { gated: false });
  const sandbox = new ForkSandbox({
    params: { runId: params.sessionId, n: 0, leaseKey: plan.leaseKey, repo: start.repo, baseBranch: start.baseBranch, workBranch: start.workBranch, template: plan.templateId, timeoutSeconds: plan.timeoutSeconds, holder: "session", workflow: "session" },
    config,
    step,
    steps,
    pool,
    instanceId,
    taskEnv: {},
  });
  await sandbox.acquire(prefix);
  await steps.run(names.clone, stepConfig("restore", retries), async ({ remainingMs }) => sandbox.cloneAt(remainingMs, plan.baseSha), { gated: false });
  const sandboxId = sandbox.sandboxId;
  const differences: RebuildReport["differences"] = [];
  const setup = plan.setup ?? [];
  if (setup.length > 0) {
    const result = await steps.run(names.setup, stepConfig("restore", retries), async ({ remainingMs }) => {
      const { handle } = unwrap(await pool.resume(plan.leaseKey));
      return { differences: await runSetup(EnvdClient.forHandle(sandboxAccess(config), handle), setup, remainingMs, params.sessionId) };
    }, { gated: false });
    differences.push(...result.differences);
  }
  if (plan.patch) {
    const patchKey = plan.patch;
    const laid = await steps.run(names.patch, stepConfig("restore", retries), async () => {
      const { handle } = unwrap(await pool.resume(plan.leaseKey));
      const patch = await new ArtifactStore(job.env.ARTIFACTS).getBytes(patchKey);
      return { applied: patch !== null && (await applyPatch(EnvdClient.forHandle(sandboxAccess(config), handle), patch)) };
    }, { gated: false });
    if (!laid.applied) differences.push({ turn: 0, name: "patch" });
  }
  if (plan.fromSnapshot) {
    await steps.run(names.snapshot, stepConfig("restore", retries), async () => {
      const { handle } = unwrap(await pool.resume(plan.leaseKey));
      return unwrap(await session.restoreSnapshot(handle));
    }, { gated: false });
  }
  for (let b = 0; b * REPLAY_BATCH < plan.replay.length; b++) {
    const batch = plan.replay.slice(b * REPLAY_BATCH, (b + 1) * REPLAY_BATCH);
    const result = await steps.run(names.replay(b + 1), stepConfig("restore", retries), async ({ remainingMs }) => {
      const { handle } = unwrap(await pool.resume(plan.leaseKey));
      return { differences: await replay(EnvdClient.forHandle(sandboxAccess(config), handle), batch, remainingMs, params.sessionId) };
    }, { gated: false });
    differences.push(...result.differences);
  }
  const report: RebuildReport = { k: plan.k, leaseKey: plan.leaseKey, sandboxId, from: plan.fromSnapshot ? "snapshot" : "origin", replayed: plan.replay.length, differences };
  return steps.run(names.finished, stepConfig("control", retries), async () => unwrap(await session.rebuilt(report)), { gated: false });
}

/**
 * Step `step` of turn n found its sandbox gone (issue 24, item 2, mid-turn): the session plans
 * the rebuild (`rebuild-at-<step>-plan`: the earlier turns' tool calls and this turn's finished
 * ones), the sandbox is rebuilt under the `rebuild-at-<step>-` steps, and the caller runs the
 * interrupted step again. No model call is made. A session that cannot be rebuilt fails the step
 * `sandbox_gone`, as before.
 */
export async function rebuildDuringStep(job: JobContext<SessionJob>, session: DurableObjectStub<Session>, start: TurnStart, n: number, step: string): Promise<SandboxHandle> {
  const prefix = SESSION_STEP.rebuildAtPrefix(step);
  const control = stepConfig("control", job.config.RETRY_POLICIES);
  const plan = await job.steps.run(`${prefix}plan`, control, async () => unwrap(await session.rebuildDuringTurn(n, step)), { gated: false });
  return rebuildSandbox(job, session, start, plan, prefix);
}

/**
 * Runs `attempt` — steps of turn n that use the sandbox, named from `step` — and, when the sandbox
 * is found gone there (a tool call, the work branch, a fork at a step boundary, a budget wait's
 * resume), rebuilds it (rebuildDuringStep: `rebuild-at-<step>-*`), hands the new one to `rebuilt`
 * and runs `attempt` once more (`again`: its steps named `<step>-r1`). A second loss fails the turn
 * `sandbox_gone`.
 */
export async function withRebuild<T>(
  job: JobContext<SessionJob>,
  session: DurableObjectStub<Session>,
  turn: { start: TurnStart; n: number; step: string; rebuilt: (handle: SandboxHandle) => void },
  attempt: (again: boolean) => Promise<T>,
): Promise<T> {
  try {
    return await attempt(false);
  } catch (err) {
    if (decodeStepError(err).code !== "sandbox_gone") throw err;
    turn.rebuilt(await rebuildDuringStep(job, session, turn.start, turn.n, turn.step));
    return attempt(true);
  }
}

/** Runs the origin's commands in order (as the run ran them, in the clone); answers those that failed. */
async function runSetup(session: EnvdClient, commands: string[], remainingMs: number, sessionId: string): Promise<RebuildReport["differences"]> {
  const failed: RebuildReport["differences"] = [];
  for (const command of commands) {
    const exec = await session.exec(command, { cwd: REPO_DIR, timeoutMs: remainingMs, envs: { FORKYARD_SESSION_ID: sessionId } });
    if (exec.exitCode !== 0) failed.push({ turn: 0, name: "command", command: command.slice(0, COMMAND_CHARS) });
  }
  return failed;
}

/** Replays tool calls in order; answers the bash calls whose output is not what it was. */
async function replay(session: EnvdClient, calls: ReplayCall[], remainingMs: number, sessionId: string): Promise<RebuildReport["differences"]> {
  const differences: RebuildReport["differences"] = [];
  for (const call of calls) {
    const input = JSON.parse(call.input) as Record<string, never>;
    const out = await executeTool(session, { name: call.name, input }, { remainingMs, envs: { FORKYARD_SESSION_ID: sessionId, FORKYARD_TURN: String(call.turn) } });
    if (call.name === "bash" && out.content !== call.output) {
      const command = typeof input.command === "string" ? (input.command as string).slice(0, COMMAND_CHARS) : undefined;
      differences.push({ turn: call.turn, name: call.name, ...(command !== undefined ? { command } : {}) });
    }
  }
  return differences;
}
