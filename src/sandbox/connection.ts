import type { ConnectionOpts } from "e2b";
import { configuredSecrets, type Config } from "../core/env";
import { SandboxAuthError } from "../core/errors";

/** e2b SDK connection options for the configured backend (E2B itself, or the local sandbox server). */
export function sandboxConnection(config: Config): ConnectionOpts {
  if (!config.E2B_API_KEY) throw new SandboxAuthError("E2B_API_KEY is not configured.");
  const opts: ConnectionOpts = { apiKey: config.E2B_API_KEY, requestTimeoutMs: 30_000, retries: 0 };
  if (config.E2B_API_URL) opts.apiUrl = config.E2B_API_URL;
  if (config.E2B_SANDBOX_URL) opts.sandboxUrl = config.E2B_SANDBOX_URL;
  if (config.E2B_DOMAIN) opts.domain = config.E2B_DOMAIN;
  return opts;
}

/** Where the Worker's sandbox API points, safe to show (no key). */
export function sandboxEndpoint(config: Config): string {
  return config.E2B_API_URL ?? `https://api.${config.E2B_DOMAIN ?? "e2b.app"}`;
}

/** Everything a step needs to reach a sandbox: the connection, and the secrets its output is scrubbed of. */
export interface SandboxAccess {
  connection: ConnectionOpts;
  secrets: readonly string[];
}

export function sandboxAccess(config: Config): SandboxAccess {
  return { connection: sandboxConnection(config), secrets: configuredSecrets(config) };
}
