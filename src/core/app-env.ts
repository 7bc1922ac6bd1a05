import type { Env } from "./env";

/** Hono's typing of this app: bindings plus per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: { requestId: string };
}
