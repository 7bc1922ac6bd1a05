/** Minimal HTTP client of the Forkyard API and the local sandbox server's admin API, for scripts. */
import type { PoolTemplateStatus } from "../src/api/pool.ts";
import type { RunView } from "../src/api/runs.ts";
import type { EvalView } from "../src/api/evals.ts";
import type { SessionView, TranscriptEntry } from "../src/api/sessions.ts";

export interface SandboxStats {
  created: number;
  killed: number;
  live: number;
  peakLive: number;
  forked: number;
  calls: Record<string, number>;
}

/** The part of GET /v1/pool the scripts read. */
export interface PoolCounts {
  live: number;
  creating: number;
  waiting: number;
  templates: Record<string, PoolTemplateStatus>;
}

export function forkyardClient(baseUrl: string, token: string) {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    createRun: (request: Record<string, unknown>) => call<{ id: string }>("POST", "/v1/runs", request),
    getRun: (id: string) => call<RunView>("GET", `/v1/runs/${id}`),
    branch: (id: string, n: number, body: { count: number; prompt?: string }) => call<{ forks: number[] }>("POST", `/v1/runs/${id}/forks/${n}/branch`, body),
    createEval: (request: Record<string, unknown>) => call<EvalView>("POST", "/v1/evals", request),
    getEval: (id: string) => call<EvalView>("GET", `/v1/evals/${id}`),
    pool: () => call<PoolCounts>("GET", "/v1/pool"),
    configurePool: (templates: Record<string, unknown>) => call<{ templates: Record<string, PoolTemplateStatus> }>("PUT", "/v1/pool", { templates }),
    createSession: (request: Record<string, unknown>) => call<{ id: string }>("POST", "/v1/sessions", request),
    sendMessage: (id: string, prompt: string) => call<{ turn: number }>("POST", `/v1/sessions/${id}/messages`, { prompt }),
    pauseSession: (id: string) => call<SessionView>("POST", `/v1/sessions/${id}/pause`),
    getSession: (id: string) => call<SessionView>("GET", `/v1/sessions/${id}`),
    transcript: (id: string) => call<{ entries: TranscriptEntry[] }>("GET", `/v1/sessions/${id}/transcript?limit=500`),
    destroySession: (id: string) => call<SessionView>("DELETE", `/v1/sessions/${id}`),
    runReaper: () => call<{ killed: unknown[] }>("POST", "/v1/reaper/run"),
    /** A destroyed session's whole event log (its stream ends after the log). */
    sessionEvents: async (id: string): Promise<RunEventRecord[]> => {
      const res = await fetch(`${baseUrl}/v1/sessions/${id}/events?after=0`, { headers: { Authorization: `Bearer ${token}` } });
      const text = await res.text();
      return text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)) as RunEventRecord);
    },
  };
}

export function sandboxAdminClient(baseUrl: string, adminKey: string) {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, { method, headers: { "X-Admin-Key": adminKey, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    stats: () => call<SandboxStats>("GET", "/admin/stats"),
    reset: () => call<void>("POST", "/admin/reset"),
    latency: (latency: Record<string, number>) => call<void>("PUT", "/admin/latency", latency),
    faults: (faults: Record<string, unknown>[]) => call<unknown>("PUT", "/admin/faults", { faults }),
    /** Recent calls of an operation, oldest first, with their arrival time (epoch ms). */
    calls: (op: string) => call<{ op: string; at: number }[]>("GET", `/admin/calls?op=${encodeURIComponent(op)}`),
  };
}

export const TERMINAL = new Set(["completed", "failed", "cancelled", "budget_exceeded"]);

export interface RunEventRecord {
  type: string;
  at: string;
  fork: number | null;
  step?: string;
  [key: string]: unknown;
}

/**
 * Follows a run's event stream (SSE) until the run ends, then returns its view and every event:
 * no polling, so a benchmark does not load what it measures.
 */
export async function followToEnd(baseUrl: string, token: string, id: string, timeoutMs: number): Promise<{ view: RunView; events: RunEventRecord[] }> {
  const res = await fetch(`${baseUrl}/v1/runs/${id}/events`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET /v1/runs/${id}/events: ${res.status} ${await res.text()}`);
  const events = (await res.text())
    .split("\n\n")
    .map((block) => block.split("\n").find((line) => line.startsWith("data: ")))
    .filter((line): line is string => !!line)
    .map((line) => JSON.parse(line.slice(6)) as RunEventRecord);
  if (!events.some((e) => e.type === "run.finished")) throw new Error(`run ${id}: its event stream ended before the run did`);
  return { view: await forkyardClient(baseUrl, token).getRun(id), events };
}

export async function waitForTerminal(client: ReturnType<typeof forkyardClient>, id: string, timeoutMs: number, pollMs = 250): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.getRun(id).catch(() => undefined);
    if (view && TERMINAL.has(view.status)) return view;
    if (Date.now() > deadline) {
      const forks = view ? view.forks.map((f) => `${f.n}:${f.status}${f.steps.length ? `@${f.steps[f.steps.length - 1]!.name}` : ""}`).join(" ") : "";
      const prepared = view?.prepared ? ` prepared: ${view.prepared.status}` : "";
      throw new Error(`run ${id} did not finish within ${timeoutMs} ms (last: ${view?.status ?? "unreachable"}${prepared}; forks ${forks})`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
