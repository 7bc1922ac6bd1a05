import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { runAgent, type AgentHost } from "../agent/loop";
import { callModel } from "../agent/model-client";
import { parseModelPrices } from "../agent/pricing";
import { buildSessionSystemPrompt, buildTools } from "../agent/prompt";
import { executeTool } from "../agent/tools";
import { DEFAULT_STALL_SECONDS } from "../api/runs";
import type { Session } from "../objects/session/session";
import type { Env } from "../core/env";
import { loadConfig } from "../core/env";
import { BudgetExceededError, decodeStepError, unwrap } from "../core/errors";
import { sandboxAccess } from "../sandbox/connection";
import type { SandboxHandle } from "../sandbox/handle";
import { SandboxSession } from "../sandbox/session";
import { SETUP_TIMEOUT_SECONDS, TURN_TIMEOUT_SECONDS, type SessionJob, type SetupOutcome, type TurnOutcome } from "../protocol/session-job";
import { ForkSandbox } from "./fork-sandbox";
import { stepConfig } from "./retry-policies";
import { isEngineInterruption, StepRunner, type StepTracker } from "./step-runner";
import { ModelSteps } from "./model-step";
import { budgetResumeStep, budgetWaitStep, SESSION_STEP, toolStepName } from "./steps";
import { BUDGET_RAISED_EVENT, POOL_NAME } from "../protocol/events";

const CONTROL_STEP_TIMEOUT_MS = 2 * 60_000;
const TOOL_STEP_TIMEOUT_MS = 15 * 60_000;

/** A session's steps (turn 0: its setup), reported to its Session object. */
function sessionTracker(session: DurableObjectStub<Session>, turn: number): StepTracker {
  return {
    stepStarted: async (name, attempt) => session.stepStarted(turn, name, attempt),
    stepFinished: async (name, report) => session.stepFinished(turn, name, report),
  };
}

/**
 * A session's durable work: its setup (acquire a sandbox, check it, clone onto the work branch),
 * or one turn — the same agent loop as a fork's, a checkpointed step per model call and per tool
 * call, with the session's earlier turns as history — in the sandbox the session keeps.
 */
export class SessionTurnWorkflow extends WorkflowEntrypoint<Env, SessionJob> {
  override async run(event: Readonly<WorkflowEvent<SessionJob>>, step: WorkflowStep): Promise<TurnOutcome | SetupOutcome> {
    const job = event.payload;
    const session = this.env.SESSION.getByName(job.sessionId);
    const n = job.kind === "turn" ? job.n : 0;
    const steps = new StepRunner(step, { runId: job.sessionId, n, tracker: sessionTracker(session, n), job: { name: "turn", owner: "session" } });
    const control = stepConfig("report", loadConfig(this.env).RETRY_POLICIES, CONTROL_STEP_TIMEOUT_MS);
    if (job.kind === "setup") {
      const outcome = await this.#setup(job.sessionId, event.instanceId, step, steps, session);
      await steps.run(SESSION_STEP.setupFinished, control, async () => unwrap(await session.setupFinished(outcome)), { gated: false });
      return outcome;
    }
    const outcome = await this.#turn(job.sessionId, job.n, event.instanceId, step, steps, session);
    await steps.run(SESSION_STEP.finish, control, async () => unwrap(await session.turnFinished(outcome)), { gated: false });
    return outcome;
  }

