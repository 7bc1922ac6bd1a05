import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pruneRuns } from "../../src/actions/delete-run";
import { deletedRun } from "../../src/api/responses";
import { recordTombstone } from "../../src/d1-index/run-tombstones";
import type { Env } from "../../src/core/env";
import { deliver, example, onTestRepo, settle } from "./github-helpers";
import { api, createRun, gateCommand, getRun, newGate, testEnv, waitFor, waitForListedRun, waitForRunStatus } from "./helpers";

const bindings = env as unknown as Env;

async function r2Keys(runId: string): Promise<string[]> {
  return (await bindings.ARTIFACTS.list({ prefix: `runs/${runId}/` })).objects.map((o) => o.key);
}

async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

/** The rows the run's Orchestrator still holds of it, in all its tables. */
async function runRows(runId: string): Promise<number> {
  const tables = ["run", "forks", "steps", "commands", "events", "ledger"];
  return runInDurableObject(bindings.ORCHESTRATOR.getByName(runId), async (_o, state) =>
    tables.reduce((sum, t) => sum + state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n, 0),
  );
}

const quickRun = { forks: 2, maxConcurrent: 2, task: { commands: ["echo kept > kept.txt"] } };

describe("deleting a run", () => {
  it("deletes an ended run's state, objects and index row; a replay of its Idempotency-Key is 410, never a new run", async () => {
    const key = `retention-${crypto.randomUUID()}`;
    const run = await createRun(quickRun, { "Idempotency-Key": key });
    await waitForRunStatus(run.id, ["completed"]);
    await waitForListedRun(run.id, (row) => row.status === "completed");
    // Each fork's patch (its diff) is in R2 under the run's prefix.
    expect((await r2Keys(run.id)).length).toBeGreaterThanOrEqual(2);

    const res = await api(`/v1/runs/${run.id}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    // Both forks' instances, and their engine state: gone.
    const body = deletedRun.parse(await res.json());
    expect(body).toMatchObject({ id: run.id, deleted: true, reason: "deleted", instancesDeleted: 2 });
    await expect(bindings.FORK_WORKFLOW.get(`${run.id}-1`).then((i) => i.status())).rejects.toThrow(/not_found|not found/i);

    expect(await errorOf(await api(`/v1/runs/${run.id}`))).toEqual({ status: 404, code: "run_deleted" });
    expect((await api(`/v1/runs/${run.id}/forks/1`)).status).toBe(404);
    // The run's object keeps no row of it (run, forks, steps, commands, event log, ledger) and no alarm.
    expect(await runRows(run.id)).toBe(0);
    expect(await runInDurableObject(bindings.ORCHESTRATOR.getByName(run.id), (_o, state) => state.storage.getAlarm())).toBeNull();
    expect(await r2Keys(run.id)).toEqual([]);
    const listed = (await (await api("/v1/runs?limit=100")).json()) as { runs: { id: string }[] };
    expect(listed.runs.map((r) => r.id)).not.toContain(run.id);

    // The same request with the same key: not silently a new run under the old id.
    const replay = await api("/v1/runs", { method: "POST", json: { repo: testEnv.TEST_REPO, ...quickRun }, headers: { "Idempotency-Key": key } });
    expect(await errorOf(replay)).toEqual({ status: 410, code: "run_deleted" });
    expect(await errorOf(await api(`/v1/runs/${run.id}`))).toEqual({ status: 404, code: "run_deleted" });

    // Deleting again is harmless (a retry after a crash half-way finishes the job).
    const again = await api(`/v1/runs/${run.id}`, { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ deleted: true, objectsDeleted: 0, instancesDeleted: 0 });
    expect(await errorOf(await api("/v1/runs/rabcdefghijklmnopqrst", { method: "DELETE" }))).toEqual({ status: 404, code: "not_found" });
  });

  it("refuses a run that has not ended (409), and deletes it once cancelled", async () => {
    const run = await createRun({ forks: 1, task: { commands: [gateCommand(newGate())] } });
    await waitFor("the fork to run", async () => (await getRun(run.id)).forks[0]?.status === "running");
    expect(await errorOf(await api(`/v1/runs/${run.id}`, { method: "DELETE" }))).toEqual({ status: 409, code: "run_not_ended" });
    expect((await getRun(run.id)).status).toBe("running");
    await api(`/v1/runs/${run.id}/cancel`, { method: "POST" });
    await waitForRunStatus(run.id, ["cancelled"]);
    // A delete that crashed between its tombstone and the wipe: the run is still there, and the next delete finishes it.
    await recordTombstone(bindings.DB, run.id, "deleted", new Date().toISOString());
    expect((await getRun(run.id)).status).toBe("cancelled");
    // Once its sandboxes are stopped (a moment after the cancel answered).
    await waitFor("the cancelled run to be deleted", async () => (await api(`/v1/runs/${run.id}`, { method: "DELETE" })).status === 200, 15_000);
    expect(await errorOf(await api(`/v1/runs/${run.id}`))).toEqual({ status: 404, code: "run_deleted" });
    expect(await runRows(run.id)).toBe(0);
  });

  it("RUN_RETENTION_DAYS deletes ended runs older than the limit on the cron, and only those", async () => {
    const run = await createRun({ ...quickRun, forks: 1 });
    await waitForRunStatus(run.id, ["completed"]);
    await waitForListedRun(run.id, (row) => row.status === "completed");
    const withRetention = { ...bindings, RUN_RETENTION_DAYS: "1" } as Env;
    // Off by default; on, a run changed less than a day ago stays.
    expect(await pruneRuns(bindings, Date.now() + 3 * 86_400_000)).toEqual({ deleted: [] });
    expect(await pruneRuns(withRetention)).toEqual({ deleted: [] });
    expect((await getRun(run.id)).status).toBe("completed");
    // An eval's run stays while the eval lists it.
    await bindings.DB.prepare("INSERT INTO eval_runs (run_id, eval_id, created_at) VALUES (?, 'e1', ?)").bind(run.id, new Date().toISOString()).run();
    expect(await pruneRuns(withRetention, Date.now() + 2 * 86_400_000)).toEqual({ deleted: [] });
    await bindings.DB.prepare("DELETE FROM eval_runs WHERE run_id = ?").bind(run.id).run();
    expect(await pruneRuns(withRetention, Date.now() + 2 * 86_400_000)).toEqual({ deleted: [run.id] });
    expect(await errorOf(await api(`/v1/runs/${run.id}`))).toEqual({ status: 404, code: "run_deleted" });
    expect(await r2Keys(run.id)).toEqual([]);
  });

  it("a redelivered GitHub webhook after its run was deleted answers 410 run_deleted and starts nothing", async () => {
    const payload = onTestRepo(example("issues", "labeled"));
    payload.label.name = "forkyard";
    Object.assign(payload.issue, { number: 931, title: "Crash on empty input", body: "parse('') throws.", state: "open" });
    const delivery = crypto.randomUUID();
    const first = await deliver("issues", payload, { delivery });
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    await settle(id);
    await waitFor("the webhook's run to be deleted", async () => (await api(`/v1/runs/${id}`, { method: "DELETE" })).status === 200, 15_000);
    expect(await errorOf(await deliver("issues", payload, { delivery }))).toEqual({ status: 410, code: "run_deleted" });
    expect(await errorOf(await api(`/v1/runs/${id}`))).toEqual({ status: 404, code: "run_deleted" });
  });
});
