// Helpers for tests (Node tests here, and any globalSetup that wants an in-process server):
// starts a server on a random port with a throw-away data directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSandboxServer, type SandboxServer, type SandboxServerOptions } from "./server.ts";

export interface TestSandboxServer {
  server: SandboxServer;
  /** Connection options for the e2b SDK: {apiKey, apiUrl, sandboxUrl}. */
  sdk: { apiKey: string; apiUrl: string; sandboxUrl: string };
  /** fetch against the server with the API key set (and the admin key for /admin paths). */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Closes the server and deletes its data directory. */
  stop(): Promise<void>;
}

export async function startTestSandboxServer(options: SandboxServerOptions = {}): Promise<TestSandboxServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "local-sandbox-test-"));
  let server: SandboxServer;
  try {
    server = await startSandboxServer({ port: 0, log: () => {}, ...options, dataDir });
  } catch (err) {
    // A server that refuses to start (a test of a refusal) leaves no folder behind.
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    sdk: { apiKey: server.apiKey, apiUrl: server.url, sandboxUrl: server.url },
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("X-API-Key", server.apiKey);
      if (path.startsWith("/admin/")) headers.set("X-Admin-Key", server.adminKey);
      if (init.body !== undefined && !headers.has("content-type")) headers.set("Content-Type", "application/json");
      return fetch(`${server.url}${path}`, { ...init, headers });
    },
    async stop() {
      await server.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
