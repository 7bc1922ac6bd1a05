/**
 * Serving the static assets built into dist/assets (scripts/build-assets.ts) through the Worker:
 * wrangler.toml's `[assets]` has `run_worker_first`, so every asset request passes here and gets
 * the same headers as before assets existed — an explicit content type, an ETag (the asset store's
 * content hash), `immutable` caching for a URL carrying the current version (`?v=<hash>`), and a
 * short cache for an unversioned one; nosniff and no referrer come from `assetHeaders`
 * (src/middleware/secure-headers.ts).
 */
import type { Context } from "hono";
import type { AppEnv } from "../core/app-env";

const CONTENT_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  txt: "text/plain; charset=utf-8",
};

/** The content hash of each asset, as the asset store reports it; fixed for a deployment. */
const versions = new Map<string, Promise<string | null>>();

/** The store's ETag without quotes or weak marker: a hex content hash. */
const versionOf = (etag: string | null): string | null => etag?.replace(/^W\//, "").replace(/"/g, "") || null;

function fetchAsset(c: Context<AppEnv>, path: string, method = "GET"): Promise<Response> {
  return c.env.ASSETS.fetch(new Request(new URL(path, c.req.url), { method }));
}

export function assetVersion(c: Context<AppEnv>, path: string): Promise<string | null> {
  let version = versions.get(path);
  if (!version) {
    version = fetchAsset(c, path, "HEAD").then((res) => (res.ok ? versionOf(res.headers.get("ETag")) : null));
    // A failed look-up is tried again on the next request.
    void version.then((v) => v === null && versions.delete(path));
    versions.set(path, version);
  }
  return version;
}

/** The URL a page names an asset by: with its content version, so it can be cached for good. */
export async function assetHref(c: Context<AppEnv>, path: string): Promise<string> {
  const version = await assetVersion(c, path);
  return version ? `${path}?v=${version}` : path;
}

/** Answers GET <path> from the asset store; 404 (the API's JSON error) for a file that is not there. */
export async function serveAsset(c: Context<AppEnv>): Promise<Response> {
  const path = c.req.path;
  const type = CONTENT_TYPES[path.slice(path.lastIndexOf(".") + 1)];
  const res = type ? await fetchAsset(c, path) : null;
  if (!res?.ok) {
    await res?.body?.cancel();
    return c.json({ error: { code: "not_found", message: `No asset at ${path}.` } }, 404);
  }
  const version = versionOf(res.headers.get("ETag"));
  const headers: Record<string, string> = {
    "Content-Type": type!,
    // A URL carrying the current version never changes; an unversioned one is revalidated soon.
    "Cache-Control": version && c.req.query("v") === version ? "public, max-age=31536000, immutable" : "public, max-age=300",
  };
  if (version) headers.ETag = `"${version}"`;
  if (version && c.req.header("If-None-Match") === headers.ETag) {
    await res.body?.cancel();
    return c.body(null, 304, headers);
  }
  return c.newResponse(res.body, 200, headers);
}
