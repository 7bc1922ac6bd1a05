import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { pruneSessions } from "../../src/actions/delete-session";
import { deletedEval, type EvalPage, type EvalView } from "../../src/api/evals";
import { deletedSession } from "../../src/api/session-responses";
import type { Env } from "../../src/core/env";
import { bundledEvalTasks } from "../support/eval-suite";
import { api, gateCommand, newGate, sandboxAdmin, scriptedModel, testEnv, waitFor } from "./helpers";
import { bash, createSession, getSession, say, send, setScript, turnEnded, waitForSession } from "./session-helpers";

const bindings = env as unknown as Env;

async function r2Keys(prefix: string): Promise<string[]> {
  return (await bindings.ARTIFACTS.list({ prefix })).objects.map((o) => o.key);
}

async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

/** The rows a Session object still holds, in all its tables. */
async function sessionRows(id: string): Promise<number> {
  return runInDurableObject(bindings.SESSION.getByName(id), async (_o, state) => {
    const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray();
    return tables.reduce((sum, t) => sum + (t.name === "_schema_version" ? 0 : state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM "${t.name}"`).one().n), 0);
  });
}

const purge = (id: string) => api(`/v1/sessions/${id}?purge=true`, { method: "DELETE" });

beforeEach(async () => {
  await scriptedModel.reset();
});

describe("deleting a session", () => {
  it("deletes an idle session for good: its sandbox, storage, alarm, R2 snapshot and index row; a later GET is 404 session_deleted", async () => {
    const session = await createSession();
    await waitForSession(session.id, "idle", (v) => v.status === "idle");
    // A pause stores the workspace's snapshot in R2 under the session's prefix.
    expect((await api(`/v1/sessions/${session.id}/pause`, { method: "POST" })).status).toBe(200);
    await waitForSession(session.id, "paused", (v) => v.sandbox.state === "paused");
    expect((await r2Keys(`sessions/${session.id}/`)).length).toBeGreaterThan(0);
    expect(await sessionRows(session.id)).toBeGreaterThan(0);

    const res = await purge(session.id);
    expect(res.status).toBe(200);
    expect(deletedSession.parse(await res.json())).toMatchObject({ id: session.id, deleted: true, reason: "deleted" });
    expect(await errorOf(await api(`/v1/sessions/${session.id}`))).toEqual({ status: 404, code: "session_deleted" });
    expect(await sessionRows(session.id)).toBe(0);
    expect(await runInDurableObject(bindings.SESSION.getByName(session.id), (_o, state) => state.storage.getAlarm())).toBeNull();
    expect(await r2Keys(`sessions/${session.id}/`)).toEqual([]);
    const listed = (await (await api("/v1/sessions?limit=100")).json()) as { sessions: { id: string }[] };
    expect(listed.sessions.map((s) => s.id)).not.toContain(session.id);
    // Its sandbox went with it (destroyed first).
    await waitFor("no live sandbox", async () => (await sandboxAdmin.stats()).live + (await sandboxAdmin.stats()).pausedNow === 0, 10_000);

    // Repeated: harmless. A plain DELETE (destroy) of a deleted session is a 404; an unknown one too.
    const again = await purge(session.id);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ deleted: true, objectsDeleted: 0 });
    expect((await api(`/v1/sessions/${session.id}`, { method: "DELETE" })).status).toBe(404);
    expect(await errorOf(await purge("sabcdefghijklmnopqrst"))).toEqual({ status: 404, code: "not_found" });
  });

  it("SESSION_RETENTION_DAYS prunes idle and destroyed sessions on the cron, never one with a turn running; DELETE ?purge is 409 then", async () => {
    const gate = newGate();
    const [idle, busy] = await Promise.all([createSession(), createSession()]);
    await waitForSession(idle.id, "idle", (v) => v.status === "idle");
    await waitForSession(busy.id, "idle", (v) => v.status === "idle");
    await setScript([bash(gateCommand(gate)), say("Done.")]);
    await send(busy.id, "wait for the gate");
    await waitForSession(busy.id, "the turn to run", (v) => v.status === "running");
    const withRetention = { ...bindings, SESSION_RETENTION_DAYS: "1" } as Env;
    // Off by default; on, a session changed less than a day ago stays.
    expect(await pruneSessions(bindings, Date.now() + 3 * 86_400_000)).toEqual({ deleted: [] });
    expect(await pruneSessions(withRetention)).toEqual({ deleted: [] });

    expect(await pruneSessions(withRetention, Date.now() + 2 * 86_400_000)).toEqual({ deleted: [idle.id] });
    expect(await errorOf(await api(`/v1/sessions/${idle.id}`))).toEqual({ status: 404, code: "session_deleted" });
    expect((await getSession(busy.id)).status).toBe("running");
    expect(await errorOf(await purge(busy.id))).toEqual({ status: 409, code: "session_busy" });
    expect((await getSession(busy.id)).turns[0]!.status).toBe("running");

    await sandboxAdmin.openGate(gate);
    await waitForSession(busy.id, "the turn to end", turnEnded(1));
    // Once destroyed (the transcript kept), retention takes it too.
    expect((await api(`/v1/sessions/${busy.id}`, { method: "DELETE" })).status).toBe(200);
    await waitFor("the destroyed session's index row", async () => {
      const row = await bindings.DB.prepare("SELECT status FROM sessions WHERE id = ?").bind(busy.id).first<{ status: string }>();
      return row?.status === "destroyed";
    }, 10_000);
    expect(await pruneSessions(withRetention, Date.now() + 2 * 86_400_000)).toEqual({ deleted: [busy.id] });
    expect(await errorOf(await api(`/v1/sessions/${busy.id}`))).toEqual({ status: 404, code: "session_deleted" });
  });
});

describe("deleting an eval", () => {
  it("is refused while the eval runs (409), and once cancelled and stopped deletes it and releases its runs to retention", async () => {
    const [task] = bundledEvalTasks(testEnv.TEST_REPO.replace(/\/repo$/, "/evals"), ["answer"]);
    const res = await api("/v1/evals", { method: "POST", json: { name: "rm", tasks: [task], configs: [{ name: "solo", model: "sonnet", forks: 1 }] } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as EvalView;
    // A run of the eval (one it launched, or one listed for it): kept from pruning while the eval exists.
    await bindings.DB.prepare("INSERT INTO eval_runs (run_id, eval_id, created_at) VALUES ('rlisted', ?, ?)").bind(id, new Date().toISOString()).run();
    expect(await errorOf(await api(`/v1/evals/${id}`, { method: "DELETE" }))).toEqual({ status: 409, code: "eval_not_ended" });
    const listed = async () => ((await (await api("/v1/evals")).json()) as EvalPage).evals.filter((e) => e.id === id);
    expect(await listed()).toMatchObject([{ id, name: "rm", configs: 1, tasks: 1, runs: 1 }]);

    expect((await api(`/v1/evals/${id}/cancel`, { method: "POST" })).status).toBe(200);
    const deleted = await waitFor("the cancelled eval to be deleted", async () => {
      const del = await api(`/v1/evals/${id}`, { method: "DELETE" });
      return del.status === 200 ? deletedEval.parse(await del.json()) : undefined;
    }, 15_000);
    expect(deleted).toMatchObject({ id, deleted: true });
    expect(deleted.runsReleased).toBeGreaterThanOrEqual(1);
    // Gone from the list too.
    expect(await listed()).toEqual([]);
    expect(await bindings.DB.prepare("SELECT COUNT(*) AS n FROM eval_runs WHERE eval_id = ?").bind(id).first<{ n: number }>()).toEqual({ n: 0 });
    expect(await errorOf(await api(`/v1/evals/${id}`))).toEqual({ status: 404, code: "not_found" });
    expect((await api(`/v1/evals/${id}/results`)).status).toBe(404);
    expect(await runInDurableObject(bindings.EVAL.getByName(id), (_o, state) => state.storage.getAlarm())).toBeNull();
    expect(await errorOf(await api(`/v1/evals/${id}`, { method: "DELETE" }))).toEqual({ status: 404, code: "not_found" });
  });
});
