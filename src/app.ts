import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./core/app-env";
import { loadConfig } from "./core/env";
import { ForkyardError, PayloadTooLargeError } from "./core/errors";
import { bearerTokens } from "./middleware/auth";
import { errorFields, log, setLogLevel } from "./observability/log";
import { artifacts } from "./routes/artifacts";
import { dashboard } from "./routes/dashboard";
import { docs } from "./routes/docs";
import { evals } from "./routes/evals";
import { health } from "./routes/health";
import { metrics } from "./routes/metrics";
import { modelProxy } from "./routes/model-proxy";
import { operations } from "./routes/operations";
import { runs } from "./routes/runs";
import { sessions } from "./routes/sessions";
import { templates } from "./routes/templates";
import { webhooks } from "./routes/webhooks";

/** The HTTP API: request ids, errors as `{ error: { code, message, details } }`, auth on /v1. */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // The request id is Cloudflare's ray id (or a fresh UUID), on every response as X-Request-Id; a
  // client's own X-Request-Id is not taken (limitLength 0 refuses every incoming one).
  app.use(requestId({ limitLength: 0, generator: (c) => c.req.header("cf-ray") ?? crypto.randomUUID() }));
  app.use(async (c, next) => {
    setLogLevel(loadConfig(c.env).LOG_LEVEL);
    await next();
  });

  app.route("/", health);
  app.route("/", dashboard);
  app.route("/", docs);
  app.route("/", metrics);

  // Webhooks authenticate each delivery by its signature, not by a bearer token.
  app.route("/v1/webhooks", webhooks);
  // The model proxy authenticates each call by its per-fork token (and has its own body limit).
  app.route("/v1/model-proxy", modelProxy);
  const ownAuth = (path: string) => path.startsWith("/v1/webhooks/") || path.startsWith("/v1/model-proxy/");
  const apiAuth = bearerTokens((c) => loadConfig(c.env).apiTokens);
  // Webhooks (mounted above) are authenticated by their signatures, also on paths they do not serve (404, not 401).
  app.use("/v1/*", (c, next) => (ownAuth(c.req.path) ? next() : apiAuth(c, next)));
  const apiBodyLimit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new PayloadTooLargeError(maxSize);
      },
    });
  app.use("/v1/*", async (c, next) => (c.req.path.startsWith("/v1/model-proxy/") ? next() : apiBodyLimit(loadConfig(c.env).MAX_BODY_BYTES)(c, next)));
  app.route("/v1/runs", runs);
  app.route("/v1/runs", artifacts);
  app.route("/v1/sessions", sessions);
  app.route("/v1/evals", evals);
  app.route("/v1", operations);
  app.route("/v1", templates);

  app.notFound((c) => c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}.` } }, 404));

  app.onError((err, c) => {
    const requestId = c.get("requestId");
    // An internal error's text (a crash, an unexpected exception crossing an RPC) is for the logs,
    // never for the client: the client gets the request id to quote.
    const internal = !(err instanceof ForkyardError) || err.code === "internal_error";
    if (internal) {
      log("error", "request.crashed", { requestId, path: c.req.path, ...errorFields(err) });
      return c.json({ error: { code: "internal_error", message: "Internal error.", details: { requestId } } }, 500);
    }
    if (err.status >= 500) log("error", "request.failed", { requestId, path: c.req.path, errorCode: err.code, errorMessage: err.message });
    if (err.status === 429 && err.details?.retryAfterSeconds !== undefined) c.header("Retry-After", String(err.details.retryAfterSeconds));
    return c.json({ error: err.toJSON() }, err.status as 400);
  });

  return app;
}
