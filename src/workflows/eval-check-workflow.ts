import { ArtifactStore, patchKey } from "../artifacts/store";
import { sandboxCostUsd } from "../core/costs";
import { ForkyardError, SandboxOperationError, unwrap } from "../core/errors";
import type { Evaluation } from "../objects/eval/evaluation";
import { POOL_NAME } from "../protocol/events";
import { evalCheckLeaseKey, type EvalCheckOutcome, type EvalCheckParams } from "../protocol/eval-check";
import { REPO_DIR } from "../sandbox/git";
import { applyHiddenPatch, applyPatch } from "../sandbox/apply-patch";
import { DurableJob, type JobContext, type JobTracking } from "./durable-job";
import { runCheck } from "./fork-verification";
import { ForkSandbox } from "./fork-sandbox";
import type { JobPlan } from "./job-plan";
import { stepConfig } from "./step-policies";
import { EVAL_CHECK_STEP } from "./steps";

type Work = { passed: boolean | null; exitCode?: number; error?: string; durationMs?: number };

/**
 * An eval's hidden check of one fork (src/objects/eval): a fresh sandbox from the Pool that the
 * fork never touched clones the task's base (the run's `commit`, else the branch's head), applies
 * the fork's verified patch (built in its verification sandbox, read from R2) and the task's hidden
 * patch (its hidden tests), runs the task's prepare commands, then the hidden check.
 * Only its exit code is kept (what the check prints is the fork's code's output). The sandbox is
 * released whatever happens and the outcome reported to the eval.
 */
export class EvalCheckWorkflow extends DurableJob<EvalCheckParams, Work, EvalCheckOutcome> {
  protected tracking(p: EvalCheckParams): JobTracking {
    return { runId: p.evalId, n: p.n };
  }

  protected plan(job: JobContext<EvalCheckParams>): JobPlan<Work, EvalCheckOutcome> {
    const p = job.params;
    const { steps, config } = job;
    const retries = config.RETRY_POLICIES;
    const pool = job.env.POOL.getByName(POOL_NAME);
    const leaseKey = evalCheckLeaseKey(p.evalId, p.runId, p.n);
    const sandbox = new ForkSandbox({
      params: { runId: p.evalId, n: p.n, leaseKey, repo: p.repo, baseBranch: p.branch, ...(p.commit ? { commit: p.commit } : {}), workBranch: `forkyard-eval/${p.n}`, template: p.template, timeoutSeconds: p.timeoutSeconds, holder: "run", workflow: "eval", priority: "background" },
      config,
      step: job.step,
      steps,
      pool,
      instanceId: job.instanceId,
      taskEnv: {},
    });
    let acquired = false;
    return {
      work: async () => {
        const { acquiredAt } = await sandbox.acquire(EVAL_CHECK_STEP.prefix, { quiet: true });
        acquired = true;
        steps.setDeadline(acquiredAt + p.timeoutSeconds * 1000, p.timeoutSeconds);
        const { baseSha } = await steps.run(EVAL_CHECK_STEP.base, stepConfig("restore", retries), async ({ remainingMs }) => retryable(() => sandbox.cloneAt(remainingMs)));
        const applied = await steps.run(EVAL_CHECK_STEP.apply, stepConfig("collect", retries), () => applyForkPatch(job, sandbox));
        if (!applied.ok) return { passed: false, error: "patch_failed" };
        if (p.hiddenPatch) {
          const hidden = await steps.run(EVAL_CHECK_STEP.hiddenPatch, stepConfig("collect", retries), async () => ({ ok: await applyHiddenPatch(await sandbox.envd(), p.hiddenPatch!, baseSha) }));
          if (!hidden.ok) return { passed: null, error: "hidden_patch_failed" };
        }
        for (const [i, command] of (p.prepare ?? []).entries()) {
          const exit = await steps.run(`${EVAL_CHECK_STEP.prepare}-${i + 1}`, stepConfig("command", retries, p.timeoutSeconds * 1000), async ({ remainingMs }) => {
            const exec = await (await sandbox.envd()).exec(command, { cwd: REPO_DIR, timeoutMs: remainingMs });
            return { exitCode: exec.exitCode };
          });
          if (exit.exitCode !== 0) return { passed: null, error: `prepare_failed: command ${i + 1} exited ${exit.exitCode}` };
        }
        const check = await steps.run(EVAL_CHECK_STEP.check, stepConfig("check", retries, p.timeoutSeconds * 1000), async ({ remainingMs }) => {
          const result = await runCheck(await sandbox.envd(), p.hiddenCheck, { timeoutMs: remainingMs, envs: {} });
          // Only the verdict: the output is the fork's code's, and would show the hidden test.
          return { exitCode: result.exitCode, passed: result.passed, durationMs: result.durationMs };
        });
        return check;
      },
      // The code only: a message could quote a command (the hidden check's) or the fork's output.
      failed: (error) => ({ passed: null, error: error.code }),
      finish: async (work) => {
        const released = acquired
          ? await steps.run(EVAL_CHECK_STEP.release, stepConfig("cleanup", retries), async () => unwrap(await pool.release(leaseKey)), { gated: false })
          : { aliveSeconds: 0 };
        const outcome: EvalCheckOutcome = { ...work, costUsd: sandboxCostUsd(config, released.aliveSeconds, p.sandboxRate) };
        const evaluation: DurableObjectStub<Evaluation> = job.env.EVAL.getByName(p.evalId);
        await steps.run(EVAL_CHECK_STEP.report, stepConfig("control", retries), async () => {
          await evaluation.checkDone(p.runId, p.n, outcome);
          return { reported: true };
        }, { gated: false });
        return outcome;
      },
    };
  }
}

/**
 * A fresh sandbox that fails its probe (a busy host) is tried again within the step's retries: the
 * verdict should not depend on the host's load. (A fork's own health check is not retried: SPEC.)
 */
async function retryable<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof SandboxOperationError) throw new ForkyardError(err.code, err.message, { status: err.status, retryable: true, cause: err });
    throw err;
  }
}

/** The fork's verified patch (none: it changed nothing) written into the sandbox and applied. */
async function applyForkPatch(job: JobContext<EvalCheckParams>, sandbox: ForkSandbox): Promise<{ ok: boolean; bytes: number }> {
  const { runId, n } = job.params;
  const patch = await new ArtifactStore(job.env.ARTIFACTS).getBytes(patchKey(runId, n));
  if (!patch || patch.byteLength === 0) return { ok: true, bytes: 0 };
  return { ok: await applyPatch(await sandbox.envd(), patch), bytes: patch.byteLength };
}
