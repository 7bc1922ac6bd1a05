// What E2B users observe that the local server used to show differently (issue 23, "Fidelity";
// each case is one of the E2B JS SDK suite's, scripts/e2b-sdk-tests.ts): a boot id that changes
// when a paused sandbox boots again, files owned by `user`, symlink targets as sandbox paths.
import { describe, expect, it, vi } from "vitest";
import { FileNotFoundError, Sandbox, Template } from "e2b";
import { useSandboxServer } from "../support/sandbox-server-suite.ts";

const suite = useSandboxServer();
const sandbox = () => suite.create();

const bootId = async (sbx: Sandbox) => (await sbx.commands.run("cat /proc/sys/kernel/random/boot_id")).stdout.trim();

describe.skipIf(process.getuid?.() !== 0)("an isolated sandbox", () => {
  it("keeps its boot id while running, gets a new one when it boots again after a files-only pause, and cannot change it", async () => {
    const sbx = await sandbox();
    const before = await bootId(sbx);
    expect(before).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await bootId(sbx)).toBe(before);
    const other = await sandbox();
    expect(await bootId(other)).not.toBe(before);
    const write = await sbx.commands.run("echo 00000000-0000-0000-0000-000000000000 > /proc/sys/kernel/random/boot_id", { onStderr: () => {} }).catch((e: { exitCode: number }) => e);
    expect(write.exitCode).not.toBe(0);

    await sbx.pause({ keepMemory: false });
    const resumed = await sbx.connect();
    const after = await bootId(resumed);
    expect(after).toMatch(/^[0-9a-f-]{36}$/);
    expect(after).not.toBe(before);
  });

  it("names `user` as the owner of what commands and the file API create, in stat and list", async () => {
    const sbx = await sandbox();
    await sbx.commands.run("mkdir -p /home/user/d && echo a > /home/user/d/by-command.txt");
    await sbx.files.write("/home/user/d/by-api.txt", "b");
    for (const path of ["/home/user/d", "/home/user/d/by-command.txt", "/home/user/d/by-api.txt"]) {
      const info = await sbx.files.getInfo(path);
      expect([path, info.owner, info.group]).toEqual([path, "user", "user"]);
    }
    const listed = await sbx.files.list("/home/user/d");
    expect(listed.map((e) => `${e.name}:${e.owner}:${e.group}`).sort()).toEqual(["by-api.txt:user:user", "by-command.txt:user:user"]);
  });
});

describe("symlinks", () => {
  it("report their target as an absolute sandbox path, a relative target resolved against the link's folder", async () => {
    const sbx = await sandbox();
    await sbx.commands.run("mkdir -p /home/user/s/sub && echo x > /home/user/s/t.txt && cd /home/user/s && ln -s t.txt rel && ln -s ../t.txt sub/up && ln -s /tmp abs");
    expect((await sbx.files.getInfo("/home/user/s/rel")).symlinkTarget).toBe("/home/user/s/t.txt");
    expect((await sbx.files.getInfo("/home/user/s/sub/up")).symlinkTarget).toBe("/home/user/s/t.txt");
    expect((await sbx.files.getInfo("/home/user/s/abs")).symlinkTarget).toBe("/tmp");
    const listed = await sbx.files.list("/home/user/s");
    expect(listed.find((e) => e.name === "rel")?.symlinkTarget).toBe("/home/user/s/t.txt");
  });
});

describe("templates and watching", () => {
  it("knows the `base` template by name, and no other", async () => {
    expect(await Template.exists("base", suite.server().sdk)).toBe(true);
    expect(await Template.exists(`nonexistent-${Date.now()}`, suite.server().sdk)).toBe(false);
  });

  it("answers a watch of a missing folder with not found, of a file with an error (watching: local-sandbox-pty-watch.test.ts)", async () => {
    const sbx = await sandbox();
    await expect(sbx.files.watchDir("/home/user/missing", () => {})).rejects.toBeInstanceOf(FileNotFoundError);
    await sbx.files.write("/home/user/file.txt", "x");
    await expect(sbx.files.watchDir("/home/user/file.txt", () => {})).rejects.toThrow(/is not a directory/);
  });
});

describe("signed file URLs", () => {
  it("download and upload with a valid signature, refuse an expired or forged one", async () => {
    const sbx = await suite.create({ secure: true });
    await sbx.files.write("hello.txt", "hello world");
    const get = await fetch(await sbx.downloadUrl("hello.txt", { useSignatureExpiration: 60 }));
    expect([get.status, await get.text()]).toEqual([200, "hello world"]);

    const form = new FormData();
    form.append("file", new Blob(["uploaded"]), "up.txt");
    const post = await fetch(await sbx.uploadUrl("up.txt", { useSignatureExpiration: 60 }), { method: "POST", body: form });
    expect(post.status).toBe(200);
    expect(await sbx.files.read("up.txt")).toBe("uploaded");

    const expired = await fetch(await sbx.downloadUrl("hello.txt", { useSignatureExpiration: -10 }));
    expect([expired.status, await expired.json()]).toEqual([401, { code: 401, message: "signature is already expired" }]);
    const forged = new URL(await sbx.downloadUrl("hello.txt", { useSignatureExpiration: 60 }));
    forged.searchParams.set("path", "/home/user/other.txt");
    expect((await fetch(forged)).status).toBe(401);
    // Unsigned, without the sandbox header: the control plane's API key is wanted.
    expect((await fetch(`${suite.server().server.url}/files?path=hello.txt`)).status).toBe(401);
  });
});

describe("file reads", () => {
  it("answer every read of a file a command keeps rewriting with one whole version of it (the length it has, never a hang)", async () => {
    const sbx = await sandbox();
    // Each pass truncates the file then writes 1 to 10 digits: a read lands between the two often.
    await sbx.commands.run("i=1; while :; do echo $i > /home/user/n; i=$(( (i * 7) % 999999937 )); done", { background: true, timeoutMs: 0 });
    await vi.waitFor(async () => expect(await sbx.files.exists("/home/user/n")).toBe(true), { timeout: 30_000, interval: 100 });
    for (let i = 0; i < 150; i++) {
      const text = await sbx.files.read("/home/user/n", { requestTimeoutMs: 5_000 });
      expect(text).toMatch(/^(\d+\n)?$/);
    }
  });
});
