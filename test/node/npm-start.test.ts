import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort } from "../../scripts/free-port.ts";
import { ExitedBeforeReadyError, LOCAL_API_TOKEN, ROOT, waitForHttp } from "../../scripts/local-stack.ts";
import { createTestRepo } from "../support/test-repo.ts";

let root: string;
let stateDir: string;
let repo: string;

interface Ports {
  port: number;
  sandboxPort: number;
}

/** Two different free ports: picked one after the other, the second could be the first again. */
async function twoFreePorts(): Promise<Ports> {
  const port = await freePort();
  for (;;) {
    const sandboxPort = await freePort();
    if (sandboxPort !== port) return { port, sandboxPort };
  }
}

/**
 * `npm start` exactly as a developer runs it (scripts/start.ts), on the given ports (a restart) or
 * on free ones, picked again if another process took one first; its own state dir.
 */
async function npmStart(fixed?: Ports): Promise<{ ports: Ports; child: ChildProcess; output: () => string; stop(): Promise<void> }> {
  for (let attempt = 1; ; attempt++) {
    const ports = fixed ?? (await twoFreePorts());
    let output = "";
    const child = spawn(join(ROOT, "node_modules", ".bin", "node"), [join(ROOT, "scripts", "start.ts")], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(ports.port), SANDBOX_PORT: String(ports.sandboxPort), STATE_DIR: stateDir, SANDBOX_EXPOSE_PATHS: root, FORKYARD_API_TOKENS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d) => (output += String(d)));
    child.stderr?.on("data", (d) => (output += String(d)));
    try {
      await waitForHttp(`http://127.0.0.1:${ports.port}/healthz`, 90_000, child, () => output.slice(-4096));
    } catch (err) {
      if (fixed || attempt >= 3 || !(err instanceof ExitedBeforeReadyError && err.portTaken)) throw err;
      continue;
    }
    return {
      ports,
      child,
      output: () => output,
      stop: () =>
        new Promise<void>((done) => {
          child.once("exit", () => done());
          child.kill("SIGTERM");
        }),
    };
  }
}

const auth = { Authorization: `Bearer ${LOCAL_API_TOKEN}` };

/** A process's command line, or "" when it has exited meanwhile. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** Every live descendant of a process (from /proc's parent links). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // comm may hold spaces and parentheses: the fields after its closing ")" are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
};

const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), done(true)));
    socket.once("error", () => done(false));
  });

beforeAll(() => {
  const base = resolve(ROOT, ".test-data");
  mkdirSync(base, { recursive: true });
  root = mkdtempSync(join(base, "npm-start-"));
  // Exposed to sandboxes, whose commands run as an unprivileged user: readable by others.
  chmodSync(root, 0o755);
  stateDir = join(root, "state");
  repo = createTestRepo(join(root, "repo"));
});

/** The restarted stack of the first test, handed to the second (a boot less); stopped here if not used. */
let restarted: Awaited<ReturnType<typeof npmStart>> | undefined;

afterAll(async () => {
  await restarted?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("npm start", () => {
  it("serves /healthz with the sandbox backend it reaches, and continues where it stopped after a restart", { timeout: 240_000 }, async () => {
    const first = await npmStart();
    const ports = first.ports;
    const health = (await (await fetch(`http://127.0.0.1:${ports.port}/healthz`)).json()) as { sandbox: { backend: string; reachable: boolean; endpoint: string } };
    expect(health.sandbox).toMatchObject({ backend: "local", reachable: true, endpoint: `http://127.0.0.1:${ports.sandboxPort}` });
    // The banner follows start.ts's own readiness check, which may finish after ours.
    for (let i = 0; i < 50 && !first.output().includes("Forkyard is running"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(first.output()).toContain(`Forkyard is running at http://127.0.0.1:${ports.port}`);
    // /metrics needs the token npm start generated and printed (kept in the state dir: the same after a restart).
    const metricsToken = /Metrics token: (fym_[0-9a-f]{48})/.exec(first.output())?.[1];
    expect(metricsToken).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${ports.port}/metrics`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${ports.port}/metrics`, { headers: { Authorization: `Bearer ${metricsToken}` } })).status).toBe(200);

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
    let handedOn = false;
    try {
      const view = (await (await fetch(`http://127.0.0.1:${ports.port}/v1/runs/${id}`, { headers: auth })).json()) as { status: string; forks: { commands: { stdoutTail: string }[] }[] };
      expect(view.status).toBe("completed");
      expect(view.forks[0]?.commands[0]?.stdoutTail).toBe("persisted\n");
      const list = (await (await fetch(`http://127.0.0.1:${ports.port}/v1/runs`, { headers: auth })).json()) as { runs: { id: string }[] };
      expect(list.runs.map((r) => r.id)).toContain(id);
      await vi.waitFor(() => expect(second.output()).toContain(`Metrics token: ${metricsToken}`), { timeout: 5_000 });
      restarted = second;
      handedOn = true;
    } finally {
      if (!handedOn) await second.stop();
    }
  });

  it("leaves nothing behind when killed with SIGKILL: wrangler, workerd, the sandbox server and sandboxes are gone within 5 s", { timeout: 180_000 }, async () => {
    // The first test's restarted stack when it passed (one boot less), a new one otherwise.
    const stack = restarted ?? (await npmStart());
    restarted = undefined;
    const ports = stack.ports;
    const created = await fetch(`http://127.0.0.1:${ports.port}/v1/runs`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ repo, task: { commands: ["sleep 120"] } }),
    });
    const { id } = (await created.json()) as { id: string };
    // Wait until the fork's command runs in its sandbox.
    for (let i = 0; i < 300; i++) {
      const view = (await (await fetch(`http://127.0.0.1:${ports.port}/v1/runs/${id}`, { headers: auth })).json()) as { forks: { steps: { name: string }[] }[] };
      if (view.forks[0]?.steps.some((s) => s.name.startsWith("command-"))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Short-lived helpers (git, the isolation holder) come and go: poll until the command runs.
    let tree: number[] = [];
    let names = "";
    for (let i = 0; i < 100 && !/sleep 120/.test(names); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      tree = descendants(stack.child.pid!);
      names = tree.map(commandLine).join("\n");
    }
    expect(names).toMatch(/wrangler/);
    expect(names).toMatch(/workerd/);
    expect(names).toMatch(/local-sandbox/);
    expect(names).toMatch(/sleep 120/);

    const killedAt = Date.now();
    stack.child.kill("SIGKILL");
    for (;;) {
      const left = tree.filter(alive);
      const ports_ = await Promise.all([listening(ports.port), listening(ports.sandboxPort)]);
      if (left.length === 0 && !ports_.some(Boolean)) break;
      if (Date.now() - killedAt > 5000) throw new Error(`5 s after SIGKILL: processes left ${left.join(",")}, ports listening ${ports_}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
