/**
 * How a fork learns that a branch of it waits (src/workflows/step-runner.ts takeBranchSignal): a
 * live step's report answer says so; a step replayed from its checkpoint after a restart says
 * nothing, so the boundary after it asks the run's record what that step was told (the branch is
 * not lost, and not taken at a boundary the first run passed before it was asked for).
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

  it("after a step replayed from its checkpoint (a restart after its body ran), the boundary asks what that step was told", async () => {
    // The branch was asked for while command-3 ran; the runtime restarted after it ended.
    const steps = runner({ "command-3": "ran" }, () => true);
    expect(await steps.run("command-3", config, async () => "not run again")).toBe("ran");
    const asked: string[] = [];
    expect(await steps.takeBranchSignal(async (step) => (asked.push(step), true))).toBe(true);
    expect(asked).toEqual(["command-3"]);
    // Replayed, and its report was told nothing (the branch came later): no, at this boundary.
    const quiet = runner({ "command-3": "ran" }, () => true);
    await quiet.run("command-3", config, async () => "not run again");
    expect(await quiet.takeBranchSignal(async () => false)).toBe(false);
  });

  it("a replay decides each boundary as the first run did: a live step after the replayed ones answers for itself", async () => {
    // The first run passed the boundary after command-1 with nothing waiting, then the branch was
    // asked for while command-2 ran, and the runtime restarted: command-1 is replayed, command-2 runs again.
    let waiting = false;
    const steps = runner({ "command-1": "ran" }, () => waiting);
    await steps.run("command-1", config, async () => "not run again");
    waiting = true;
    // The boundary after command-1: asked about command-1, which was told nothing then.
    expect(await steps.takeBranchSignal(async (step) => step !== "command-1")).toBe(false);
    // command-2 runs live: its own answer says the branch waits, and the next boundary takes it unasked.
    await steps.run("command-2", config, async () => "ran");
    let asked = 0;
    expect(await steps.takeBranchSignal(async () => (asked++, false))).toBe(true);
    expect(asked).toBe(0);
  });

  it("live steps with no branch waiting: no, and nothing asked", async () => {
    const steps = runner({}, () => false);
    await steps.run("command-1", config, async () => "ran");
    let asked = 0;
    expect(await steps.takeBranchSignal(async () => (asked++, true))).toBe(false);
    expect(asked).toBe(0);
  });
});
