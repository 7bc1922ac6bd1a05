// Raw wire checks (no SDK): Connect envelopes and proto3 JSON details, keepalives, signals, and
// the CLI entry point (listening line, SIGTERM kills sandbox processes).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox } from "e2b";
import { encodeEnvelope, decodeEnvelopes, FLAG_END_STREAM } from "../../local-sandbox/connect-protocol.ts";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

let t: TestSandboxServer;
let sandboxId: string;
let token: string;

beforeAll(async () => {
  t = await startTestSandboxServer();
  const res = await t.api("/v2/sandboxes", { method: "POST", body: JSON.stringify({ templateID: "base", envVars: { FROM_SANDBOX: "yes" } }) });
  const body = (await res.json()) as { sandboxID: string; envdAccessToken: string; envdVersion: string; domain: null };
  expect(res.status).toBe(201);
  expect(body.envdVersion).toBe("0.6.13");
  expect(body.domain).toBeNull();
  sandboxId = body.sandboxID;
  token = body.envdAccessToken;
});

afterAll(async () => {
  await t?.stop();
});

function envdHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { "E2b-Sandbox-Id": sandboxId, "E2b-Sandbox-Port": "49983", "X-Access-Token": token, ...extra };
}

interface Frame {
  flags: number;
  msg: Record<string, unknown>;
}

async function startRaw(request: unknown, headers: Record<string, string> = {}): Promise<Frame[]> {
  const res = await fetch(`${t.server.url}/process.Process/Start`, {
    method: "POST",
    headers: envdHeaders({ "Content-Type": "application/connect+json", "Connect-Protocol-Version": "1", ...headers }),
    body: new Uint8Array(encodeEnvelope(0, request)),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/connect+json");
  const frames = decodeEnvelopes(Buffer.from(await res.arrayBuffer()));
  return frames.map((f) => ({ flags: f.flags, msg: JSON.parse(f.data.toString("utf8")) as Record<string, unknown> }));
}

describe("Connect wire format", () => {
  it("streams start, data, end (zero exitCode omitted) and an empty end-of-stream frame", async () => {
    const frames = await startRaw({ process: { cmd: "/bin/bash", args: ["-l", "-c", "printf out; printf err >&2; echo $FROM_SANDBOX-$X"], envs: { X: "1" } }, stdin: false });
    expect(frames[0]!.msg).toEqual({ event: { start: { pid: expect.any(Number) } } });
    const data = frames.filter((f) => f.msg.event && "data" in (f.msg.event as object));
    const stdout = data.map((f) => (f.msg.event as { data: { stdout?: string } }).data.stdout).filter(Boolean);
    expect(Buffer.concat(stdout.map((s) => Buffer.from(s as string, "base64"))).toString()).toBe("outyes-1\n");
    const end = frames[frames.length - 2]!.msg;
    expect(end).toEqual({ event: { end: { exited: true, status: "exit status 0" } } });
    expect(frames[frames.length - 1]).toEqual({ flags: FLAG_END_STREAM, msg: {} });
  });

  it("reports non-zero exits Go-style and sends keepalives", async () => {
    const frames = await startRaw(
      { process: { cmd: "/bin/bash", args: ["-c", "sleep 1.1; exit 7"] } },
      { "Keepalive-Ping-Interval": "0.4" }, // seconds (fractions accepted here; envd uses whole seconds)
    );
    const keepalives = frames.filter((f) => JSON.stringify(f.msg) === '{"event":{"keepalive":{}}}');
    expect(keepalives.length).toBeGreaterThanOrEqual(2);
    expect(frames[frames.length - 2]!.msg).toEqual({
      event: { end: { exitCode: 7, exited: true, status: "exit status 7", error: "exit status 7" } },
    });
  });

  it("ends with deadline_exceeded when Connect-Timeout-Ms passes", async () => {
    const frames = await startRaw({ process: { cmd: "/bin/sleep", args: ["10"] } }, { "Connect-Timeout-Ms": "400" });
    expect(frames[frames.length - 1]).toEqual({
      flags: FLAG_END_STREAM,
      msg: { error: { code: "deadline_exceeded", message: "context deadline exceeded" } },
    });
  });

  it("SIGTERM via SendSignal ends the process with 'signal: terminated'; tags work for Connect", async () => {
    const started = startRaw({ process: { cmd: "/bin/sleep", args: ["30"] }, tag: "sleeper" });
    await new Promise((r) => setTimeout(r, 300));
    const list = await fetch(`${t.server.url}/process.Process/List`, {
      method: "POST",
      headers: envdHeaders({ "Content-Type": "application/json" }),
      body: "{}",
    });
    const listed = (await list.json()) as { processes: Array<{ pid: number; tag?: string; config: { cmd: string; args: string[] } }> };
    const proc = listed.processes.find((p) => p.tag === "sleeper");
    expect(proc?.config).toEqual({ cmd: "/bin/sleep", args: ["30"] });
    const sig = await fetch(`${t.server.url}/process.Process/SendSignal`, {
      method: "POST",
      headers: envdHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ process: { tag: "sleeper" }, signal: "SIGNAL_SIGTERM" }),
    });
    expect(sig.status).toBe(200);
    const frames = await started;
    expect(frames[frames.length - 2]!.msg).toEqual({
      event: { end: { exitCode: -1, status: "signal: terminated", error: "signal: terminated" } },
    });
    // Connect to the finished process by tag still reports its end
    const res = await fetch(`${t.server.url}/process.Process/Connect`, {
      method: "POST",
      headers: envdHeaders({ "Content-Type": "application/connect+json" }),
      body: new Uint8Array(encodeEnvelope(0, { process: { tag: "sleeper" } })),
    });
    const again = decodeEnvelopes(Buffer.from(await res.arrayBuffer())).map((f) => JSON.parse(f.data.toString()) as unknown);
    expect(again[0]).toEqual({ event: { start: { pid: proc!.pid } } });
    expect(again[1]).toMatchObject({ event: { end: { status: "signal: terminated" } } });
    // unknown pid: unary not_found
    const missing = await fetch(`${t.server.url}/process.Process/SendSignal`, {
      method: "POST",
      headers: envdHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ process: { pid: 999999 }, signal: "SIGNAL_SIGKILL" }),
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ code: "not_found", message: "process with pid 999999 not found" });
  });

  it("returns EntryInfo in proto3 JSON and Connect errors for the filesystem", async () => {
    const post = (method: string, body: unknown) =>
      fetch(`${t.server.url}/filesystem.Filesystem/${method}`, {
        method: "POST",
        headers: envdHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify(body),
      });
    const up = await fetch(`${t.server.url}/files?path=${encodeURIComponent("x/y.txt")}`, {
      method: "POST",
      headers: envdHeaders({ "Content-Type": "application/octet-stream" }),
      body: "abc",
    });
    expect(await up.json()).toEqual([{ path: "/home/user/x/y.txt", name: "y.txt", type: "file" }]);
    const stat = (await (await post("Stat", { path: "/home/user/x/y.txt" })).json()) as { entry: Record<string, unknown> };
    expect(stat.entry).toMatchObject({
      name: "y.txt",
      type: "FILE_TYPE_FILE",
      path: "/home/user/x/y.txt",
      size: "3",
      permissions: "-rw-r--r--",
      mode: 0o644,
    });
    expect(typeof stat.entry.modifiedTime).toBe("string");
    const exists = await post("MakeDir", { path: "/home/user/x" });
    expect(exists.status).toBe(409);
    expect(((await exists.json()) as { code: string }).code).toBe("already_exists");
    const missing = await post("Stat", { path: "/home/user/nope" });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe("not_found");
    const outside = await post("ListDir", { path: "/etc", depth: 1 });
    expect(outside.status).toBe(403);
    const dirRead = await fetch(`${t.server.url}/files?path=/home/user/x`, { headers: envdHeaders() });
    expect(dirRead.status).toBe(400);
    expect(((await dirRead.json()) as { code: number }).code).toBe(400);
  });
});

