import { Hono } from "hono";
import { openApiDocument } from "../api/openapi";
import type { AppEnv } from "../core/app-env";
import { renderDocsPage } from "./docs-page";
import { assetHeaders, pageHeaders } from "../middleware/secure-headers";
import { htmlPage } from "./html-page";
import { assetHref, serveAsset } from "./static-assets";

/**
 * GET /openapi.json and GET /docs: Swagger UI on the document, its files served from this origin
 * (/docs/*, static assets), so the page works on a closed network. Public: neither holds a secret.
 */
export const docs = new Hono<AppEnv>();

docs.get("/openapi.json", (c) => {
  c.header("Cache-Control", "no-cache");
  return c.json(openApiDocument());
});

docs.get("/docs", pageHeaders, async (c) =>
  htmlPage(
    c,
    renderDocsPage({
      styleHref: await assetHref(c, "/docs/swagger-ui.css"),
      bundleHref: await assetHref(c, "/docs/swagger-ui-bundle.js"),
      initHref: await assetHref(c, "/docs/swagger-init.js"),
    }),
  ),
);

docs.get("/docs/*", assetHeaders, serveAsset);
