import { runAgent, type AgentHost } from "../agent/loop";
import { parseModelPrices, type PriceTable } from "../agent/pricing";
import { buildSessionSystemPrompt, buildTools } from "../agent/prompt";
import { executeTool, type ToolCall } from "../agent/tools";
import type { ToolTurn } from "../agent/conversation";
import { DEFAULT_STALL_SECONDS } from "../api/runs";
import type { Session } from "../objects/session/session";
import { CloneFailedError, SandboxGoneError, unwrap } from "../core/errors";
import { BRANCH_SCRIPT, REPO_DIR } from "../sandbox/git";
import { sandboxAccess } from "../sandbox/connection";
import type { SandboxHandle } from "../sandbox/handle";
import { EnvdClient } from "../sandbox/envd-client";
import { SETUP_TIMEOUT_SECONDS, TURN_TIMEOUT_SECONDS, type SessionJob, type SetupOutcome, type TurnContinuedOutcome, type TurnOutcome, type TurnStart } from "../protocol/session-job";
import { ArtifactStore } from "../artifacts/store";
import { TurnContinuation } from "./turn-continuation";
import { ForkSandbox } from "./fork-sandbox";
import { waitForBudget } from "./budget-wait";
import { DurableJob, type JobContext, type JobTracking } from "./durable-job";
import type { JobPlan } from "./job-plan";
import { STEP_KINDS, stepConfig } from "./step-policies";
import type { StepTracker } from "./step-runner";
import { ModelSteps } from "./model-step";
import { rebuildSandbox, withRebuild } from "./session-rebuild";
import { budgetResumeStep, modelStepName, SESSION_STEP, sessionForkStep, toolStepName } from "./steps";
import { POOL_NAME } from "../protocol/events";

/** A session's steps (turn 0: its setup), reported to its Session object. */
function sessionTracker(session: DurableObjectStub<Session>, turn: number): StepTracker {
  return {
    stepStarted: async (name, attempt) => session.stepStarted(turn, name, attempt),
    stepFinished: async (name, report) => session.stepFinished(turn, name, report),
    heartbeat: async () => session.turnAlive(turn),
  };
}

const turnOf = (job: SessionJob): number => (job.kind === "turn" ? job.n : 0);

/** What a session's instance ends with: its setup's or its turn's outcome, or that its turn went on in another instance. */
type SessionJobOutcome = TurnOutcome | SetupOutcome | TurnContinuedOutcome;

/**
 * A session's durable work: its setup (acquire a sandbox, check it, clone onto the work branch),
 * or one turn — the same agent loop as a fork's, a checkpointed step per model call and per tool
 * call, with the session's earlier turns as history — in the sandbox the session keeps.
 */
export class SessionTurnWorkflow extends DurableJob<SessionJob, SessionJobOutcome> {
  protected tracking(params: SessionJob): JobTracking {
    const n = turnOf(params);
    return { runId: params.sessionId, n, tracker: sessionTracker(this.env.SESSION.getByName(params.sessionId), n), job: { name: "turn", owner: "session" } };
  }

  protected plan(job: JobContext<SessionJob>): JobPlan<SessionJobOutcome> {
    const params = job.params;
    const session = job.env.SESSION.getByName(params.sessionId);
    const control = stepConfig("control", job.config.RETRY_POLICIES);
    if (params.kind === "setup") {
      return {
        work: () => setup(job, session),
        failed: (error): SetupOutcome => ({ kind: "setup", ok: false, error }),
        finish: async (outcome) => {
          await job.steps.run(SESSION_STEP.setupFinished, control, async () => unwrap(await session.setupFinished(outcome as SetupOutcome)), { gated: false });
          return outcome;
        },
      };
    }
    const n = params.n;
    return {
      work: () => turn({ ...job, params }, session, n),
      failed: (error): TurnOutcome => ({ kind: "turn", n, status: error.code === "cancelled" ? "cancelled" : error.code === "budget_exceeded" ? "budget_exceeded" : "failed", error }),
      finish: async (outcome) => {
        // Gone on in a new instance: that one reports the turn's end.
        if (outcome.kind === "continued") return outcome;
        await job.steps.run(SESSION_STEP.finish, control, async () => unwrap(await session.turnFinished(outcome as TurnOutcome)), { gated: false });
        return outcome;
      },
    };
  }
}

