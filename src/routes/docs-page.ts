/**
 * The /docs page: Swagger UI (swagger-ui-dist, served from this origin as static assets) rendering
 * /openapi.json. A static shell: every value in it is constant or an asset URL of ours.
 */
import { documentHead } from "./html-page";

export interface DocsAssets {
  styleHref: string;
  bundleHref: string;
  initHref: string;
}

export function renderDocsPage(assets: DocsAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
${documentHead({ title: "Forkyard API reference", styleHref: assets.styleHref, scriptHrefs: [assets.bundleHref, assets.initHref] })}
</head>
<body>
<noscript><p>The API reference needs JavaScript. The document itself is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<div id="swagger-ui"></div>
</body>
</html>
`;
}
