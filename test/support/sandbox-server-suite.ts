// A local sandbox server for one test file, started before its tests and stopped after them with
// every sandbox the file created (through `create`) killed first.
import { afterAll, beforeAll } from "vitest";
import { Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

export interface SandboxServerSuite {
  /** The running server (after beforeAll). */
  server(): TestSandboxServer;
  /** A new sandbox on it, killed when the file ends. */
  create(options?: { timeoutMs?: number; secure?: boolean }): Promise<Sandbox>;
}

export function useSandboxServer(): SandboxServerSuite {
  let srv: TestSandboxServer | undefined;
  const created: Sandbox[] = [];
  beforeAll(async () => {
    srv = await startTestSandboxServer();
  });
  afterAll(async () => {
    for (const sbx of created) await sbx.kill().catch(() => {});
    await srv?.stop();
  });
  const server = () => srv as TestSandboxServer;
  return {
    server,
    async create(options = {}) {
      const sbx = await Sandbox.create("base", { ...server().sdk, timeoutMs: 60_000, ...options });
      created.push(sbx);
      return sbx;
    },
  };
}
