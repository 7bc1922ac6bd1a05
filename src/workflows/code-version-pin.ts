import type { WorkflowStep } from "cloudflare:workers";
import { buildCodeVersion, LEGACY_CODE_VERSION, planIncludes, recordedCodeVersion } from "../protocol/code-version";
import { JOB_STEP } from "./steps";

/** Which plan a job's instance runs: the version it pinned, and whether a step of a given version is in it. */
export interface JobVersion {
  /** The plan's version: what its first step pinned (1 for instances launched before versions were recorded). */
  version: number;
  /**
   * Whether the plan includes what `version` introduced (a new step, a new result shape): guard
   * every change to a workflow's steps with it (docs/architecture-deploys.md).
   */
  since(version: number): boolean;
}

/**
 * The instance's plan, pinned in its first step (`code-version`): the version its params recorded,
 * at most the newest this build runs. The engine keeps that step's result, so every later build
 * that resumes the instance — a deploy, a gradual rollout's other version — reads the same plan,
 * even when the instance first ran on a build older than the run that launched it. Instances
 * launched before versions were recorded (no `codeVersion` in their params) run version 1 and
 * make no such step (their checkpoints have none: no step is inserted before theirs).
 */
export async function pinCodeVersion(step: WorkflowStep, params: unknown, configured: number | undefined): Promise<JobVersion> {
  const build = buildCodeVersion(configured);
  if (!hasRecordedVersion(params)) return jobVersion(LEGACY_CODE_VERSION, build);
  const recorded = recordedCodeVersion(params);
  const pinned = await step.do(JOB_STEP.codeVersion, async () => ({ version: Math.min(recorded, build) }));
  // Read tolerantly: a result this code cannot read falls back to the recorded version.
  const version = typeof pinned?.version === "number" && pinned.version >= 1 ? pinned.version : recorded;
  return jobVersion(version, build);
}

function hasRecordedVersion(params: unknown): boolean {
  return typeof params === "object" && params !== null && "codeVersion" in params && (params as { codeVersion?: unknown }).codeVersion !== undefined;
}

function jobVersion(version: number, build: number): JobVersion {
  return { version, since: (introduced) => planIncludes(introduced, version, build) };
}
