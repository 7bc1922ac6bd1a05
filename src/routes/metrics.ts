import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { loadConfig } from "../core/env";
import { UnauthorizedError } from "../core/errors";
import { bearerTokens } from "../middleware/auth";
import { renderMetrics } from "../actions/metrics";

/** GET /metrics: Prometheus text format; behind METRICS_TOKEN (bearer) when it is set. */
export const metrics = new Hono<AppEnv>();

const metricsAuth = bearerTokens(
  (c) => [loadConfig(c.env).METRICS_TOKEN ?? ""],
  () => new UnauthorizedError("A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)."),
);

metrics.get(
  "/metrics",
  (c, next) => (loadConfig(c.env).METRICS_TOKEN ? metricsAuth(c, next) : next()),
  async (c) => c.text(await renderMetrics(c.env), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
);
