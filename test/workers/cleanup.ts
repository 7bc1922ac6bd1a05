// The workers files share one runtime (isolate: false): what a file leaves behind would be seen by
// the next. After each file (setup.ts), everything it started is ended and shared state reset:
// runs and sessions still going, the warm pool, sandboxes still alive and the Pool's leases of
// them, objects' in-memory state (a coalesced index write of an ended run), D1's rows, R2's
// objects, the sandbox server's faults, latency and counters, the scripted model and the test GitHub.
import { abortAllDurableObjects, listDurableObjectIds, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Sandbox } from "e2b";
import { api, e2bOptions, sandboxAdmin, scriptedModel, testEnv, waitFor } from "./helpers";

const bindings = env as unknown as { DB: D1Database; ARTIFACTS: R2Bucket; ORCHESTRATOR: DurableObjectNamespace; SESSION: DurableObjectNamespace };

/** Objects whose alarms were run to the end by an earlier file's cleanup (they stay ended). */
const settled: Set<string> = ((globalThis as { __forkyardSettled?: Set<string> }).__forkyardSettled ??= new Set());

/**
 * Runs every run's and session's pending alarm now, until none is left: an ended run's alarm still
 * writes to D1 (its forks' metrics rows), and must do so before D1 is emptied, not in the next file.
 */
async function settleAlarms(): Promise<void> {
  for (const ns of [bindings.ORCHESTRATOR, bindings.SESSION]) {
    for (const id of await listDurableObjectIds(ns)) {
      if (settled.has(id.toString())) continue;
      const stub = ns.get(id);
      for (let i = 0; i < 5 && (await runDurableObjectAlarm(stub).catch(() => false)); i++);
      settled.add(id.toString());
    }
  }
}

const githubUrl = (testEnv as unknown as { TEST_GITHUB_URL: string }).TEST_GITHUB_URL;

async function listIds(path: string, key: "runs" | "sessions", status: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const res = await api(`${path}?status=${status}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as Record<string, { id: string }[]> & { nextCursor?: string };
    ids.push(...page[key]!.map((r) => r.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

/** Runs not ended (the D1 index): cancelled, then waited for. */
async function endRuns(): Promise<void> {
  const open = async () => (await Promise.all(["running", "paused", "budget_exceeded"].map((s) => listIds("/v1/runs", "runs", s)))).flat();
  for (const id of await open()) await api(`/v1/runs/${id}/cancel`, { method: "POST" });
  await waitFor("every run to end", async () => (await open()).length === 0, 60_000);
}

async function endSessions(): Promise<void> {
  for (const status of ["setting_up", "idle", "running", "paused"]) {
    for (const id of await listIds("/v1/sessions", "sessions", status)) await api(`/v1/sessions/${id}`, { method: "DELETE" });
  }
}

/** Kills what is still alive on the sandbox server (a file's own sandboxes, created with the SDK). */
async function killSandboxes(): Promise<void> {
  const res = await sandboxAdmin.request("/admin/sandboxes");
  const sandboxes = (await res.json()) as { sandboxID: string; state: string }[];
  await Promise.all(sandboxes.map((s) => Sandbox.kill(s.sandboxID, e2bOptions()).catch(() => {})));
}

/** Every row of every table but the migrations' own: D1 as a fresh runtime has it. */
async function emptyD1(): Promise<void> {
  const tables = await bindings.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'").all<{ name: string }>();
  if (tables.results.length) await bindings.DB.batch(tables.results.map((t) => bindings.DB.prepare(`DELETE FROM "${t.name}"`)));
}

async function emptyR2(): Promise<void> {
  for (;;) {
    const listed = await bindings.ARTIFACTS.list({ limit: 1000 });
    if (listed.objects.length === 0) return;
    await bindings.ARTIFACTS.delete(listed.objects.map((o) => o.key));
  }
}

export async function cleanUpAfterFile(): Promise<void> {
  await sandboxAdmin.faults([]);
  await sandboxAdmin.latency({});
  await endRuns();
  await endSessions();
  await api("/v1/pool", { method: "PUT", json: { templates: {} } });
  await killSandboxes();
  await waitFor("no live sandbox", async () => {
    const s = await sandboxAdmin.stats();
    return s.live === 0 && s.pausedNow === 0;
  }, 30_000);
  // Leases of sandboxes killed above (kept ones, a failed kill) are freed.
  await api("/v1/reaper/run", { method: "POST" });
  await settleAlarms();
  // In-memory state of every object goes (timers too: an ended run's coalesced index write); storage stays.
  await abortAllDurableObjects();
  await emptyD1();
  await emptyR2();
  await sandboxAdmin.reset();
  await scriptedModel.reset();
  await fetch(`${githubUrl}/__reset`, { method: "POST" });
}
