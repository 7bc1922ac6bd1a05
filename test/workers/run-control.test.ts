import { env, runDurableObjectAlarm } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/core/env";
import { forkInstanceId } from "../../src/protocol/run-ids";
import { api, createRun, getRun, sandboxAdmin, waitFor, waitForListedRun, waitForRunStatus } from "./helpers";

const workerEnv = env as unknown as Env;
/** Runs the run's Orchestrator alarm now (what launches and reconciles forks, besides their reports). */
const runAlarm = (runId: string) => runDurableObjectAlarm(workerEnv.ORCHESTRATOR.getByName(runId));

beforeEach(async () => {
  await sandboxAdmin.reset();
});

const post = (path: string) => api(path, { method: "POST" });

describe("pause, resume and cancel", () => {
  it("pause stops launching while running forks finish; resume continues to completion", async () => {
    const run = await createRun({ forks: 3, maxConcurrent: 1, task: { commands: ["sleep 1"] } });
    const paused = await post(`/v1/runs/${run.id}/pause`);
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as { status: string }).status).toBe("paused");

    const settled = await waitFor("the running fork to finish", async () => {
      const view = await getRun(run.id);
      return view.totals.running === 0 ? view : undefined;
    });
    expect(settled.status).toBe("paused");
    expect(settled.totals.succeeded).toBe(1);
    expect(settled.totals.queued).toBe(2);
    // Its alarm comes (twice): still nothing launches while paused.
    await runAlarm(run.id);
    await runAlarm(run.id);
    expect((await getRun(run.id)).totals.queued).toBe(2);

    const resumed = await post(`/v1/runs/${run.id}/resume`);
    expect(resumed.status).toBe(200);
    const done = await waitForRunStatus(run.id, ["completed"]);
    expect(done.totals.succeeded).toBe(3);
    expect((await sandboxAdmin.stats()).peakLive).toBeLessThanOrEqual(1);

    const again = await post(`/v1/runs/${run.id}/resume`);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("run_not_paused");
  });

  it("cancel stops everything: running forks are cancelled and no sandbox is left running", async () => {
    const run = await createRun({ forks: 4, maxConcurrent: 2, task: { commands: ["sleep 60"] } });
    await waitFor("two forks running in sandboxes", async () => {
      const view = await getRun(run.id);
      return view.forks.filter((f) => f.status === "running" && f.steps.some((s) => s.name === "command-1")).length === 2;
    });
    expect((await sandboxAdmin.stats()).live).toBe(2);

    const cancelled = await post(`/v1/runs/${run.id}/cancel`);
    expect(cancelled.status).toBe(200);
    const view = (await cancelled.json()) as { status: string; forks: { status: string }[] };
    expect(view.status).toBe("cancelled");
    expect(view.forks.map((f) => f.status)).toEqual(["cancelled", "cancelled", "cancelled", "cancelled"]);
    // The answer does not wait for the kills; they follow at once.
    await waitFor("the run's sandboxes killed", async () => (await sandboxAdmin.stats()).live === 0, 5000);

    // Nothing comes back to life afterwards (no relaunch, no stray sandbox): the started forks'
    // instances end, the run's alarm comes, and still nothing runs.
    const instances = await Promise.all([1, 2].map((n) => workerEnv.FORK_WORKFLOW.get(forkInstanceId(run.id, n, 1))));
    await waitFor("the forks' instances to end", async () => (await Promise.all(instances.map((i) => i.status()))).every((s) => ["terminated", "errored", "complete"].includes(s.status)));
    await runAlarm(run.id);
    const later = await getRun(run.id);
    expect(later.status).toBe("cancelled");
    expect(later.totals.cancelled).toBe(4);
    // Their instances never report, so the Orchestrator books the sandbox time it stopped.
    const started = later.forks.filter((f) => f.sandboxId);
    expect(started).toHaveLength(2);
    for (const fork of started) expect(fork.costUsd.sandbox).toBeGreaterThan(0);
    expect(later.totals.costUsd.total).toBeGreaterThan(0);
    const stats = await sandboxAdmin.stats();
    expect(stats.live).toBe(0);
    expect(stats.created).toBe(2);

    expect((await post(`/v1/runs/${run.id}/resume`)).status).toBe(409);
  });

  it("cancels a single fork and lets the others finish", async () => {
    const run = await createRun({ forks: 2, maxConcurrent: 2, task: { commands: ['if [ "$FORKYARD_FORK" = 1 ]; then sleep 60; else sleep 1; fi'] } });
    await waitFor("fork 1 running its command", async () => (await getRun(run.id)).forks[0]?.steps.some((s) => s.name === "command-1"));
    const res = await post(`/v1/runs/${run.id}/forks/1/cancel`);
    expect(res.status).toBe(200);
    const view = await waitForRunStatus(run.id, ["completed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["cancelled", "succeeded"]);
    // The runs list counts the cancelled fork (not only succeeded and failed).
    const row = await waitForListedRun(run.id, (r) => r.status === "completed");
    expect(row).toMatchObject({ forks: 2, succeeded: 1, failed: 0, cancelled: 1, budgetExceeded: 0 });
    expect((await post(`/v1/runs/${run.id}/forks/1/cancel`)).status).toBe(409);
    expect((await post(`/v1/runs/${run.id}/forks/7/cancel`)).status).toBe(404);
    await waitFor("no live sandboxes", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it("answers 404 for unknown runs", async () => {
    expect((await api("/v1/runs/rdoesnotexist0000000000")).status).toBe(404);
    expect((await post("/v1/runs/not-a-run-id/pause")).status).toBe(404);
  });
});