async function setup(job: JobContext<SessionJob>, session: DurableObjectStub<Session>): Promise<SetupOutcome> {
  const { config, step, steps, instanceId, params } = job;
  const info = await steps.run(SESSION_STEP.setupInfo, stepConfig("control", config.RETRY_POLICIES), async () => unwrap(await session.setupInfo()), { gated: false });
  const sandbox = new ForkSandbox({
    params: { runId: params.sessionId, n: 0, leaseKey: info.leaseKey, repo: info.repo, baseBranch: info.branch, workBranch: info.workBranch, template: info.templateId, timeoutSeconds: info.timeoutSeconds, holder: "session", workflow: "session" },
    config,
    step,
    steps,
    pool: job.env.POOL.getByName(POOL_NAME),
    instanceId,
    taskEnv: {},
  });
  const { acquiredAt } = await sandbox.acquire();
  steps.setDeadline(acquiredAt + SETUP_TIMEOUT_SECONDS * 1000, SETUP_TIMEOUT_SECONDS);
  await sandbox.health();
  const { baseSha } = await sandbox.clone(SETUP_TIMEOUT_SECONDS * 1000);
  return { kind: "setup", ok: true, sandboxId: sandbox.sandboxId, baseSha };
}

async function turn(job: JobContext<Extract<SessionJob, { kind: "turn" }>>, session: DurableObjectStub<Session>, n: number): Promise<TurnOutcome | TurnContinuedOutcome> {
  const { config, steps, instanceId, params } = job;
  const retries = config.RETRY_POLICIES;
  const prices = parseModelPrices(config.MODEL_PRICES);
  const control = stepConfig("control", retries);
  const access = sandboxAccess(config);
  const start = await steps.run(SESSION_STEP.begin, control, async () => unwrap(await session.beginTurn(n, instanceId)), { gated: false });
  steps.setDeadline(start.startedAt + TURN_TIMEOUT_SECONDS * 1000, TURN_TIMEOUT_SECONDS);
  let handle: SandboxHandle = start.handle ?? (await rebuildSandbox(job, session, start));
  /** The running tool step's stop signal (a step at a time). */
  let stop: AbortSignal | undefined;
  // A step that finds the sandbox gone has it rebuilt, then runs again in the new one (session-rebuild.ts).
  const rebuilding = <T>(step: string, attempt: (again: boolean) => Promise<T>) => withRebuild(job, session, { start, n, step, rebuilt: (h) => (handle = h) }, attempt);
  if (start.switchBranch) await rebuilding(SESSION_STEP.workBranch, (again) => checkOutWorkBranch(job, session, handle, start.workBranch, again));
  const history = await steps.run(SESSION_STEP.history, control, async () => unwrap(await session.history(n)), { gated: false });
  const models = turnModelSteps(job, session, { n, model: start.model, prices, rebuilding, resumed: (h) => (handle = h) });

  // A step boundary: new sessions asked for since the last one (a step's end said so) are forked now, from a rebuilt sandbox if it was lost.
  const forkAt = async (boundary: string) => {
    if (!(await steps.takeBranchSignal())) return;
    const name = sessionForkStep(boundary);
    await rebuilding(name, async (again) => {
      const forked = await steps.run(again ? SESSION_STEP.rerun(name) : name, stepConfig("cleanup", retries), async () => {
        const { sessions, lost } = await session.forkAtBoundary(n);
        return lost ? { sessions, lost } : { sessions };
      }, { gated: false });
      if (forked.lost) throw new SandboxGoneError(start.handle?.sandboxId ?? "");
    });
  };
  // Near the instance's step limit the turn goes on in a new instance, from the calls made so far.
  const continuation = new TurnContinuation(job, session, new ArtifactStore(job.env.ARTIFACTS));
  const resume = await continuation.resumed();
  const host: AgentHost = {
    beforeTurn: (_k, conversation) => continuation.at(conversation),
    async modelStep(k, call) {
      await forkAt(modelStepName(k));
      return models.run(k, call);
    },
    async toolStep(k, index, use, call) {
      await forkAt(toolStepName(k, index));
      const name = toolStepName(k, index);
      return rebuilding(name, (again) => toolStep(job, session, n, { name: again ? SESSION_STEP.rerun(name) : name, k, index, use, call: (signal) => ((stop = signal), call()) }));
    },
  };

  const agent = runAgent(
    host,
    {
      callModel: job.callModel,
      executeTool: (call) => executeTool(EnvdClient.forHandle(access, handle), call, { remainingMs: steps.remainingMs(), envs: { FORKYARD_SESSION_ID: params.sessionId, FORKYARD_TURN: String(n) }, stallMs: DEFAULT_STALL_SECONDS * 1000, signal: stop }),
      beforeModelCall: async (_k, expectedUsd, call) => unwrap(await session.reserveModelCall(n, models.ledgerKey, expectedUsd, call)),
    },
    {
      prompt: start.prompt,
      model: start.model,
      system: buildSessionSystemPrompt(start),
      tools: buildTools(),
      // A continuation's calls count against the turn's AGENT_MAX_TURNS too.
      maxTurns: Math.max(1, config.AGENT_MAX_TURNS - resume.length),
      prices,
      history,
      resume,
      contextTokens: config.AGENT_CONTEXT_TOKENS,
    },
  );
  return continuation.outcome(resume, agent);
}

