import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { renderDashboardPage } from "./dashboard-page";
import { assetHeaders, pageHeaders } from "../middleware/secure-headers";
import { htmlPage } from "./html-page";
import { assetHref, serveAsset } from "./static-assets";

/**
 * GET / (the dashboard page) and its assets (/dashboard/app.js, app.css: static assets built from
 * src/dashboard/client). Public: the page asks for the API token and the browser sends it on its
 * /v1 calls.
 */
export const dashboard = new Hono<AppEnv>();

dashboard.get("/", pageHeaders, async (c) =>
  htmlPage(c, renderDashboardPage({ scriptHref: await assetHref(c, "/dashboard/app.js"), styleHref: await assetHref(c, "/dashboard/app.css") })),
);

dashboard.get("/dashboard/*", assetHeaders, serveAsset);
