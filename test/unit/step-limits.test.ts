import { describe, expect, it } from "vitest";
import type { WorkflowStep } from "cloudflare:workers";
import { decodeStepError, StepResultTooLargeError } from "../../src/core/errors";
import { readFileSync } from "node:fs";
import { NonRetryableError } from "cloudflare:workflows";
import { MAX_INSTANCE_STEPS, serializedBytes } from "../../src/protocol/workflow-limits";
import { checkStepResult, limitStepResults, MAX_STEP_RESULT_BYTES, StepCounter } from "../../src/workflows/step-limits";

/** A step that runs its body at once, as the engine would, and records what it was given. */
function fakeStep() {
  const calls: { name: string; config?: unknown }[] = [];
  const step = {
    do: async (name: string, ...rest: unknown[]) => {
      const body = rest.at(-1) as (ctx: unknown) => Promise<unknown>;
      calls.push({ name, ...(rest.length === 2 ? { config: rest[0] } : {}) });
      return body({ attempt: 1 });
    },
    sleep: async (name: string) => `slept ${name}`,
  };
  return { step: step as unknown as WorkflowStep, calls };
}

describe("Cloudflare's 1 MiB per step result, enforced locally", () => {
  it("lets a result up to 1 MiB through and refuses one byte more, naming the step", () => {
    const atLimit = "x".repeat(MAX_STEP_RESULT_BYTES - 2); // with its quotes: exactly 1 MiB
    expect(serializedBytes(atLimit)).toBe(MAX_STEP_RESULT_BYTES);
    expect(() => checkStepResult("model-3", atLimit)).not.toThrow();
    const over = () => checkStepResult("model-3", { output: `${atLimit}x` });
    expect(over).toThrow(StepResultTooLargeError);
    expect(over).toThrow(/Step "model-3" returned 1048588 bytes; .* at most 1048576 bytes \(store large data in R2/);
  });

  it("counts UTF-8 bytes, not characters", () => {
    const euros = "€".repeat(400_000); // 400,000 characters, 1.2 MB
    expect(() => checkStepResult("tool-1", euros)).toThrow(/returned 1200002 bytes/);
    expect(() => checkStepResult("tool-1", "é".repeat(400_000))).not.toThrow(); // 800 KB
    expect(() => checkStepResult("release-sandbox", undefined)).not.toThrow();
  });

  it("fails an over-limit step without retry (NonRetryableError, step error code) and passes the rest through unchanged", async () => {
    const { step, calls } = fakeStep();
    const limited = limitStepResults(step, 100);
    await expect(limited.do("small", async () => ({ ok: true }))).resolves.toEqual({ ok: true });
    await expect(limited.do("configured", { retries: { limit: 2, delay: 1 } }, async () => 42)).resolves.toBe(42);
    const err = await limited.do("collect", async () => "y".repeat(200)).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("NonRetryableError");
    expect(decodeStepError(err)).toEqual({ code: "step_result_too_large", message: expect.stringContaining('Step "collect" returned 202 bytes') });
    expect(calls).toEqual([{ name: "small" }, { name: "configured", config: { retries: { limit: 2, delay: 1 } } }, { name: "collect" }]);
    // Everything else of the step is the engine's own.
    await expect(limited.sleep("nap", 1)).resolves.toBe("slept nap");
  });
});

describe("Cloudflare's steps per instance (limits.steps), counted and enforced locally", () => {
  it("counts every step, and fails the one past the limit without retry, naming it; the sleeps and waits count too", async () => {
    const { step, calls } = fakeStep();
    const counter = new StepCounter(3);
    const limited = limitStepResults(step, MAX_STEP_RESULT_BYTES, counter);
    await limited.do("clone", async () => "ok");
    await limited.sleep("wait-1", 10);
    await limited.do("command-1", async () => "ok");
    expect(counter.made).toBe(3);
    const over = limited.do("command-2", async () => "never run");
    await expect(over).rejects.toBeInstanceOf(NonRetryableError);
    await expect(over).rejects.toThrow(/^step_limit_exceeded: Step "command-2" would be step 4 of this Workflow instance; an instance may make at most 3/);
    expect(calls.map((c) => c.name)).toEqual(["clone", "command-1"]);
  });

  it("every Workflow's limits.steps in wrangler.toml is the limit the kit enforces", () => {
    const toml = readFileSync(`${import.meta.dirname}/../../wrangler.toml`, "utf8");
    const workflows = toml.split("[[workflows]]").slice(1);
    const limits = workflows.map((w) => Number(/limits = \{ steps = (\d+) \}/.exec(w)?.[1] ?? MAX_INSTANCE_STEPS));
    expect(limits.length).toBeGreaterThanOrEqual(6);
    expect(new Set(limits)).toEqual(new Set([MAX_INSTANCE_STEPS]));
  });
});