describe("timeouts with autoPause", () => {
  it("pauses instead of killing when lifecycle.onTimeout is pause; files survive", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk, timeoutMs: 1000, lifecycle: { onTimeout: "pause" } });
    await sbx.files.write("/home/user/a.txt", "A");
    for (let i = 0; i < 50 && (await sbx.getInfo()).state === "running"; i++) await new Promise((r) => setTimeout(r, 100));
    const info = await sbx.getInfo();
    expect(info.state).toBe("paused");
    expect(info.lifecycle?.onTimeout).toBe("pause");
    const back = await Sandbox.connect(sbx.sandboxId, t.sdk);
    expect(await back.files.read("a.txt")).toBe("A");
    expect(t.server.getStats().expired).toBeGreaterThanOrEqual(1);
    await back.kill();
  });
});

describe("CLI entry point", () => {
  it("prints its address, serves the SDK and kills sandbox processes on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "local-sandbox-cli-"));
    const child = spawn(process.execPath, [join(process.cwd(), "local-sandbox", "main.ts")], {
      env: { PATH: process.env.PATH ?? "", SANDBOX_PORT: "0", SANDBOX_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const [line, keyLine] = await new Promise<string[]>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.split("\n").length > 2) resolve(out.split("\n"));
        });
        child.on("exit", (code) => reject(new Error(`exited ${code}`)));
      });
      expect(line).toMatch(/^local-sandbox listening on http:\/\/127\.0\.0\.1:\d+ \(isolation: (bwrap|unshare)\)$/);
      // No E2B_API_KEY given: a random key for this start, printed once.
      expect(keyLine).toMatch(/^E2B_API_KEY=e2b_[0-9a-f]{40}$/);
      const url = line!.split(" ")[3] as string;
      const opts = { apiKey: keyLine!.slice("E2B_API_KEY=".length), apiUrl: url, sandboxUrl: url };
      const sbx = await Sandbox.create("base", opts);
      const marker = `${700 + Math.floor(Math.random() * 99)}.5`;
      await sbx.commands.run(`sleep ${marker}`, { background: true });
      await new Promise((r) => setTimeout(r, 200));
      expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).toContain(`sleep ${marker}`);
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(`sleep ${marker}`);
    } finally {
      child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
