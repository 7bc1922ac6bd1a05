/** `npm start` on a port another process holds: a clear error, never a stack that looks started. */
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PortInUseError, startSandboxServer } from "../../scripts/local-stack.ts";

let server: Server;
let port: number;
const dir = mkdtempSync(join(tmpdir(), "forkyard-port-"));

beforeAll(async () => {
  // What an earlier sandbox server still running looks like: it answers /health.
  server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("the local stack on a port in use", () => {
  it("refuses to start the sandbox server there, naming the port and SANDBOX_PORT (the old one answering /health is not taken for ours)", async () => {
    const spawned: unknown[] = [];
    const start = startSandboxServer({ port, dataDir: join(dir, "sandboxes"), apiKey: "k".repeat(32), quiet: true, portGraceMs: 0, onSpawn: (p) => spawned.push(p) });
    await expect(start).rejects.toThrow(PortInUseError);
    await expect(start).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use.*SANDBOX_PORT`));
    expect(spawned).toHaveLength(0);
  });
});