  async #setup(sessionId: string, instanceId: string, step: WorkflowStep, steps: StepRunner, session: DurableObjectStub<Session>): Promise<SetupOutcome> {
    const config = loadConfig(this.env);
    try {
      const info = await steps.run(SESSION_STEP.setupInfo, stepConfig("report", config.RETRY_POLICIES, CONTROL_STEP_TIMEOUT_MS), async () => unwrap(await session.setupInfo()), { gated: false });
      const sandbox = new ForkSandbox({
        params: { runId: sessionId, n: 0, leaseKey: info.leaseKey, repo: info.repo, baseBranch: info.branch, workBranch: info.workBranch, template: info.templateId, timeoutSeconds: info.timeoutSeconds, holder: "session", workflow: "session" },
        config,
        step,
        steps,
        pool: this.env.POOL.getByName(POOL_NAME),
        instanceId,
        taskEnv: {},
      });
      const { acquiredAt } = await sandbox.acquire();
      steps.setDeadline(acquiredAt + SETUP_TIMEOUT_SECONDS * 1000, SETUP_TIMEOUT_SECONDS);
      await sandbox.health();
      const { baseSha } = await sandbox.clone(SETUP_TIMEOUT_SECONDS * 1000);
      return { kind: "setup", ok: true, sandboxId: sandbox.sandboxId, baseSha };
    } catch (err) {
      if (isEngineInterruption(err)) throw err;
      return { kind: "setup", ok: false, error: decodeStepError(err) };
    }
  }

  async #turn(sessionId: string, n: number, instanceId: string, step: WorkflowStep, steps: StepRunner, session: DurableObjectStub<Session>): Promise<TurnOutcome> {
    const config = loadConfig(this.env);
    const retries = config.RETRY_POLICIES;
    const prices = parseModelPrices(config.MODEL_PRICES);
    const control = stepConfig("report", retries, CONTROL_STEP_TIMEOUT_MS);
    const access = sandboxAccess(config);
    try {
      const start = await steps.run(SESSION_STEP.begin, control, async () => unwrap(await session.beginTurn(n, instanceId)), { gated: false });
      steps.setDeadline(start.startedAt + TURN_TIMEOUT_SECONDS * 1000, TURN_TIMEOUT_SECONDS);
      const history = await steps.run(SESSION_STEP.history, control, async () => unwrap(await session.history(n)), { gated: false });
      let handle: SandboxHandle = start.handle;
      const models = new ModelSteps({
        steps,
        retries,
        keyPrefix: `turn:${n}`,
        model: start.model,
        prices,
        record: (k, key, result, usd) => session.recordModelCall(n, k, key, result, usd),
        release: (key) => session.releaseReservation(key),
        // Out of budget: the sandbox pauses until the budget is raised (PATCH budgetUsd), then the call is made.
        async waitForBudget(k, wait) {
          await steps.run(budgetWaitStep(k, wait), control, async () => unwrap(await session.awaitBudget(n)), { gated: true, budget: false });
          try {
            await step.waitForEvent(`${BUDGET_RAISED_EVENT}-${k}-${wait}`, { type: BUDGET_RAISED_EVENT, timeout: config.BUDGET_WAIT_SECONDS * 1000 });
          } catch {
            throw new BudgetExceededError(`The session's budget was spent and not raised within ${config.BUDGET_WAIT_SECONDS} s.`);
          }
          handle = await steps.run(budgetResumeStep(k, wait), control, async () => unwrap(await session.resumeForTurn(n)), { gated: true, budget: false });
        },
      });

      const host: AgentHost = {
        modelStep: (k, call) => models.run(k, call),
        async toolStep(k, index, use, call) {
          return steps.run(toolStepName(k, index), stepConfig("tool", retries, TOOL_STEP_TIMEOUT_MS), async () => {
            const result = await call();
            await session.recordToolCall(n, k, index, { ...use, id: result.toolUseId }, result);
            return result;
          }, { gated: true, budget: false });
        },
      };

      const result = await runAgent(
        host,
        {
          callModel: (request) => callModel({ apiKey: config.ANTHROPIC_API_KEY ?? "", baseURL: config.ANTHROPIC_BASE_URL }, request),
          executeTool: (call) => executeTool(SandboxSession.forHandle(access, handle), call, { remainingMs: steps.remainingMs(), envs: { FORKYARD_SESSION_ID: sessionId, FORKYARD_TURN: String(n) }, stallMs: DEFAULT_STALL_SECONDS * 1000 }),
          beforeModelCall: async (_k, expectedUsd) => unwrap(await session.reserveModelCall(n, models.ledgerKey, expectedUsd)),
        },
        {
          prompt: start.prompt,
          model: start.model,
          system: buildSessionSystemPrompt(start),
          tools: buildTools(),
          maxTurns: config.AGENT_MAX_TURNS,
          prices,
          history,
          contextTokens: config.AGENT_CONTEXT_TOKENS,
        },
      );
      return { kind: "turn", n, status: "succeeded", stopReason: result.stopReason, summary: result.summary, toolCalls: result.toolCalls, tokens: result.tokens };
    } catch (err) {
      if (isEngineInterruption(err)) throw err;
      const error = decodeStepError(err);
      const status = error.code === "cancelled" ? "cancelled" : error.code === "budget_exceeded" ? "budget_exceeded" : "failed";
      return { kind: "turn", n, status, error };
    }
  }
}
