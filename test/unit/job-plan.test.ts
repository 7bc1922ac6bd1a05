/**
 * The contract of the durable-job kit's run (src/workflows/job-plan.ts, which DurableJob runs every
 * Workflow's plan with): the final report always runs after the work, on its outcome or on the
 * outcome of its failure; an engine interruption leaves at once, untouched, with no report.
 */
import { describe, expect, it } from "vitest";
import { runJob, type JobPlan } from "../../src/workflows/job-plan.ts";

type Outcome = { ok: true; value: number } | { ok: false; error: { code: string; message: string } };

/** A plan whose work does `work`, recording what ran. */
function plan(work: () => Promise<number>, calls: string[]): JobPlan<Outcome, string> {
  return {
    work: async () => {
      calls.push("work");
      return { ok: true, value: await work() };
    },
    failed: (error) => {
      calls.push(`failed ${error.code}`);
      return { ok: false, error };
    },
    finish: async (outcome) => {
      calls.push("finish");
      return outcome.ok ? `value ${outcome.value}` : `error ${outcome.error.code}: ${outcome.error.message}`;
    },
  };
}

describe("runJob", () => {
  it("work that succeeds: the final report gets its outcome, and what the report returns is the job's result", async () => {
    const calls: string[] = [];
    expect(await runJob(plan(async () => 7, calls))).toBe("value 7");
    expect(calls).toEqual(["work", "finish"]);
  });

  it("work that fails: its error as it left the step (`<code>: <message>`) becomes the outcome, and the report runs", async () => {
    const calls: string[] = [];
    const result = await runJob(
      plan(async () => {
        throw new Error("sandbox_gone: The sandbox was lost twice.");
      }, calls),
    );
    expect(result).toBe("error sandbox_gone: The sandbox was lost twice.");
    expect(calls).toEqual(["work", "failed sandbox_gone", "finish"]);
  });

  it("a NonRetryableError's message and an error of no code are decoded too", async () => {
    const calls: string[] = [];
    const nonRetryable = await runJob(
      plan(async () => {
        const err = new Error("NonRetryableError: budget_exceeded: The run's budget is spent.");
        throw err;
      }, calls),
    );
    expect(nonRetryable).toBe("error budget_exceeded: The run's budget is spent.");
    expect(await runJob(plan(async () => Promise.reject(new TypeError("x is undefined")), []))).toBe("error internal_error: x is undefined");
  });

  it("an engine interruption leaves as it came, once, with no outcome and no report (the instance replays later)", async () => {
    for (const message of ["Aborting engine: User called pause", "Aborting engine: User called terminate", "Aborting engine: Grace period complete"]) {
      const calls: string[] = [];
      const interruption = new Error(message);
      const thrown = await runJob(
        plan(async () => {
          throw interruption;
        }, calls),
      ).catch((err: unknown) => err);
      expect(thrown).toBe(interruption);
      expect(calls).toEqual(["work"]);
    }
  });

  it("a plan without `failed` lets the error fail the instance; without `finish` the outcome is the result", async () => {
    const failing: JobPlan<number> = { work: () => Promise.reject(new Error("github_error: rate limited")) };
    await expect(runJob(failing)).rejects.toThrow("github_error: rate limited");
    expect(await runJob({ work: async () => 3 })).toBe(3);
  });

  it("a report that fails fails the job (its step has retried already): the error is not taken for the work's", async () => {
    const calls: string[] = [];
    const failingReport: JobPlan<Outcome, string> = {
      ...plan(async () => 1, calls),
      finish: async () => {
        calls.push("finish");
        throw new Error("internal_error: the Orchestrator did not answer");
      },
    };
    await expect(runJob(failingReport)).rejects.toThrow("the Orchestrator did not answer");
    expect(calls).toEqual(["work", "finish"]);
  });
});
