import type { CheckResult, PushedBranch } from "../api/runs";
import { buildVerified, type StoredWork } from "../artifacts/collect";
import { CommandFailedError, unwrap } from "../core/errors";
import { stallMs } from "../protocol/fork-params";
import { layTree, stageTree } from "../artifacts/export-tree";
import { verifyTreeKey } from "../artifacts/store";
import { EXCLUDE_PREPARED_SCRIPT, REPO_DIR } from "../sandbox/git";
import type { EnvdClient } from "../sandbox/envd-client";
import type { ForkContext } from "./fork-context";
import { ForkSandbox } from "./fork-sandbox";
import { runPushStep } from "./push-step";
import { stepConfig } from "./step-policies";
import { VERIFY_STEP } from "./steps";

/** The check's output kept (stdout and stderr, each its last 64 KiB). */
export const CHECK_TAIL_CHARS = 64 * 1024;

/** The lease of a fork's verification sandbox: fixed per fork, so every retry and replay finds it. */
export function verifyLeaseKey(forkLeaseKey: string): string {
  return `${forkLeaseKey}-verify`;
}

export interface Verified extends StoredWork {
  commit: string;
  check?: CheckResult;
  pushed?: PushedBranch;
}

/** Runs a check command and keeps what it said (tails, exit code, duration). */
export async function runCheck(session: EnvdClient, command: string, opts: { timeoutMs: number; envs: Record<string, string>; stallMs?: number; verified?: boolean }): Promise<CheckResult> {
  const exec = await session.exec(command, { cwd: REPO_DIR, timeoutMs: opts.timeoutMs, envs: opts.envs, tailChars: CHECK_TAIL_CHARS, ...(opts.stallMs ? { stallMs: opts.stallMs } : {}) });
  return {
    command,
    exitCode: exec.exitCode,
    passed: exec.exitCode === 0,
    stdoutTail: exec.stdoutTail,
    stderrTail: exec.stderrTail,
    durationMs: exec.durationMs,
    ...(opts.verified ? { verified: true } : {}),
  };
}

/**
 * A fork's verification: what ranks, picks, pushes and is shown as the fork's patch is computed in
 * a fresh sandbox its code never ran in. `export()` reads the fork's files by the files API (no
 * shell, no git of the fork's) into R2; once the fork's own sandbox is released, `run()` acquires
 * a sandbox through the Pool under `<lease>-verify` (cap, rate, FIFO; the reaper and a run's cancel
 * know it), clones the base (prepare commands re-run), lays the files there, commits them with a
 * clean git, pushes from there, then runs the check there. `release()` frees it; its sandbox time is
 * the fork's verification cost.
 */
export class ForkVerification {
  readonly #ctx: ForkContext;
  readonly #baseSha: string;
  readonly #sandbox: ForkSandbox;
  #started = false;
  #exportedAt: string | undefined;

  /** Whether the verification sandbox was ever asked for (then `release()` must run). */
  get started(): boolean {
    return this.#started;
  }

  constructor(ctx: ForkContext, instanceId: string, baseSha: string) {
    this.#ctx = ctx;
    this.#baseSha = baseSha;
    const p = ctx.params;
    this.#sandbox = new ForkSandbox({ params: { ...p, leaseKey: verifyLeaseKey(p.leaseKey) }, config: ctx.config, step: ctx.step, steps: ctx.steps, pool: ctx.pool, instanceId, taskEnv: ctx.taskEnv });
  }

  /** verify-export: the fork's files staged in R2, read by the files API (before its sandbox is released). Its date dates the commit. */
  async export(): Promise<void> {
    const { params: p, config, sandbox: fork, store } = this.#ctx;
    const exported = await fork.step(VERIFY_STEP.export, stepConfig("artifacts", config.RETRY_POLICIES), async () => ({
      ...(await stageTree({ from: await fork.envd(), root: REPO_DIR, store, runId: p.runId, n: p.n })),
      at: new Date().toISOString(),
    }));
    this.#exportedAt = exported.at;
  }

  /** The rest, once the fork's own sandbox is released: a fresh sandbox, the base, the tree laid, built, pushed, checked. */
  async run(): Promise<Verified> {
    const { params: p, config, steps, store, taskEnv } = this.#ctx;
    const retries = config.RETRY_POLICIES;
    const verifier = this.#sandbox;
    const date = this.#exportedAt;
    if (!date) throw new Error("verification: run() before export()");
    this.#started = true;
    await verifier.acquire(VERIFY_STEP.prefix, { quiet: true });
    await steps.run(VERIFY_STEP.base, stepConfig("restore", retries), ({ remainingMs }) => this.#base(remainingMs));
    await steps.run(VERIFY_STEP.lay, stepConfig("artifacts", retries), async () => layTree({ to: await verifier.envd(), store, runId: p.runId, n: p.n }));
    const built = await steps.run(VERIFY_STEP.build, stepConfig("artifacts", retries), async () =>
      buildVerified({
        session: await verifier.envd(),
        store,
        runId: p.runId,
        n: p.n,
        baseSha: this.#baseSha,
        workBranch: p.workBranch,
        message: `forkyard: run ${p.runId} fork ${p.n}`,
        date,
        maxPatchBytes: config.ARTIFACT_MAX_BYTES,
        ...(p.verify?.protectedPaths ? { protectedPaths: p.verify.protectedPaths } : {}),
      }),
    );
    const verified: Verified = { ...built };
    // Pushed before the check runs: nothing of the fork's has run in this sandbox yet.
    if (p.push && built.diff.files > 0) verified.pushed = await runPushStep({ steps, config, envd: () => verifier.envd(), params: p, baseSha: this.#baseSha });
    if (p.check) {
      const command = p.check;
      verified.check = await steps.run(VERIFY_STEP.check, stepConfig("check", retries, p.timeoutSeconds * 1000), async ({ remainingMs }) =>
        runCheck(await verifier.envd(), command, { timeoutMs: remainingMs, envs: taskEnv, stallMs: stallMs(p), verified: true }),
      );
    }
    return verified;
  }

  /** The base in the fresh sandbox: cloned at the fork's base commit, the run's prepare commands re-run. */
  async #base(remainingMs: number): Promise<{ prepared: number }> {
    const { params: p, taskEnv } = this.#ctx;
    await this.#sandbox.cloneAt(remainingMs, this.#baseSha);
    if (!p.prepare) return { prepared: 0 };
    const session = await this.#sandbox.envd();
    for (const command of [...p.prepare.commands, EXCLUDE_PREPARED_SCRIPT]) {
      const exec = await session.exec(command, { cwd: REPO_DIR, timeoutMs: remainingMs, envs: taskEnv });
      if (exec.exitCode !== 0) throw new CommandFailedError(command, exec.exitCode);
    }
    return { prepared: p.prepare.commands.length };
  }

  /** Releases the verification sandbox (if it was ever asked for): its sandbox seconds. */
  async release(): Promise<number> {
    if (!this.#started) return 0;
    const { config, steps, pool } = this.#ctx;
    const key = this.#sandbox.leaseKey;
    const { runId, n } = this.#ctx.params;
    const released = await steps.run(
      VERIFY_STEP.release,
      stepConfig("cleanup", config.RETRY_POLICIES),
      async () => {
        const answer = unwrap(await pool.release(key));
        // The staged tree is no longer needed (retention would remove it later anyway).
        await this.#ctx.store.deletePrefix(verifyTreeKey(runId, n, ""));
        return answer;
      },
      { gated: false },
    );
    return released.aliveSeconds;
  }
}
