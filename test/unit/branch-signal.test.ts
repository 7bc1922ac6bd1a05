/**
 * How a fork learns that a branch of it waits (src/workflows/step-runner.ts takeBranchSignal): a
 * live step's report answer says so; a step replayed from its checkpoint after a restart says
 * nothing, so the boundary after it asks the run's record instead (the branch is not lost).
 */
import type { WorkflowStep } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { StepRunner, type StepTracker } from "../../src/workflows/step-runner.ts";

/** A Workflow step whose checkpointed results (`cached`) are replayed without running their bodies. */
function engine(cached: Record<string, unknown>): WorkflowStep {
  return {
    do: async (name: string, _config: unknown, body: (ctx: { attempt: number }) => Promise<unknown>) => (name in cached ? cached[name] : body({ attempt: 1 })),
  } as unknown as WorkflowStep;
}

/** A run's record: whether a branch of the fork waits, as its step reports answer. */
function tracker(branchWaits: () => boolean): StepTracker {
  return {
    stepStarted: async () => ({ proceed: true, budgetSpent: false, ...(branchWaits() ? { branch: true } : {}) }),
    stepFinished: async () => (branchWaits() ? { branch: true } : {}),
  };
}

const runner = (cached: Record<string, unknown>, branchWaits: () => boolean) => new StepRunner(engine(cached), { runId: "r1", n: 1, tracker: tracker(branchWaits) });
const config = { retries: { limit: 0, delay: 0 } };

describe("a waiting branch at a step boundary", () => {
  it("a live step's answer tells the boundary, without asking", async () => {
    const steps = runner({}, () => true);
    await steps.run("command-3", config, async () => "ran");
    let asked = 0;
    expect(await steps.takeBranchSignal(async () => (asked++, false))).toBe(true);
    expect(asked).toBe(0);
    // Taken: the next boundary with nothing new says no.
    expect(await steps.takeBranchSignal(async () => true)).toBe(false);
  });

  it("after a step replayed from its checkpoint (a restart after its body ran), the boundary asks the run's record", async () => {
    // The branch was asked for while command-3 ran; the runtime restarted after it ended.
    const steps = runner({ "command-3": "ran" }, () => true);
    expect(await steps.run("command-3", config, async () => "not run again")).toBe("ran");
    expect(await steps.takeBranchSignal(async () => true)).toBe(true);
    // Replayed, with nothing waiting: asked, and no.
    const quiet = runner({ "command-3": "ran" }, () => false);
    await quiet.run("command-3", config, async () => "not run again");
    expect(await quiet.takeBranchSignal(async () => false)).toBe(false);
  });

  it("live steps with no branch waiting: no, and nothing asked", async () => {
    const steps = runner({}, () => false);
    await steps.run("command-1", config, async () => "ran");
    let asked = 0;
    expect(await steps.takeBranchSignal(async () => (asked++, true))).toBe(false);
    expect(asked).toBe(0);
  });
});
