import { secureHeaders } from "hono/secure-headers";

/**
 * Security headers for what the Worker serves to browsers, with hono's `secureHeaders`: nosniff and
 * no referrer on every static asset; the HTML pages (the dashboard at /, the API reference at /docs)
 * add a strict CSP — no inline script or style, no eval, no other origin — and no framing. hono's
 * other defaults are off, so the headers are exactly these.
 */
const ONLY_THESE = {
  crossOriginResourcePolicy: false,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xContentTypeOptions: true,
  referrerPolicy: "no-referrer",
} as const;

export const assetHeaders = secureHeaders(ONLY_THESE);

export const pageHeaders = secureHeaders({
  ...ONLY_THESE,
  xFrameOptions: "DENY",
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});
