import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { loadConfig } from "../core/env";
import { sandboxEndpoint } from "../sandbox/connection";

/** GET /healthz: the Worker is up, and which sandbox backend it reaches. Public, no secrets. */
export const health = new Hono<AppEnv>();

health.get("/healthz", async (c) => {
  const config = loadConfig(c.env);
  const endpoint = sandboxEndpoint(config);
  const started = Date.now();
  let reachable = false;
  let detail: string | undefined;
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(5000) });
    reachable = res.ok;
    if (!res.ok) detail = `HTTP ${res.status}`;
  } catch (err) {
    detail = err instanceof Error ? err.message : String(err);
  }
  const body = {
    ok: true,
    sandbox: { backend: config.SANDBOX_BACKEND, endpoint, reachable, latencyMs: Date.now() - started, ...(detail ? { detail } : {}) },
  };
  return c.json(body, 200);
});
