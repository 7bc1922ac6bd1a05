import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { Env } from "../env";
import { loadConfig } from "../env";
import { CloneFailedError, decodeStepError, SandboxOperationError, unwrap } from "../errors";
import { CAPACITY_EVENT, POOL_NAME, type Pool } from "../durable-objects/pool";
import type { Orchestrator } from "../durable-objects/orchestrator";
import { sandboxAccess } from "../sandbox/connection";
import type { SandboxHandle } from "../sandbox/handle";
import { CLONE_SCRIPT, cloneEnv, COLLECT_SCRIPT, collectEnv, GIT_SHA, parseNumstat, REPO_DIR } from "../sandbox/git";
import { SandboxSession } from "../sandbox/session";
import { sandboxCostUsd } from "../runs/costs";
import { statusForErrorCode, type ForkOutcome } from "../runs/fork-outcome";
import { forkLeaseRequest, type ForkParams } from "./fork-params";
import { stepConfig } from "./retry-policies";
import { StepRunner } from "./step-runner";
import { STEP } from "./steps";
import { runAgentTask } from "./agent-task";
import { runClaudeCodeTask } from "./claude-code-task";
import { runCommandsTask } from "./commands-task";
import type { ForkContext } from "./fork-context";
import { resolveModel } from "../agent/models";
import { runPushStep } from "./push-step";

const HEALTH_TIMEOUT_MS = 30_000;
const CONTROL_STEP_TIMEOUT_MS = 2 * 60_000;
const MAX_CAPACITY_WAIT_MS = 30_000;
/** A waiter asks again after this without a notice (a safety net: the Pool renotifies lost notices). */
const CAPACITY_WAIT_TIMEOUT_MS = 6 * 3600_000;

/**
 * One fork: budget -> acquire-sandbox -> health-check -> clone -> the task (commands, or the agent's
 * model and tool steps) -> check -> collect,
 * then release-sandbox and report whatever happened. Every step is checkpointed; every step body
 * is safe to run again.
 */
