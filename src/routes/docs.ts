import { Hono } from "hono";
import { openApiDocument } from "../api/openapi";
import type { AppEnv } from "../app-env";
import { DOCS_PAGE_SCRIPT, DOCS_PAGE_STYLE } from "./docs-page";

/** GET /openapi.json and GET /docs (the interactive reference). Public: neither holds a secret. */
export const docs = new Hono<AppEnv>();

docs.get("/openapi.json", (c) => {
  c.header("Cache-Control", "no-cache");
  return c.json(openApiDocument());
});

docs.get("/docs", (c) => {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  // Everything is inline (no CDN: the page works on a closed network); the CSP allows only this page's script.
  c.header(
    "Content-Security-Policy",
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  c.header("Cache-Control", "no-cache");
  c.header("X-Content-Type-Options", "nosniff");
  return c.html(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forkyard API reference</title>
<style>${DOCS_PAGE_STYLE}</style>
</head>
<body>
<header>
  <div><h1>Forkyard API <span id="version"></span></h1><p id="summary"></p></div>
  <label class="token">Bearer token <input id="token" type="password" autocomplete="off" placeholder="FORKYARD_API_TOKENS entry"></label>
</header>
<div class="layout">
  <nav id="nav" aria-label="Operations"></nav>
  <main id="main"><p class="muted">Loading <a href="openapi.json">openapi.json</a>…</p></main>
</div>
<script nonce="${nonce}">${DOCS_PAGE_SCRIPT}</script>
</body>
</html>`);
});
