import { NonRetryableError } from "cloudflare:workflows";
import type { WorkflowStep } from "cloudflare:workers";
import { encodeStepError, StepLimitExceededError, StepResultTooLargeError } from "../core/errors";
import { bytesIfOver, MAX_INSTANCE_STEPS, MAX_WORKFLOW_PAYLOAD_BYTES } from "../protocol/workflow-limits";

/** Cloudflare Workflows: the most a step may return. */
export const MAX_STEP_RESULT_BYTES = MAX_WORKFLOW_PAYLOAD_BYTES;

/** Throws StepResultTooLargeError (naming the step) when `value` is over the limit. */
export function checkStepResult(name: string, value: unknown, limitBytes = MAX_STEP_RESULT_BYTES): void {
  // Most results need no encoding at all (at most 3 UTF-8 bytes per UTF-16 unit).
  const json = JSON.stringify(value);
  const bytes = json === undefined ? 0 : bytesIfOver(json, limitBytes);
  if (bytes > 0) throw new StepResultTooLargeError(name, bytes, limitBytes);
}

type StepCallback = (ctx: never) => Promise<unknown>;

/**
 * The steps an instance's run() has made so far (do, sleep, sleepUntil, waitForEvent: each counts
 * against the engine's `limits.steps`). A replay makes the same calls in the same order, so the
 * count at any point of the code is the same in every replay: decisions may rest on it.
 */
export class StepCounter {
  made = 0;
  readonly limit: number;

  constructor(limit = MAX_INSTANCE_STEPS) {
    this.limit = limit;
  }

  /** Counts one more step; past the limit, its error (not retried): Cloudflare would end the instance there. */
  count(name: string): Error | undefined {
    return ++this.made > this.limit ? new NonRetryableError(encodeStepError(new StepLimitExceededError(name, this.limit))) : undefined;
  }
}

/**
 * `step` with Cloudflare's limits on step results and on steps per instance (`counter`) enforced: a
 * step past the instance's step limit, or a step body whose result is over 1 MiB, fails, not
 * retried, with an error naming the step — the same in `wrangler dev` and tests (where the engine
 * enforces neither) as deployed. Every Workflow's steps go through it (durable-job.ts).
 */
export function limitStepResults(step: WorkflowStep, limitBytes = MAX_STEP_RESULT_BYTES, counter: StepCounter = new StepCounter()): WorkflowStep {
  // The engine's step may be an RPC stub: its methods are called as methods (no .call/.bind on them).
  const engine = step as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const limitedDo = (name: string, ...rest: unknown[]) => {
    const overLimit = counter.count(name);
    if (overLimit) return Promise.reject(overLimit);
    const callback = rest.at(-1) as StepCallback;
    const checked = async (ctx: never) => {
      const value = await callback(ctx);
      try {
        checkStepResult(name, value, limitBytes);
      } catch (err) {
        throw new NonRetryableError(encodeStepError(err as StepResultTooLargeError));
      }
      return value;
    };
    return engine.do!(name, ...rest.slice(0, -1), checked);
  };
  return new Proxy(step, {
    get(target, prop) {
      if (prop === "do") return limitedDo;
      if (typeof prop === "string" && PASSED_THROUGH.has(prop)) {
        return (...args: unknown[]) => {
          const overLimit = counter.count(String(args[0]));
          return overLimit ? Promise.reject(overLimit) : engine[prop]!(...args);
        };
      }
      return Reflect.get(target, prop) as unknown;
    },
  });
}

/** The engine step's other methods, called on it as they are. */
const PASSED_THROUGH = new Set(["sleep", "sleepUntil", "waitForEvent"]);
