import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { dashboardScript } from "../dashboard/app-script";
import { renderDashboardPage } from "../dashboard/page";
import { dashboardCss } from "../dashboard/styles";

/**
 * GET / (the dashboard page) and its two assets. Public: the page asks for the API token and the
 * browser sends it on its /v1 calls. A strict CSP: scripts, styles and fetches from this origin only.
 */
export const dashboard = new Hono<AppEnv>();

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** FNV-1a: a short content version for the asset URLs (cache-busting, ETags). */
function contentVersion(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

interface Asset {
  body: string;
  type: string;
  version: string;
}

const ASSETS: Record<string, Asset> = {
  "/dashboard/app.js": { body: dashboardScript, type: "text/javascript; charset=utf-8", version: contentVersion(dashboardScript) },
  "/dashboard/app.css": { body: dashboardCss, type: "text/css; charset=utf-8", version: contentVersion(dashboardCss) },
};

const page = renderDashboardPage({
  scriptHref: `/dashboard/app.js?v=${ASSETS["/dashboard/app.js"]!.version}`,
  styleHref: `/dashboard/app.css?v=${ASSETS["/dashboard/app.css"]!.version}`,
});

const COMMON_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

dashboard.get("/", (c) => {
  return c.body(page, 200, {
    ...COMMON_HEADERS,
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": DASHBOARD_CSP,
    "X-Frame-Options": "DENY",
    // The page is tiny and names versioned assets: always revalidate it.
    "Cache-Control": "no-cache",
  });
});

for (const [path, asset] of Object.entries(ASSETS)) {
  dashboard.get(path, (c) => {
    const etag = `"${asset.version}"`;
    // A URL carrying the current version never changes; an unversioned one is revalidated soon.
    const cacheControl = c.req.query("v") === asset.version ? "public, max-age=31536000, immutable" : "public, max-age=300";
    const headers = { ...COMMON_HEADERS, "Content-Type": asset.type, "Cache-Control": cacheControl, ETag: etag };
    if (c.req.header("If-None-Match") === etag) return c.body(null, 304, headers);
    return c.body(asset.body, 200, headers);
  });
}
