import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../core/app-env";
import { PayloadTooLargeError } from "../core/errors";
import { authorizeProxyCall, MODEL_PROXY_MAX_BODY_BYTES, proxyMessages } from "../model-proxy/forward";

/**
 * The Messages proxy for agent runtimes inside sandboxes (src/model-proxy/forward.ts): mounted at
 * /v1/model-proxy, authenticated by its per-fork token (not by the API's bearer tokens). The
 * `claude-code` runtime's ANTHROPIC_BASE_URL is `<PUBLIC_URL>/v1/model-proxy/<run>`.
 */
export const modelProxy = new Hono<AppEnv>();

modelProxy.post(
  "/:id/v1/messages",
  bodyLimit({
    maxSize: MODEL_PROXY_MAX_BODY_BYTES,
    onError: () => {
      throw new PayloadTooLargeError(MODEL_PROXY_MAX_BODY_BYTES);
    },
  }),
  async (c) => {
    const grant = await authorizeProxyCall(c.env, c.req.param("id"), c.req.raw.headers);
    return proxyMessages(c.env, grant, await c.req.text(), c.req.raw.headers, (p) => c.executionCtx.waitUntil(p));
  },
);