/**
 * Turn n's model calls, a checkpointed step each. Out of budget, the sandbox pauses until the budget
 * is raised (PATCH budgetUsd), then the call is made; a sandbox lost meanwhile is rebuilt instead of resumed.
 */
function turnModelSteps(
  job: JobContext<SessionJob>,
  session: DurableObjectStub<Session>,
  turn: { n: number; model: string; prices: PriceTable; rebuilding: <T>(step: string, attempt: (again: boolean) => Promise<T>) => Promise<T>; resumed: (handle: SandboxHandle) => void },
): ModelSteps {
  const { n, rebuilding } = turn;
  return new ModelSteps({
    steps: job.steps,
    retries: job.config.RETRY_POLICIES,
    keyPrefix: `turn:${n}`,
    model: turn.model,
    prices: turn.prices,
    record: (k, key, result, usd) => session.recordModelCall(n, k, key, result, usd),
    release: (key) => session.releaseReservation(key),
    async waitForBudget(k, wait, reason) {
      const owner = { name: "session", kind: "control", pause: async () => unwrap(await session.awaitBudget(n)), resume: async () => unwrap(await session.resumeForTurn(n)) } as const;
      await rebuilding(budgetResumeStep(k, wait), async (again) => {
        if (!again) turn.resumed((await waitForBudget(job, owner, k, wait, reason)).resumed);
      });
    },
  });
}

/**
 * Tool call `index` of the turn's k-th model answer, as its step (`name`: its re-run after a rebuild
 * is `<step>-r1`); `call` runs the tool with the step's stop signal (a cancel or a spent budget stops its command).
 */
async function toolStep(job: JobContext<SessionJob>, session: DurableObjectStub<Session>, n: number, tool: { name: string; k: number; index: number; use: ToolCall; call: (signal: AbortSignal) => Promise<ToolTurn> }): Promise<ToolTurn> {
  const { name, k, index, use, call } = tool;
  return job.steps.run(name, stepConfig("tool", job.config.RETRY_POLICIES), async ({ signal }) => {
    const result = await call(signal);
    await session.recordToolCall(n, k, index, { ...use, id: result.toolUseId }, result);
    return result;
  }, { gated: true, budget: false });
}

/**
 * A forked session's first turn: its workspace (a copy of its parent's) moves to the session's own
 * work branch, changes kept. `git checkout -B` again on the same branch changes nothing, so the step
 * may re-run (`work-branch-r1` in a rebuilt sandbox, which is cloned onto that branch already).
 */
async function checkOutWorkBranch(job: JobContext<SessionJob>, session: DurableObjectStub<Session>, handle: SandboxHandle, workBranch: string, again: boolean): Promise<void> {
  const { config, steps } = job;
  await steps.run(again ? SESSION_STEP.rerun(SESSION_STEP.workBranch) : SESSION_STEP.workBranch, stepConfig("adopt", config.RETRY_POLICIES), async () => {
    const exec = await EnvdClient.forHandle(sandboxAccess(config), handle).exec(BRANCH_SCRIPT, {
      timeoutMs: STEP_KINDS.adopt.timeoutMs,
      envs: { FORKYARD_DIR: REPO_DIR, FORKYARD_WORK_BRANCH: workBranch },
    });
    if (exec.exitCode !== 0) throw new CloneFailedError(`Checking out ${workBranch} in the forked session's workspace failed: ${exec.stderrTail.trim() || `exit ${exec.exitCode}`}`);
    await session.branchSwitched();
    return { workBranch };
  }, { gated: false });
}
