// Run creation survives a crash at any point: the state a crash leaves behind is planted inside
// the run's Orchestrator (its real SQLite), then the client retries with the same Idempotency-Key.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Orchestrator } from "../../src/objects/orchestrator/orchestrator";
import { api, testEnv, waitForRunStatus } from "./helpers";
import { plantRun, workerEnv } from "./planted-run";

describe("run creation is crash-safe", () => {
  it("a run left by a crash after its row was written (no alarm, no instances) is driven by a retry with the same Idempotency-Key", async () => {
    const key = `crash-${crypto.randomUUID()}`;
    const body = { repo: testEnv.TEST_REPO, forks: 3, maxConcurrent: 3, task: { commands: ["echo survived"] } };
    // Fork 2's launch was recorded, but the crash came before its instance was created.
    const { id } = await plantRun(body, { idempotencyKey: key, launched: [2] }, async (_instance, state) => {
      expect(await state.storage.getAlarm()).toBeNull();
    });

    const retried = await api("/v1/runs", { method: "POST", json: body, headers: { "Idempotency-Key": key } });
    expect(retried.status).toBe(202);
    expect(retried.headers.get("Idempotent-Replayed")).toBe("true");
    // Driven at once: well within the 30 s after which a lost instance would be relaunched anyway.
    const view = await waitForRunStatus(id, ["completed", "failed"], 20_000);
    expect(view.status).toBe("completed");
    expect(view.forks.map((f) => f.commands[0]?.stdoutTail)).toEqual(["survived\n", "survived\n", "survived\n"]);
  });

  it("arms the run's alarm in the same write as its row, so a crash right after creation still leaves a driven run", async () => {
    const res = await api("/v1/runs", { method: "POST", json: { repo: testEnv.TEST_REPO, task: { commands: ["sleep 1"] } } });
    const { id } = (await res.json()) as { id: string };
    const stub = workerEnv.ORCHESTRATOR.getByName(id) as unknown as DurableObjectStub<Orchestrator>;
    await runInDurableObject(stub, async (_instance: Orchestrator, state) => {
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    await waitForRunStatus(id, ["completed"]);
  });
});

describe("step records survive the Orchestrator's restart", () => {
  it("a step whose start was answered but not yet written (the object restarted meanwhile) is recorded whole by its end", async () => {
    // A planted run (no alarm, no instances): only this test's calls touch it.
    await plantRun({ repo: testEnv.TEST_REPO, task: { commands: ["true"] } }, { idempotencyKey: null }, async (instance, state, store) => {
      const startedAt = Date.now();
      expect(instance.stepStarted(1, "clone", 1)).toEqual({ proceed: true, budgetSpent: false });
      // The start is answered, not yet written; then the object is lost. A new one takes the step's end.
      expect(store.stepRunning(1, "clone", 1)).toBe(false);
      const restarted = new Orchestrator(state, workerEnv);
      restarted.stepFinished(1, "clone", { attempt: 1, ok: true, durationMs: 12, startedAt });
      const events = [...store.eventsAfter(0)].filter((e) => e.data.step === "clone");
      expect(events.map((e) => e.type)).toEqual(["step.started", "step.finished"]);
      expect(Date.parse(events[0]!.at)).toBe(startedAt);
      expect(store.view()?.forks[0]?.steps).toEqual([expect.objectContaining({ name: "clone", status: "succeeded", attempts: 1, startedAt: new Date(startedAt).toISOString() })]);
    });
  });

  it("keeps when a step started (its first attempt) and ended (its last), for the run page's shared clock", async () => {
    await plantRun({ repo: testEnv.TEST_REPO, task: { commands: ["true"] } }, { idempotencyKey: null }, async (instance, _state, store) => {
      const before = Date.now();
      instance.stepStarted(1, "check", 1);
      instance.stepFinished(1, "check", { attempt: 1, ok: false, durationMs: 3 });
      const firstEnd = Date.parse(store.view()!.forks[0]!.steps[0]!.endedAt!);
      instance.stepStarted(1, "check", 2);
      // While the retry runs, the step has no end.
      expect(instance.view()!.forks[0]!.steps[0]).toMatchObject({ status: "running", endedAt: null });
      instance.stepFinished(1, "check", { attempt: 2, ok: true, durationMs: 2 });
      const [step] = instance.view()!.forks[0]!.steps;
      expect(step).toMatchObject({ name: "check", status: "succeeded", attempts: 2 });
      expect(Date.parse(step!.startedAt!)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(step!.startedAt!)).toBeLessThanOrEqual(firstEnd);
      expect(Date.parse(step!.endedAt!)).toBeGreaterThanOrEqual(firstEnd);
    });
  });
});

describe("model-call reservations survive the Orchestrator's restart", () => {
  it("a restarted object still counts the calls in flight against the budget, until their cost is booked", async () => {
    // A planted run (no alarm, no instances): only this test's calls touch it.
    await plantRun({ repo: testEnv.TEST_REPO, forks: 2, budgetUsd: 1, task: { commands: ["true"] } }, { idempotencyKey: null }, (instance, state) => {
      expect(instance.reserveModelCall(1, "fork:1:model-1:1", 0.6).ok).toBe(true);
      const restarted = new Orchestrator(state, workerEnv);
      const refused = restarted.reserveModelCall(2, "fork:2:model-1:1", 0.6);
      expect(refused.ok ? null : refused.error.code).toBe("budget_exceeded");
      restarted.recordModelCost(1, "fork:1:model-1:1", 0.2);
      expect(restarted.reserveModelCall(2, "fork:2:model-1:1", 0.6).ok).toBe(true);
    });
  });
});
