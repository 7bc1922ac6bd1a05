// Sandbox provider faults as a fork's workflow meets them (step attempts, durable waits, fork
// errors). The Pool's side (a transient failure keeps the reservation, a permanent one frees it,
// a lost answer is adopted by its tag, a 429 holds every create back for its Retry-After) is
// unit-tested with a fake backend: test/unit/pool-acquire.test.ts.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STEP } from "../../src/workflows/steps";
import { createRun, sandboxAdmin, waitForRunStatus } from "./helpers";

beforeEach(async () => {
  await sandboxAdmin.reset();
});
afterEach(async () => {
  await sandboxAdmin.faults([]);
});

describe("sandbox provider faults", () => {
  it("retries injected create failures and still succeeds with no extra sandboxes", async () => {
    await sandboxAdmin.faults([{ op: "create", status: 503, firstK: 2 }]);
    const run = await createRun({ task: { commands: ["echo ok"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    // The Pool starts the create at launch, and that first create fails. If it has failed by the
    // time the fork's acquire step asks, the step's attempts make the other two creates (2
    // attempts); if it is still in flight, the step's first attempt fails with it (3).
    const attempts = view.forks[0]?.steps.find((s) => s.name === STEP.acquireSandbox)?.attempts;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(3);
    const stats = await sandboxAdmin.stats();
    // And one create for the fork's verification sandbox.
    expect(stats.calls.create).toBe(3 + 1);
    expect(stats.created).toBe(1 + 1);
    expect(stats.live).toBe(0);
  });

  it("adopts a sandbox whose create response was lost instead of creating a second one", async () => {
    await sandboxAdmin.faults([{ op: "create", drop: true, after: true, firstK: 1 }]);
    const run = await createRun({ task: { commands: ["echo ok"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    // The launch's create loses its answer; the acquire step finds the sandbox by its lease tag on
    // its first attempt (the create had failed before it asked) or its second (it failed with it).
    const attempts = view.forks[0]?.steps.find((s) => s.name === STEP.acquireSandbox)?.attempts;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(2);
    const stats = await sandboxAdmin.stats();
    // And one create for the fork's verification sandbox.
    expect(stats.calls.create).toBe(1 + 1);
    expect(stats.created).toBe(1 + 1);
    expect(stats.live).toBe(0);
  });

  it("waits durably for capacity on a 429 from the sandbox API instead of failing", async () => {
    await sandboxAdmin.faults([{ op: "create", status: 429, firstK: 2 }]);
    const run = await createRun({ forks: 2, maxConcurrent: 2, task: { commands: ["echo ok"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.forks.every((f) => f.status === "succeeded")).toBe(true);
    const stats = await sandboxAdmin.stats();
    // And one create per fork for its verification sandbox.
    expect(stats.calls.create).toBe(4 + 2);
    expect(stats.created).toBe(2 + 2);
    expect(stats.live).toBe(0);
  });

  it("fails the fork at once, without retries, when the sandbox API rejects the key", async () => {
    await sandboxAdmin.faults([{ op: "create", status: 401 }]);
    const run = await createRun({ forks: 2, task: { commands: ["echo ok"] } });
    const view = await waitForRunStatus(run.id, ["failed"]);
    for (const fork of view.forks) {
      expect(fork.status).toBe("failed");
      expect(fork.error?.code).toBe("sandbox_auth_failed");
      expect(fork.error?.message).toMatch(/rejected the API key/);
      expect(fork.error?.message).not.toContain("e2b_");
      expect(fork.steps.find((s) => s.name === STEP.acquireSandbox)?.attempts).toBe(1);
    }
    expect((await sandboxAdmin.stats()).created).toBe(0);
  });
});
