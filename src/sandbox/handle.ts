import { Sandbox, type ConnectionOpts } from "e2b";

/**
 * What it takes to talk to a sandbox's envd without asking the control plane again: its id,
 * domain, envd version and access token, as the create (or one connect) returned them. Carried
 * in the acquire step's result, so each later step builds its SDK client locally.
 */
export interface SandboxHandle {
  sandboxId: string;
  sandboxDomain?: string;
  envdVersion: string;
  envdAccessToken?: string;
  trafficAccessToken?: string;
}

/** The fields the e2b SDK's Sandbox was built with (some are protected in its types, not at run time). */
export function handleOf(sandbox: Sandbox): SandboxHandle {
  const fields = sandbox as unknown as { envdAccessToken?: string; trafficAccessToken?: string; envdApi?: { version?: string } };
  const handle: SandboxHandle = { sandboxId: sandbox.sandboxId, envdVersion: fields.envdApi?.version ?? "" };
  if (sandbox.sandboxDomain) handle.sandboxDomain = sandbox.sandboxDomain;
  if (fields.envdAccessToken) handle.envdAccessToken = fields.envdAccessToken;
  if (fields.trafficAccessToken) handle.trafficAccessToken = fields.trafficAccessToken;
  return handle;
}

/** An SDK client for the sandbox, built from its handle: no network call. */
export function sandboxFromHandle(connection: ConnectionOpts, handle: SandboxHandle): Sandbox {
  const SandboxClass = Sandbox as unknown as new (opts: ConnectionOpts & SandboxHandle) => Sandbox;
  return new SandboxClass({ ...connection, ...handle });
}
