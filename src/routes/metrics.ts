import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { loadConfig } from "../core/env";
import { UnauthorizedError } from "../core/errors";
import { tokenMatches } from "../middleware/auth";
import { renderMetrics } from "../actions/metrics";

/** GET /metrics: Prometheus text format; behind METRICS_TOKEN (bearer) when it is set. */
export const metrics = new Hono<AppEnv>();

metrics.get("/metrics", async (c) => {
  const token = loadConfig(c.env).METRICS_TOKEN;
  if (token) {
    const given = /^Bearer\s+(\S+)$/i.exec(c.req.header("Authorization") ?? "")?.[1];
    if (!given || !(await tokenMatches(given, [token]))) throw new UnauthorizedError("A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>).");
  }
  return c.text(await renderMetrics(c.env), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
});
