/**
 * The Worker's two HTML pages (the dashboard at /, the API reference at /docs): static shells that
 * load their script and stylesheet from this origin (src/routes/static-assets.ts); their CSP and
 * other security headers are src/middleware/secure-headers.ts's `pageHeaders`.
 */
import type { Context } from "hono";
import type { AppEnv } from "../core/app-env";

const ATTR_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const attr = (value: string): string => value.replace(/[&<>"']/g, (ch) => ATTR_ESCAPES[ch]!);

/** A page's <head>: its title, its stylesheet and its scripts (deferred, in order). */
export function documentHead(opts: { title: string; styleHref: string; scriptHrefs: string[] }): string {
  return `<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${attr(opts.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${attr(opts.styleHref)}">
${opts.scriptHrefs.map((href) => `<script src="${attr(href)}" defer></script>`).join("\n")}`;
}

export function htmlPage(c: Context<AppEnv>, html: string): Response {
  return c.body(html, 200, {
    "Content-Type": "text/html; charset=utf-8",
    // The page is small and names versioned assets: always revalidate it.
    "Cache-Control": "no-cache",
  });
}
