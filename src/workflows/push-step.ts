import type { PushedBranch } from "../api/runs";
import { configuredSecrets, type Config } from "../core/env";
import { ForkyardError } from "../core/errors";
import { githubClient, githubError } from "../github/client";
import { EXPORT_DIR, EXPORT_SCRIPT, exportEnv, parseRawDiff, parseSizes, pushCommit, PushRefusedError } from "../github/push";
import { scrubSecret } from "../observability/scrub";
import { preparePushRepo } from "../github/push-repo";
import { pushTarget } from "../github/targets";
import type { EnvdClient } from "../sandbox/envd-client";
import { tail } from "../sandbox/tail";
import type { ForkParams } from "../protocol/fork-params";
import { stepConfig } from "./step-policies";
import type { StepRunner } from "./step-runner";
import { STEP } from "./steps";

const EXPORT_TIMEOUT_MS = 5 * 60_000;
const ERROR_CHARS = 1500;

/** The push failed: refused by GitHub (not a fast-forward, a policy), a file too large, or the export failed. */
export class PushFailedError extends ForkyardError {
  constructor(message: string, retryable: boolean) {
    super("push_failed", message, { status: 502, retryable });
  }
}

export interface PushStepInput {
  steps: StepRunner;
  config: Config;
  envd(): Promise<EnvdClient>;
  params: ForkParams;
  /** The commit the fork was cloned at. */
  baseSha: string;
}

/**
 * The `push` step (runs with `push: true`, after `collect`): the sandbox exports the fork's changes
 * (no secret in it), the Worker builds the commit on GitHub with GITHUB_TOKEN (github/push.ts), in
 * the run's repository or in GITHUB_PUSH_REPO, its fork (github/push-repo.ts).
 * Re-running it builds the same commit and finds the branch already there.
 */
export function runPushStep(input: PushStepInput): Promise<PushedBranch> {
  const { steps, config, params: p } = input;
  return steps.run(STEP.push, stepConfig("push", config.RETRY_POLICIES), async () => {
    const gh = githubClient(config);
    const upstream = pushTarget(p.repo, config);
    const session = await input.envd();
    const exported = await session.exec(EXPORT_SCRIPT, { timeoutMs: EXPORT_TIMEOUT_MS, envs: exportEnv(input.baseSha) });
    const date = exported.stdoutTail.trim().split("\n").pop()?.trim() ?? "";
    if (exported.exitCode !== 0 || Number.isNaN(Date.parse(date))) {
      throw new PushFailedError(`Exporting the fork's changes failed (exit ${exported.exitCode}): ${tail(exported.stderrTail.trim(), ERROR_CHARS)}`, true);
    }
    const read = (path: string) => session.readBytes(path);
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    try {
      // The repository itself, or GITHUB_PUSH_REPO (its fork) synced with it first.
      const target = await preparePushRepo(gh, upstream, p.baseBranch, config);
      const sha = await pushCommit(gh, {
        owner: target.owner,
        repo: target.repo,
        branch: p.workBranch,
        baseSha: input.baseSha,
        changes: parseRawDiff(decode(await read(`${EXPORT_DIR}/changes`))),
        sizes: parseSizes(decode(await read(`${EXPORT_DIR}/sizes`))),
        readExported: read,
        message: `forkyard: run ${p.runId} fork ${p.n}`,
        date,
        force: p.workBranch.startsWith(`forkyard/${p.runId}/`),
        secrets: configuredSecrets(config),
      });
      return { branch: p.workBranch, sha };
    } catch (err) {
      const token = config.GITHUB_TOKEN;
      if (err instanceof PushRefusedError) throw new PushFailedError(scrubSecret(`Pushing ${p.workBranch} failed: ${tail(err.message, ERROR_CHARS)}`, token), false);
      const failure = githubError(err, `push of ${p.workBranch}`, token);
      throw failure.code === "github_error" ? new PushFailedError(failure.message, failure.retryable) : failure;
    }
  });
}
