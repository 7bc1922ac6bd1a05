import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { Env } from "../core/env";
import { loadConfig } from "../core/env";
import { decodeStepError, unwrap } from "../core/errors";
import type { Pool } from "../objects/pool/pool";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import { REPO_DIR } from "../sandbox/git";
import { sandboxCostUsd } from "../core/costs";
import { statusForErrorCode, type ForkOutcome } from "../runs/fork-outcome";
import { stallMs, type ForkParams } from "../protocol/fork-params";
import { stepConfig } from "./retry-policies";
import { forkTracker, isEngineInterruption, StepRunner } from "./step-runner";
import { STEP } from "./steps";
import { runAgentTask } from "./agent-task";
import { runClaudeCodeTask } from "./claude-code-task";
import { runCommandsTask } from "./commands-task";
import type { ForkContext } from "./fork-context";
import { ForkSandbox } from "./fork-sandbox";
import { resolveModel } from "../agent/models";
import { runPushStep } from "./push-step";
import { collectArtifacts, collectWork } from "../artifacts/collect";
import type { DiffStats } from "../api/runs";
import { ArtifactStore } from "../artifacts/store";
import { ForkBranching, loadBranchState } from "./fork-branching";
import { errorFields, log } from "../observability/log";
import { POOL_NAME } from "../protocol/events";

const CONTROL_STEP_TIMEOUT_MS = 2 * 60_000;
const ARTIFACTS_STEP_TIMEOUT_MS = 15 * 60_000;

/**
 * One fork: budget -> acquire-sandbox -> health-check -> clone -> the task (commands, or the agent's
 * model and tool steps) -> check -> collect (diff stats, the patch) -> artifacts (files by glob) -> push,
 * then release-sandbox and report whatever happened. Every step is checkpointed; every step body
 * is safe to run again. Steps that use the sandbox go through ForkSandbox, which replaces a lost one.
 */
