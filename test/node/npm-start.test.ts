import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/free-port.ts";
import { LOCAL_API_TOKEN, ROOT, waitForHttp } from "../../scripts/local-stack.ts";
import { createTestRepo } from "../support/test-repo.ts";

let root: string;
let stateDir: string;
let repo: string;

/** `npm start` exactly as a developer runs it (scripts/start.ts), on free ports and its own state dir. */
async function npmStart(ports: { port: number; sandboxPort: number }): Promise<{ child: ChildProcess; output: () => string; stop(): Promise<void> }> {
  let output = "";
  const child = spawn(join(ROOT, "node_modules", ".bin", "node"), [join(ROOT, "scripts", "start.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(ports.port), SANDBOX_PORT: String(ports.sandboxPort), STATE_DIR: stateDir, SANDBOX_EXPOSE_PATHS: root, FORKYARD_API_TOKENS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => (output += String(d)));
  child.stderr?.on("data", (d) => (output += String(d)));
  await waitForHttp(`http://127.0.0.1:${ports.port}/healthz`, 90_000, child);
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((done) => {
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

const auth = { Authorization: `Bearer ${LOCAL_API_TOKEN}` };

beforeAll(() => {
  const base = resolve(ROOT, ".test-data");
  mkdirSync(base, { recursive: true });
  root = mkdtempSync(join(base, "npm-start-"));
  stateDir = join(root, "state");
  repo = createTestRepo(join(root, "repo"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("npm start", () => {
  it("serves /healthz with the sandbox backend it reaches, and continues where it stopped after a restart", { timeout: 240_000 }, async () => {
    const ports = { port: await freePort(), sandboxPort: await freePort() };
    const first = await npmStart(ports);
    const health = (await (await fetch(`http://127.0.0.1:${ports.port}/healthz`)).json()) as { sandbox: { backend: string; reachable: boolean; endpoint: string } };
    expect(health.sandbox).toMatchObject({ backend: "local", reachable: true, endpoint: `http://127.0.0.1:${ports.sandboxPort}` });
    // The banner follows start.ts's own readiness check, which may finish after ours.
    for (let i = 0; i < 50 && !first.output().includes("Forkyard is running"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(first.output()).toContain(`Forkyard is running at http://127.0.0.1:${ports.port}`);

    const created = await fetch(`http://127.0.0.1:${ports.port}/v1/runs`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ repo, task: { commands: ["echo persisted"] } }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    await waitForHttp(`http://127.0.0.1:${ports.port}/healthz`, 5000);
    for (let i = 0; i < 150; i++) {
      const view = (await (await fetch(`http://127.0.0.1:${ports.port}/v1/runs/${id}`, { headers: auth })).json()) as { status: string };
      if (view.status === "completed") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await first.stop();
    await expect(fetch(`http://127.0.0.1:${ports.port}/healthz`)).rejects.toThrow();

    const second = await npmStart(ports);
    try {
      const view = (await (await fetch(`http://127.0.0.1:${ports.port}/v1/runs/${id}`, { headers: auth })).json()) as { status: string; forks: { commands: { stdoutTail: string }[] }[] };
      expect(view.status).toBe("completed");
      expect(view.forks[0]?.commands[0]?.stdoutTail).toBe("persisted\n");
      const list = (await (await fetch(`http://127.0.0.1:${ports.port}/v1/runs`, { headers: auth })).json()) as { runs: { id: string }[] };
      expect(list.runs.map((r) => r.id)).toContain(id);
    } finally {
      await second.stop();
    }
  });
});
