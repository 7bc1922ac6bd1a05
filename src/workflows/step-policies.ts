import type { WorkflowStepConfig } from "cloudflare:workers";
import type { RetryOverrides } from "../core/env";

export interface RetryPolicy {
  /** Retries after the first attempt (attempts = limit + 1). */
  limit: number;
  delayMs: number;
  backoff: "constant" | "linear" | "exponential";
}

/** The retry policies operators override by name (RETRY_POLICIES, README). */
export type PolicyName = "budget" | "acquire" | "health" | "clone" | "command" | "model" | "tool" | "check" | "collect" | "cleanup" | "report";

/** A kind of step: its retries (a policy, overridable by name, or its own) and its timeout per attempt. */
export interface StepKind {
  policy: PolicyName | null;
  retry: RetryPolicy;
  /** Per attempt; `deadline`: the job's own deadline (the fork's timeout), given where the step runs. */
  timeoutMs: number | "deadline";
}

const MINUTE = 60_000;
/** A step whose body is one call to an object or the Pool (reports, gates, leases). */
const CONTROL_MS = 2 * MINUTE;
const exponential = (limit: number, delayMs: number): RetryPolicy => ({ limit, delayMs, backoff: "exponential" });

/** SPEC defaults: create sandbox 3 attempts 5 s x2; model call 2 attempts 10 s x2; cleanup 3 attempts 2 s x2; health check 1 attempt. */
const POLICIES: Record<PolicyName, RetryPolicy> = {
  budget: exponential(3, 1000),
  acquire: exponential(2, 5000),
  health: { limit: 0, delayMs: 1000, backoff: "constant" },
  clone: exponential(2, 2000),
  command: exponential(1, 2000),
  model: exponential(1, 10_000),
  tool: exponential(1, 2000),
  check: exponential(1, 2000),
  collect: exponential(2, 2000),
  cleanup: exponential(2, 2000),
  report: exponential(5, 1000),
};

const kind = <T extends StepKind["timeoutMs"]>(policy: PolicyName, timeoutMs: T) => ({ policy, retry: POLICIES[policy], timeoutMs });

/** How many attempts of the GitHub report's `load-run` wait for forks still ending (a cancelled run's last forks). */
export const REPORT_LOAD_ATTEMPTS_WAITING = 5;

/** Every kind of Workflow step, with its retries and its timeout: the one table of both. */
export const STEP_KINDS = {
  /** A call to the job's object (prepare-info, begin, history, finish, judge-input, …) or its final report. */
  control: kind("report", CONTROL_MS),
  /** The fork's first step: the Orchestrator lets it start (not cancelled, budget left). */
  budget: kind("budget", CONTROL_MS),
  acquire: kind("acquire", CONTROL_MS),
  health: kind("health", MINUTE),
  clone: kind("clone", "deadline"),
  /** Checking out the work branch in a forked workspace (no clone). */
  adopt: kind("clone", CONTROL_MS),
  /** A replacement sandbox: clone and replay of the fork's journal. */
  restore: kind("clone", 30 * MINUTE),
  command: kind("command", "deadline"),
  model: kind("model", 15 * MINUTE),
  /** The claude-code runtime's one step: the whole CLI session. */
  claudeCode: kind("model", "deadline"),
  /** One judge call per fork. */
  judge: kind("model", 5 * MINUTE),
  tool: kind("tool", 15 * MINUTE),
  check: kind("check", "deadline"),
  collect: kind("collect", CONTROL_MS),
  artifacts: kind("collect", 15 * MINUTE),
  push: kind("collect", 10 * MINUTE),
  /** Releasing, pausing or resuming a sandbox, taking branches. */
  cleanup: kind("cleanup", CONTROL_MS),
  /** One GitHub API call of the report. */
  github: kind("report", MINUTE),
  /** The GitHub report's `load-run`: a second apart, while forks are still ending, then twice more. */
  reportLoad: { policy: null, retry: { limit: REPORT_LOAD_ATTEMPTS_WAITING + 2, delayMs: 1000, backoff: "constant" }, timeoutMs: 30_000 },
} satisfies Record<string, StepKind>;

export type StepKindName = keyof typeof STEP_KINDS;

/** Kinds whose timeout is the job's deadline: the caller gives it. */
type DeadlineKind = { [K in StepKindName]: (typeof STEP_KINDS)[K]["timeoutMs"] extends "deadline" ? K : never }[StepKindName];

/** The step config of a kind, with operator overrides (RETRY_POLICIES) applied. */
export function stepConfig(name: Exclude<StepKindName, DeadlineKind>, overrides: RetryOverrides): WorkflowStepConfig;
export function stepConfig(name: DeadlineKind, overrides: RetryOverrides, deadlineMs: number): WorkflowStepConfig;
export function stepConfig(name: StepKindName, overrides: RetryOverrides, deadlineMs?: number): WorkflowStepConfig {
  const row: StepKind = STEP_KINDS[name];
  const policy = { ...row.retry, ...(row.policy ? overrides[row.policy] : {}) };
  const timeout = row.timeoutMs === "deadline" ? deadlineMs! : row.timeoutMs;
  return { retries: { limit: policy.limit, delay: policy.delayMs, backoff: policy.backoff }, timeout };
}
