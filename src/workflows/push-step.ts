import type { ConnectionOpts } from "e2b";
import type { PushedBranch } from "../api/runs";
import type { Config } from "../env";
import { ForkyardError } from "../errors";
import { GitHubUnavailableError } from "../github/client";
import { PUSH_SCRIPT, pushEnv } from "../github/push";
import { scrubSecret } from "../github/scrub";
import { pushTarget } from "../github/targets";
import { GIT_SHA } from "../sandbox/git";
import { SandboxSession } from "../sandbox/session";
import { tail } from "../sandbox/tail";
import type { ForkParams } from "./fork-params";
import { stepConfig } from "./retry-policies";
import type { StepRunner } from "./step-runner";
import { STEP } from "./steps";

const PUSH_TIMEOUT_MS = 5 * 60_000;
const ERROR_CHARS = 1500;

/** `git push` failed (rejected, unreachable remote, bad credentials); its output is in the message, token removed. */
export class PushFailedError extends ForkyardError {
  constructor(message: string) {
    super("push_failed", message, { status: 502, retryable: true });
  }
}

export interface PushStepInput {
  steps: StepRunner;
  config: Config;
  connection(): ConnectionOpts;
  sandboxId: string;
  params: ForkParams;
}

/**
 * The `push` step (runs with `push: true`, after `collect`): pushes the fork's work branch from its
 * sandbox with GITHUB_TOKEN (see github/push.ts for how the token stays secret). Re-running it
 * pushes the same commit again, which changes nothing.
 */
export function runPushStep(input: PushStepInput): Promise<PushedBranch> {
  const { steps, config, params: p, sandboxId } = input;
  return steps.run(STEP.push, stepConfig("collect", config.RETRY_POLICIES, PUSH_TIMEOUT_MS + 30_000), async () => {
    const token = config.GITHUB_TOKEN;
    if (!token) throw new GitHubUnavailableError("Cannot push: this deployment has no GITHUB_TOKEN.");
    const target = pushTarget(p.repo, config);
    const session = await SandboxSession.open(input.connection(), sandboxId);
    const exec = await session.exec(PUSH_SCRIPT, {
      timeoutMs: PUSH_TIMEOUT_MS,
      envs: pushEnv({ ...target, token, workBranch: p.workBranch, force: p.workBranch.startsWith(`forkyard/${p.runId}/`) }),
    });
    const sha = exec.stdoutTail.trim().split("\n").pop()?.trim() ?? "";
    if (exec.exitCode !== 0 || !GIT_SHA.test(sha)) {
      const output = [scrubSecret(exec.stderrTail, token), scrubSecret(exec.stdoutTail, token)].join("\n").trim();
      throw new PushFailedError(`Pushing ${p.workBranch} failed (exit ${exec.exitCode}): ${tail(output, ERROR_CHARS)}`);
    }
    return { branch: p.workBranch, sha };
  });
}
