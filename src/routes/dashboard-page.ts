import { documentHead } from "./html-page";

/**
 * The dashboard's HTML document (GET /). A static shell: everything in it is constant, the run
 * data is rendered by /dashboard/app.js (built from ./client) with DOM APIs (text nodes, never HTML strings).
 */
export interface PageAssets {
  scriptHref: string;
  styleHref: string;
}

export function renderDashboardPage(assets: PageAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
${documentHead({ title: "Forkyard", styleHref: assets.styleHref, scriptHrefs: [assets.scriptHref] })}
</head>
<body>
<a class="skip" href="#main" id="skip-link">Skip to content</a>
<header class="topbar">
  <div class="topbar-inner">
    <a class="brand" href="#/">
      <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
        <circle cx="6" cy="5" r="2.2"></circle><circle cx="18" cy="5" r="2.2"></circle><circle cx="12" cy="19" r="2.2"></circle>
        <path d="M6 7.2v1.8a3 3 0 0 0 3 3h6a3 3 0 0 0 3-3V7.2M12 12v4.8"></path>
      </svg>
      <span>Forkyard</span>
    </a>
    <nav class="nav" aria-label="Main">
      <a href="#/" data-nav="runs">Runs</a>
      <a href="#/new" data-nav="new">New run</a>
      <a href="#/sessions" data-nav="sessions">Sessions</a>
      <a href="#/evals" data-nav="evals">Evals</a>
      <a href="/docs" title="The HTTP API: every operation, its request and its answers (Swagger UI)">API docs</a>
    </nav>
    <div class="auth" id="auth"></div>
  </div>
</header>
<main id="main" tabindex="-1">
  <noscript><p>The Forkyard dashboard needs JavaScript. The API is described at /openapi.json and in docs/api.md.</p></noscript>
  <p class="loading">Loading…</p>
</main>
<div class="sr-only" id="announcer" aria-live="polite" aria-atomic="true"></div>
<div class="toasts" id="toasts" role="status" aria-live="polite"></div>
</body>
</html>
`;
}
