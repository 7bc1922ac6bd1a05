import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { RunSummary, RunView } from "../../src/api/runs";
import type { RecordedCall, ScriptTurn } from "../support/anthropic-server";
import { TEST_API_TOKEN, TEST_E2B_API_KEY, TEST_SANDBOX_ADMIN_KEY } from "../support/constants";

export const testEnv = env as unknown as { TEST_REPO: string; E2B_API_URL: string } & Record<string, unknown>;

const worker = (exports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;

/** Calls the Worker's HTTP API in-process, authenticated by default. */
export async function api(path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("Authorization", `Bearer ${init.token ?? TEST_API_TOKEN}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  return worker.fetch(new Request(`http://forkyard.test${path}`, { ...init, headers, body }));
}

export async function createRun(request: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ id: string; status: string }> {
  const res = await api("/v1/runs", { method: "POST", json: { repo: testEnv.TEST_REPO, ...request }, headers });
  if (res.status !== 202) throw new Error(`POST /v1/runs: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; status: string };
}

export async function getRun(id: string): Promise<RunView> {
  const res = await api(`/v1/runs/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/runs/${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as RunView;
}

/** A backed-off probe's first and longest intervals (ms). */
const FIRST_POLL_MS = 50;
const LONGEST_POLL_MS = 500;

/**
 * Resolves with `probe`'s first truthy answer (a probe that throws is asked again); rejects after
 * `timeoutMs` with its last error. Given `intervalMs`, it probes at that pace (vi.waitFor);
 * otherwise it backs off from 50 to 500 ms: most probes read a run's or a session's view, which
 * costs the runtime a few ms to build, and a suite of long waits at a fixed 200 ms spent about a
 * fifth of the runtime's CPU on them (a CPU profile of the workers files).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, intervalMs?: number): Promise<T> {
  const attempt = async () => {
    const value = await probe();
    if (!value) throw new Error(`Timed out waiting for ${what}`);
    return value;
  };
  if (intervalMs !== undefined) return vi.waitFor(attempt, { timeout: timeoutMs, interval: intervalMs });
  const deadline = Date.now() + timeoutMs;
  for (let interval = FIRST_POLL_MS; ; interval = Math.min(LONGEST_POLL_MS, interval * 2)) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() + interval > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

export async function waitForRunStatus(id: string, statuses: string[], timeoutMs = 120_000): Promise<RunView> {
  let last: RunView | undefined;
  try {
    return await waitFor(
      `run ${id} to reach ${statuses.join("|")}`,
      async () => {
        last = await getRun(id);
        return statuses.includes(last.status) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last view: ${JSON.stringify(last, null, 1)?.slice(0, 4000)}`);
  }
}

/** The local sandbox server's admin API (counters, faults, latency). */
export const sandboxAdmin = {
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("X-Admin-Key", TEST_SANDBOX_ADMIN_KEY);
    headers.set("Content-Type", "application/json");
    return fetch(`${testEnv.E2B_API_URL}${path}`, { ...init, headers });
  },
  async stats(): Promise<{ created: number; killed: number; live: number; peakLive: number; pausedNow: number; resumed: number; forked: number; calls: Record<string, number> }> {
    return (await (await this.request("/admin/stats")).json()) as never;
  },
  async reset(): Promise<void> {
    await this.request("/admin/reset", { method: "POST" });
  },
  async faults(faults: unknown[]): Promise<void> {
    const res = await this.request("/admin/faults", { method: "PUT", body: JSON.stringify({ faults }) });
    if (!res.ok) throw new Error(`set faults: ${res.status} ${await res.text()}`);
  },
  async latency(latency: Record<string, number>): Promise<void> {
    await this.request("/admin/latency", { method: "PUT", body: JSON.stringify(latency) });
  },
  /** Opens gate `name` in every running sandbox (a command waiting with gateCommand(name) goes on). */
  async openGate(name: string): Promise<number> {
    const res = await this.request(`/admin/gates/${name}`, { method: "POST" });
    if (!res.ok) throw new Error(`open gate: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { opened: number }).opened;
  },
};

/** A shell command that waits until the test opens gate `name` (sandboxAdmin.openGate): a window with no clock. */
export const gateCommand = (name: string) => `until [ -e ~/.gates/${name} ]; do sleep 0.05; done`;

/** A fresh gate name. */
export const newGate = () => `g${crypto.randomUUID().slice(0, 8)}`;

export const e2bOptions = () => ({ apiKey: TEST_E2B_API_KEY, apiUrl: testEnv.E2B_API_URL, sandboxUrl: testEnv.E2B_API_URL });

/** The scripted Anthropic Messages server: its script of replies and the calls it recorded. */
export const scriptedModel = {
  async request(path: string, body?: unknown): Promise<unknown> {
    const url = (testEnv as unknown as { ANTHROPIC_BASE_URL: string }).ANTHROPIC_BASE_URL;
    const res = await fetch(`${url}${path}`, { method: path === "/__calls" ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return res.json();
  },
  reset(): Promise<unknown> {
    return this.request("/__reset");
  },
  script(turns: ScriptTurn[]): Promise<unknown> {
    return this.request("/__script", { turns });
  },
  /** The Messages API calls made so far, in order. */
  async calls(): Promise<RecordedCall[]> {
    return ((await this.request("/__calls")) as RecordedCall[]).filter((c) => c.path === "/v1/messages");
  },
};

/** A run's row in GET /v1/runs (the D1 index), once it matches `probe` (the index is written a moment after the run changes). */
export async function waitForListedRun(id: string, probe: (row: RunSummary) => boolean, timeoutMs = 15_000): Promise<RunSummary> {
  let last: RunSummary | undefined;
  try {
    return await waitFor(`run ${id} listed as expected`, async () => {
      last = ((await (await api("/v1/runs?limit=100")).json()) as { runs: RunSummary[] }).runs.find((r) => r.id === id);
      return last && probe(last) ? last : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last row: ${JSON.stringify(last)}`);
  }
}
