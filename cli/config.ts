import { LOCAL_API_TOKEN } from "./local-token.ts";
import type { Io } from "./io.ts";

/** `npm start` serves the Worker here. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

export interface Connection {
  url: string;
  token: string;
}

/** Flags override FORKYARD_URL / FORKYARD_TOKEN, which override the local stack's defaults. */
export function resolveConnection(flags: { url?: string; token?: string }, env: Io["env"]): Connection {
  return {
    url: flags.url || env.FORKYARD_URL || DEFAULT_URL,
    token: flags.token || env.FORKYARD_TOKEN || LOCAL_API_TOKEN,
  };
}