export class ForkWorkflow extends WorkflowEntrypoint<Env, ForkParams> {
  override async run(event: Readonly<WorkflowEvent<ForkParams>>, step: WorkflowStep): Promise<ForkOutcome> {
    const p = event.payload;
    const config = loadConfig(this.env);
    const retries = config.RETRY_POLICIES;
    const orchestrator = this.env.ORCHESTRATOR.getByName(p.runId);
    const pool = this.env.POOL.getByName(POOL_NAME);
    const steps = new StepRunner(step, { runId: p.runId, n: p.n, orchestrator });
    const forkTimeoutMs = p.timeoutSeconds * 1000;
    const access = () => sandboxAccess(config);

    let interrupted = false;
    const outcome: ForkOutcome = {
      n: p.n,
      status: "running",
      sandboxId: null,
      branch: p.workBranch,
      commands: [],
      sandboxSeconds: 0,
      costUsd: { sandbox: 0, llm: 0 },
    };

    try {
      // forkBegin itself refuses a cancelled fork or a spent budget (no separate gate) and records the step.
      await steps.run(STEP.budget, stepConfig("budget", retries, CONTROL_STEP_TIMEOUT_MS), async ({ record }) => unwrap(await orchestrator.forkBegin(p.n, event.instanceId, record())), {
        gated: false,
        recordedByBody: true,
      });

      // Waiting for capacity costs two steps per turn offered, however long the wait: the Pool
      // tells waiters in arrival order (CAPACITY_EVENT) and tells them again if a notice is lost.
      let handle: SandboxHandle | undefined;
      for (let wait = 0; ; wait++) {
        const acquired = await steps.run(STEP.acquireSandbox, stepConfig("acquire", retries, CONTROL_STEP_TIMEOUT_MS), async ({ report }) => {
          const result = unwrap(await pool.acquire(forkLeaseRequest(p, event.instanceId)));
          if (result.status === "acquired") report({ kind: "sandbox", sandboxId: result.sandboxId });
          else if (result.reason === "capacity") report({ kind: "queued", position: result.position ?? 0 });
          return result;
        });
        if (acquired.status === "acquired") {
          outcome.sandboxId = acquired.sandboxId;
          // Older checkpoints carry no handle: their steps connect through the control plane.
          handle = acquired.handle;
          // The fork's time runs from its sandbox, not from its place in the queue.
          steps.setDeadline(acquired.acquiredAt + forkTimeoutMs, p.timeoutSeconds);
          break;
        }
        const name = `${STEP.waitForCapacity}-${wait + 1}`;
        if (acquired.reason === "capacity") {
          await step.waitForEvent(name, { type: CAPACITY_EVENT, timeout: CAPACITY_WAIT_TIMEOUT_MS }).catch(() => undefined);
        } else {
          await step.sleep(name, Math.min(Math.max(acquired.retryAfterMs, 250), MAX_CAPACITY_WAIT_MS));
        }
      }
      const sandboxId = outcome.sandboxId;
      const openSession = () => (handle ? Promise.resolve(SandboxSession.forHandle(access(), handle)) : SandboxSession.open(access(), sandboxId));

      await steps.run(STEP.healthCheck, stepConfig("health", retries, HEALTH_TIMEOUT_MS * 2), async () => {
        const session = await openSession();
        const probe = await session.exec("echo ok", { timeoutMs: HEALTH_TIMEOUT_MS });
        if (probe.exitCode !== 0 || probe.stdoutTail.trim() !== "ok") throw new SandboxOperationError(`Health check failed: ${probe.stderrTail || probe.stdoutTail}`);
        return { ok: true };
      });

      const clone = await steps.run(STEP.clone, stepConfig("clone", retries, forkTimeoutMs), async ({ remainingMs }) => {
        const session = await openSession();
        const result = await session.exec(CLONE_SCRIPT, { timeoutMs: remainingMs, envs: cloneEnv({ repo: p.repo, baseBranch: p.baseBranch, workBranch: p.workBranch }) });
        const baseSha = result.stdoutTail.trim().split("\n").pop() ?? "";
        if (result.exitCode !== 0 || !GIT_SHA.test(baseSha)) throw new CloneFailedError(`Cloning ${p.repo} (${p.baseBranch}) failed: ${result.stderrTail.trim() || `exit ${result.exitCode}`}`);
        return { baseSha };
      });

      const ctx: ForkContext = {
        params: p,
        config,
        step,
        steps,
        orchestrator,
        pool,
        sandboxId,
        session: openSession,
        taskEnv: { FORKYARD_RUN_ID: p.runId, FORKYARD_FORK: String(p.n), FORKYARD_FORKS: String(p.forks), FORKYARD_BRANCH: p.workBranch },
      };
      if ("commands" in p.task) await runCommandsTask(ctx, p.task.commands, outcome.commands);
      else if (p.task.runtime === "claude-code") outcome.agent = await runClaudeCodeTask(ctx, { ...p.task, model: p.task.model ?? resolveModel() });
      else outcome.agent = await runAgentTask(ctx, { ...p.task, model: p.task.model ?? resolveModel() });

      if (p.check) {
        const checkCommand = p.check;
        outcome.check = await steps.run(STEP.check, stepConfig("check", retries, forkTimeoutMs), async ({ remainingMs }) => {
          const session = await openSession();
          const exec = await session.exec(checkCommand, { cwd: REPO_DIR, timeoutMs: remainingMs, envs: ctx.taskEnv });
          return { command: checkCommand, exitCode: exec.exitCode, passed: exec.exitCode === 0 };
        });
      }

      outcome.diff = await steps.run(STEP.collect, stepConfig("collect", retries, CONTROL_STEP_TIMEOUT_MS), async () => {
        const session = await openSession();
        const message = `forkyard: run ${p.runId} fork ${p.n}`;
        const exec = await session.exec(COLLECT_SCRIPT, { timeoutMs: 60_000, envs: collectEnv({ baseSha: clone.baseSha, message }), tailChars: 1_000_000 });
        if (exec.exitCode !== 0) throw new SandboxOperationError(`Collecting the diff failed: ${exec.stderrTail.trim()}`);
        return parseNumstat(exec.stdoutTail);
      });
      if (p.push && outcome.diff.files > 0) outcome.pushed = await runPushStep({ steps, config, session: openSession, params: p, baseSha: clone.baseSha });
      outcome.status = "succeeded";
    } catch (err) {
      // The engine stopping this run (pause, terminate, eviction) is no outcome of the fork: it
      // replays later from its checkpoints, so its sandbox must stay.
      if (isEngineInterruption(err)) {
        interrupted = true;
        throw err;
      }
      const error = decodeStepError(err);
      outcome.status = statusForErrorCode(error.code);
      outcome.error = error;
    } finally {
      if (!interrupted) await this.#finish(steps, pool, orchestrator, p, outcome);
    }
    return outcome;
  }

  /** release-sandbox then report: whatever happened before, in a `finally`. */
  async #finish(
    steps: StepRunner,
    pool: DurableObjectStub<Pool>,
    orchestrator: DurableObjectStub<Orchestrator>,
    p: ForkParams,
    outcome: ForkOutcome,
  ): Promise<void> {
    const config = loadConfig(this.env);
    const retries = config.RETRY_POLICIES;
    {
      const released = await steps.run(
        STEP.releaseSandbox,
        stepConfig("cleanup", retries, CONTROL_STEP_TIMEOUT_MS),
        async () => unwrap(await pool.release(p.leaseKey)),
        { gated: false },
      );
      outcome.sandboxSeconds = released.aliveSeconds;
      outcome.costUsd.sandbox = sandboxCostUsd(config, released.aliveSeconds, p.sandboxRate);
      // The command results went to the Orchestrator with each command's step: the report leaves
      // them out (the instance's output keeps them for the reconciler, should the report be lost).
      await steps.run(STEP.report, stepConfig("report", retries, CONTROL_STEP_TIMEOUT_MS), async ({ record }) => unwrap(await orchestrator.forkFinished({ ...outcome, commands: [] }, record())), {
        gated: false,
        recordedByBody: true,
      });
    }
  }
}

/** Errors the Workflows engine raises into run() when it stops the instance itself. */
function isEngineInterruption(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /Aborting engine|engine (?:was )?(?:shut ?down|died)|instance (?:was )?(?:paused|terminated)/i.test(message);
}
