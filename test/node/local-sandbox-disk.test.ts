// A sandbox that fills its disk past SANDBOX_DISK_MB is stopped alone, with a clear error: its
// running command ends `signal: killed: out of disk: ...`; another sandbox goes on writing, and the
// stopped one keeps its files (the client can read or delete them) and runs commands again once
// under its limit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandExitError, Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

let t: TestSandboxServer;

beforeAll(async () => {
  t = await startTestSandboxServer({ limits: { diskMB: 32 }, diskCheckIntervalMs: 100 });
});

afterAll(async () => {
  await t?.stop();
});

describe("the disk limit", () => {
  it("stops a disk hog in its own sandbox with a clear error; the others go on", async () => {
    const hog = await Sandbox.create("base", t.sdk);
    const other = await Sandbox.create("base", t.sdk);
    try {
      // Writes past the limit, then stays (and a background job too): the check stops both.
      const err = await hog.commands
        .run("(fallocate -l 64M big || dd if=/dev/zero of=big bs=1M count=64 status=none) && (sleep 600 &) && exec sleep 600", { timeoutMs: 50_000 })
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(CommandExitError);
      expect((err as CommandExitError).error).toMatch(/^signal: killed: out of disk: the sandbox's \/home\/user and \/tmp use \d+ MiB, over its disk limit \(32 MiB\)$/);
      expect((await other.commands.run("dd if=/dev/zero of=small bs=1M count=8 status=none && echo written")).stdout).toBe("written\n");
      // The hog's files are still there; once freed, it runs commands again (its namespace is new).
      expect((await hog.files.getInfo("/home/user/big")).size).toBe(64 * 1024 * 1024);
      await hog.files.remove("/home/user/big");
      expect((await hog.commands.run("pgrep -fc 'sleep 60[0]' || true")).stdout).toBe("0\n");
    } finally {
      await Promise.all([hog.kill(), other.kill()]);
    }
  });
});
