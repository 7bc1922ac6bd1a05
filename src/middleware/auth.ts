import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { AppEnv } from "../core/app-env";
import { UnauthorizedError } from "../core/errors";

/**
 * Bearer-token auth with hono's `bearerAuth` (constant-time comparison over SHA-256 digests) against
 * the tokens `tokensOf` gives for this request: none at all lets nobody in. Every refusal (no header,
 * a malformed one, a wrong token) is `error()`, thrown so the app's error handler answers it in the
 * API's error envelope (401).
 */
export function bearerTokens(tokensOf: (c: Context<AppEnv>) => string[], error: () => UnauthorizedError = () => new UnauthorizedError()): MiddlewareHandler<AppEnv> {
  const refuse = (): never => {
    throw error();
  };
  const refusal = { message: refuse };
  return (c, next) =>
    bearerAuth<AppEnv>({ token: tokensOf(c), noAuthenticationHeader: refusal, invalidAuthenticationHeader: refusal, invalidToken: refusal })(c, next);
}
