// PTY sessions and directory watching on the local sandbox server, through the official `e2b`
// SDK (issue 23 item 2; the E2B suite's tests/sandbox/pty/* and files/watch, scripts/e2b-sdk-tests.ts),
// and what a sandbox must not get from either: a terminal outside its isolation, a watcher
// following a link out of the sandbox or stalled by a FIFO.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FilesystemEventType, Sandbox, type FilesystemEvent } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

let srv: TestSandboxServer;
const created: Sandbox[] = [];

beforeAll(async () => {
  srv = await startTestSandboxServer();
});
afterAll(async () => {
  for (const sbx of created) await sbx.kill().catch(() => {});
  await srv.stop();
});

async function sandbox(): Promise<Sandbox> {
  const sbx = await Sandbox.create("base", { ...srv.sdk, timeoutMs: 60_000 });
  created.push(sbx);
  return sbx;
}

/** Collected output, and a wait until it matches (no clock: resolves on the data that matches). */
function collector() {
  let text = "";
  let waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const check = () => {
    waiters = waiters.filter((w) => {
      const m = text.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  };
  return {
    onData: (data: Uint8Array) => {
      text += new TextDecoder().decode(data);
      check();
    },
    get text() {
      return text;
    },
    until: (re: RegExp) =>
      new Promise<RegExpMatchArray>((resolve) => {
        waiters.push({ re, resolve });
        check();
      }),
  };
}

const input = (s: string) => new TextEncoder().encode(s);

describe("PTY", () => {
  it("echoes what is typed, runs it as the sandbox user on a terminal of the asked size, and reports a resize", async () => {
    const sbx = await sandbox();
    const out = collector();
    const term = await sbx.pty.create({ cols: 80, rows: 24, onData: out.onData, envs: { GREETING: "hi-from-env" } });
    await sbx.pty.sendInput(term.pid, input("echo typed-$GREETING; stty size; id -u; test -t 0 && echo tty-$((6 * 7))\n"));
    await out.until(/tty-42\r?\n/); // the output, not the echo of the input
    expect(out.text).toContain("echo typed-$GREETING"); // the terminal echoes the input
    expect(out.text).toContain("typed-hi-from-env");
    expect(out.text).toMatch(/\b24 80\r?\n/);
    expect(out.text).toMatch(/\b200000\r?\n/); // `user`, as any command: no way out of the isolation

    await sbx.pty.resize(term.pid, { cols: 100, rows: 30 });
    await sbx.pty.sendInput(term.pid, input("stty size; echo resized-$((6 * 7))\n"));
    await out.until(/resized-42\r?\n/);
    expect(out.text).toMatch(/\b30 100\r?\n/);

    await sbx.pty.sendInput(term.pid, input("exit 3\n"));
    const end = await term.wait().catch((e: { exitCode: number }) => e);
    expect(end.exitCode).toBe(3);
  });

  it("is killed by pty.kill, and a resize or kill of an unknown process is refused", async () => {
    const sbx = await sandbox();
    const term = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {} });
    expect(await sbx.pty.kill(term.pid)).toBe(true);
    const end = await term.wait().catch((e: { exitCode: number; error?: string }) => e);
    expect(end.exitCode).toBe(-1);
    expect(await sbx.pty.kill(999_999)).toBe(false);
    await expect(sbx.pty.resize(999_999, { cols: 10, rows: 10 })).rejects.toThrow(/not found/);
  });
});
