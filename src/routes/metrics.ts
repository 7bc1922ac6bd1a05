import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { loadConfig, type Config } from "../core/env";
import { UnauthorizedError } from "../core/errors";
import { bearerTokens } from "../middleware/auth";
import { renderMetrics } from "../actions/metrics";

/**
 * GET /metrics: Prometheus text format. Behind METRICS_TOKEN (bearer) when it is set; without one
 * it is open only on the local stack (SANDBOX_BACKEND=local: tests, `npm start`, which sets a token
 * of its own anyway) and closed everywhere else: a deployment must set METRICS_TOKEN to be scraped.
 */
export const metrics = new Hono<AppEnv>();

export type MetricsAccess = "token" | "open" | "closed";

/** How /metrics is reached under a configuration. */
export function metricsAccess(config: Pick<Config, "METRICS_TOKEN" | "SANDBOX_BACKEND">): MetricsAccess {
  if (config.METRICS_TOKEN) return "token";
  return config.SANDBOX_BACKEND === "local" ? "open" : "closed";
}

const metricsAuth = bearerTokens(
  (c) => [loadConfig(c.env).METRICS_TOKEN ?? ""],
  () => new UnauthorizedError("A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)."),
);

metrics.get(
  "/metrics",
  (c, next) => {
    const access = metricsAccess(loadConfig(c.env));
    if (access === "open") return next();
    if (access === "token") return metricsAuth(c, next);
    throw new UnauthorizedError("/metrics needs a token on a deployment: set METRICS_TOKEN (wrangler secret put METRICS_TOKEN) and send Authorization: Bearer <METRICS_TOKEN>.");
  },
  async (c) => c.text(await renderMetrics(c.env), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
);
