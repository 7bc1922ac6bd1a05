import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../core/app-env";
import { loadConfig } from "../core/env";
import { UnauthorizedError } from "../core/errors";

const encoder = new TextEncoder();

async function digest(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(value));
}

/** Compares in constant time (over fixed-length digests, so lengths leak nothing either). */
export async function tokenMatches(candidate: string, tokens: string[]): Promise<boolean> {
  const given = await digest(candidate);
  let matched = false;
  for (const token of tokens) {
    if (crypto.subtle.timingSafeEqual(given, await digest(token))) matched = true;
  }
  return matched;
}

/** Bearer-token auth for /v1 with the tokens of FORKYARD_API_TOKENS (none configured: nobody gets in). */
export function bearerAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Webhooks (mounted before this middleware) are authenticated by their signatures instead.
    if (c.req.path.startsWith("/v1/webhooks/")) return next();
    const header = c.req.header("Authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const tokens = loadConfig(c.env).apiTokens;
    if (!match?.[1] || tokens.length === 0 || !(await tokenMatches(match[1], tokens))) throw new UnauthorizedError();
    await next();
  };
}
