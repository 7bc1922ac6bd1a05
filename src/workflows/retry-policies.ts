import type { WorkflowStepConfig } from "cloudflare:workers";
import type { RetryOverrides } from "../core/env";

export interface RetryPolicy {
  /** Retries after the first attempt (attempts = limit + 1). */
  limit: number;
  delayMs: number;
  backoff: "constant" | "linear" | "exponential";
}

export type PolicyName = "budget" | "acquire" | "health" | "clone" | "command" | "model" | "tool" | "check" | "collect" | "cleanup" | "report";

/** SPEC defaults: create sandbox 3 attempts 5 s x2; model call 2 attempts 10 s x2; cleanup 3 attempts 2 s x2; health check 1 attempt. */
const DEFAULTS: Record<PolicyName, RetryPolicy> = {
  budget: { limit: 3, delayMs: 1000, backoff: "exponential" },
  acquire: { limit: 2, delayMs: 5000, backoff: "exponential" },
  health: { limit: 0, delayMs: 1000, backoff: "constant" },
  clone: { limit: 2, delayMs: 2000, backoff: "exponential" },
  command: { limit: 1, delayMs: 2000, backoff: "exponential" },
  model: { limit: 1, delayMs: 10_000, backoff: "exponential" },
  tool: { limit: 1, delayMs: 2000, backoff: "exponential" },
  check: { limit: 1, delayMs: 2000, backoff: "exponential" },
  collect: { limit: 2, delayMs: 2000, backoff: "exponential" },
  cleanup: { limit: 2, delayMs: 2000, backoff: "exponential" },
  report: { limit: 5, delayMs: 1000, backoff: "exponential" },
};

/** The step config for a policy, with operator overrides (RETRY_POLICIES) applied. */
export function stepConfig(name: PolicyName, overrides: RetryOverrides, timeoutMs: number): WorkflowStepConfig {
  const policy = { ...DEFAULTS[name], ...overrides[name] };
  return { retries: { limit: policy.limit, delay: policy.delayMs, backoff: policy.backoff }, timeout: timeoutMs };
}

export function retryPolicy(name: PolicyName, overrides: RetryOverrides): RetryPolicy {
  return { ...DEFAULTS[name], ...overrides[name] };
}