export class ForkWorkflow extends WorkflowEntrypoint<Env, ForkParams> {
  override async run(event: Readonly<WorkflowEvent<ForkParams>>, step: WorkflowStep): Promise<ForkOutcome> {
    const p = event.payload;
    const config = loadConfig(this.env);
    const retries = config.RETRY_POLICIES;
    const orchestrator = this.env.ORCHESTRATOR.getByName(p.runId);
    const pool = this.env.POOL.getByName(POOL_NAME);
    // A long step tells the Orchestrator it is alive well within STALE_FORK_SECONDS: silence means a stuck instance.
    const steps = new StepRunner(step, { runId: p.runId, n: p.n, tracker: forkTracker(orchestrator, p.n), heartbeatMs: (config.STALE_FORK_SECONDS * 1000) / 3 });
    const forkTimeoutMs = p.timeoutSeconds * 1000;

    let interrupted = false;
    let forkSandbox: ForkSandbox | undefined;
    let branching: ForkBranching | undefined;
    const store = new ArtifactStore(this.env.ARTIFACTS);
    const taskEnv = { FORKYARD_RUN_ID: p.runId, FORKYARD_FORK: String(p.n), FORKYARD_FORKS: String(p.forks), FORKYARD_BRANCH: p.workBranch };
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

      // A branched fork starts where its parent stood (stored once, before the fork was launched).
      const branchState = p.branch ? await loadBranchState(store, p.branch.stateKey) : undefined;
      const sandbox = new ForkSandbox({ params: p, config, step, steps, pool, instanceId: event.instanceId, taskEnv });
      // A branch of an ended fork forks its kept sandbox; one of a running fork finds its sandbox forked already.
      if (p.branch?.sourceLeaseKey) await sandbox.forkFrom(p.branch.sourceLeaseKey);
      // The fork's time runs from its sandbox, not from its place in the queue.
      const { acquiredAt } = await sandbox.acquire();
      outcome.sandboxId = sandbox.sandboxId;
      steps.setDeadline(acquiredAt + forkTimeoutMs, p.timeoutSeconds);
      forkSandbox = sandbox;

      await sandbox.health();
      // A run with `prepare`: the sandbox is a fork of the prepared one (no clone), or it prepares itself.
      const prepared = p.prepare;
      const clone = branchState
        ? await sandbox.adoptBranch(branchState)
        : prepared?.mode === "forked" && prepared.baseSha
          ? await sandbox.adoptPrepared(prepared.commands, prepared.baseSha)
          : await sandbox.clone(forkTimeoutMs);
      if (prepared?.mode === "per_fork" && !branchState) await sandbox.prepare(prepared.commands, forkTimeoutMs);

      branching = new ForkBranching({ params: p, config, steps, orchestrator, pool, sandbox, store });
      const ctx: ForkContext = { params: p, config, step, steps, orchestrator, pool, sandbox, session: () => sandbox.session(), store, taskEnv, branching, ...(branchState ? { branchState } : {}) };
      if ("commands" in p.task) await runCommandsTask(ctx, p.task.commands, outcome.commands);
      else if (p.task.runtime === "claude-code") outcome.agent = await runClaudeCodeTask(ctx, { ...p.task, prompt: p.branch?.prompt ?? p.task.prompt, model: p.task.model ?? resolveModel() });
      else outcome.agent = await runAgentTask(ctx, { ...p.task, model: p.task.model ?? resolveModel() });
      await branching.at("end");

      if (p.check) {
        const checkCommand = p.check;
        outcome.check = await sandbox.step(STEP.check, stepConfig("check", retries, forkTimeoutMs), async ({ remainingMs }) => {
          const session = await sandbox.session();
          const exec = await session.exec(checkCommand, { cwd: REPO_DIR, timeoutMs: remainingMs, envs: ctx.taskEnv, stallMs: stallMs(p) });
          return { command: checkCommand, exitCode: exec.exitCode, passed: exec.exitCode === 0 };
        });
      }

      const storage = () => ({ store, runId: p.runId, n: p.n });
      const collected = await sandbox.step(STEP.collect, stepConfig("collect", retries, CONTROL_STEP_TIMEOUT_MS), async () =>
        collectWork({ ...storage(), session: await sandbox.session(), baseSha: clone.baseSha, message: `forkyard: run ${p.runId} fork ${p.n}` }),
      );
      // A checkpoint from before collect stored patches holds the bare diff stats.
      const { diff, patch } = "diff" in collected ? collected : { diff: collected as DiffStats, patch: undefined };
      outcome.diff = diff;
      if (p.artifacts) {
        const globs = p.artifacts;
        const files = await sandbox.step(STEP.artifacts, stepConfig("collect", retries, ARTIFACTS_STEP_TIMEOUT_MS), async ({ remainingMs }) =>
          collectArtifacts({ ...storage(), session: await sandbox.session(), globs, maxBytes: config.ARTIFACT_MAX_BYTES, timeoutMs: Math.min(remainingMs, ARTIFACTS_STEP_TIMEOUT_MS) }),
        );
        outcome.artifacts = { ...files, ...(patch ? { patch } : {}) };
      } else if (patch) {
        outcome.artifacts = { files: 0, bytes: 0, skipped: [], skippedCount: 0, patch };
      }
      if (p.push && outcome.diff.files > 0) outcome.pushed = await runPushStep({ steps, config, session: () => sandbox.session(), params: p, baseSha: clone.baseSha });
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
      if (!interrupted) {
        outcome.recoveries = forkSandbox?.recoveries ?? 0;
        if (forkSandbox?.sandboxId) outcome.sandboxId = forkSandbox.sandboxId;
        await this.#finish(steps, pool, orchestrator, p, outcome, forkSandbox, branching);
      }
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
    sandbox: ForkSandbox | undefined,
    branching: ForkBranching | undefined,
  ): Promise<void> {
    const config = loadConfig(this.env);
    const retries = config.RETRY_POLICIES;
    {
      const leaseKey = sandbox?.leaseKey ?? p.leaseKey;
      // A kept sandbox (keepSandboxes) is paused instead, for a session to continue; a cancelled fork's never is.
      const keep = p.keepSandbox && outcome.status !== "cancelled" && sandbox?.sandboxId;
      // What a branch of the kept fork starts from (its workspace's journal, its conversation).
      if (keep && branching) await branching.storeEndState().catch((err) => log("warn", "fork.branch_state_failed", { runId: p.runId, fork: p.n, ...errorFields(err) }));
      const released = await steps.run(
        STEP.releaseSandbox,
        stepConfig("cleanup", retries, CONTROL_STEP_TIMEOUT_MS),
        async () => (keep ? unwrap(await pool.keep(leaseKey, config.KEEP_SANDBOX_SECONDS)) : { ...unwrap(await pool.release(leaseKey)), keptUntil: null }),
        { gated: false },
      );
      if (released.keptUntil) outcome.kept = { leaseKey, until: new Date(released.keptUntil).toISOString() };
      // With the time of sandboxes lost along the way (their leases were released when replaced).
      outcome.sandboxSeconds = released.aliveSeconds + (sandbox?.releasedSeconds ?? 0);
      outcome.costUsd.sandbox = sandboxCostUsd(config, outcome.sandboxSeconds, p.sandboxRate);
      // The command results went to the Orchestrator with each command's step: the report leaves
      // them out (the instance's output keeps them for the reconciler, should the report be lost).
      await steps.run(STEP.report, stepConfig("report", retries, CONTROL_STEP_TIMEOUT_MS), async ({ record }) => unwrap(await orchestrator.forkFinished({ ...outcome, commands: [] }, record())), {
        gated: false,
        recordedByBody: true,
      });
    }
  }
}
