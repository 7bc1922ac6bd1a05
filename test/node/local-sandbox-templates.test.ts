// The template build API (E2B's `Template.build()`; issue 23 item 2), driven with the official SDK:
// a template from `base` plus commands, files copied from the build context, env vars and a working
// directory, built in a sandbox of the server; sandboxes made from its name start with its files.
// What needs a Docker image fails the build with a message saying so.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, Template, type LogEntry } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

let srv: TestSandboxServer;
let context: string;
beforeAll(async () => {
  srv = await startTestSandboxServer();
  context = mkdtempSync(join(tmpdir(), "tpl-context-"));
  writeFileSync(join(context, "hello.txt"), "from the build context\n");
  mkdirSync(join(context, "folder"));
  writeFileSync(join(context, "folder", "a.txt"), "a\n");
  symlinkSync("a.txt", join(context, "folder", "link.txt"));
});
afterAll(async () => {
  await srv.stop();
  rmSync(context, { recursive: true, force: true });
});

const running = async () => (await (await srv.api("/admin/sandboxes")).json()) as unknown[];

describe("template builds", () => {
  it("build a template from base with commands, copied files, env vars and a workdir; sandboxes start from it", async () => {
    const logs: string[] = [];
    const template = Template({ fileContextPath: context })
      .fromTemplate("base")
      .copy("hello.txt", "/home/user/app/")
      .copy("folder/*", "folder")
      .setEnvs({ GREETING: "hi" })
      .setWorkdir("/home/user/app")
      .runCmd('echo "$GREETING from the build" > made.txt && echo building now')
      .runCmd("id -u > root-uid.txt", { user: "root" })
      .setStartCmd("touch /tmp/started && exec sleep 600", "test -e /tmp/started");
    const info = await Template.build(template, "my-tpl", { ...srv.sdk, onBuildLogs: (e: LogEntry) => logs.push(e.message) });
    expect(info.name).toBe("my-tpl");
    expect(logs).toContain("building now");
    expect(await Template.exists("my-tpl", srv.sdk)).toBe(true);
    // the build's own sandbox is gone
    expect(await running()).toEqual([]);

    const sbx = await Sandbox.create("my-tpl", { ...srv.sdk, timeoutMs: 60_000 });
    expect(await sbx.files.read("/home/user/app/made.txt")).toBe("hi from the build\n");
    expect(await sbx.files.read("/home/user/app/hello.txt")).toBe("from the build context\n");
    expect(await sbx.files.read("/home/user/app/root-uid.txt")).toBe("0\n");
    expect(await sbx.files.read("/home/user/folder/link.txt")).toBe("a\n");
    expect((await sbx.files.getInfo("/home/user/folder/link.txt")).symlinkTarget).toBe("/home/user/folder/a.txt");
    const run = await sbx.commands.run('echo "$GREETING"; pwd');
    expect(run.stdout).toBe("hi\n/home/user/app\n");
    // the start command runs again in each sandbox made from the template (files only are kept)
    expect((await sbx.commands.list()).some((p) => p.args.join(" ").includes("exec sleep 600"))).toBe(true);
    await sbx.kill();

    // a template built on that one keeps its files, env vars, workdir and start command
    await Template.build(Template().fromTemplate("my-tpl").runCmd('cat made.txt > again.txt && echo "$GREETING" >> again.txt'), "my-tpl-2", srv.sdk);
    const second = await Sandbox.create("my-tpl-2", { ...srv.sdk, timeoutMs: 60_000 });
    expect(await second.files.read("/home/user/app/again.txt")).toBe("hi from the build\nhi\n");
    expect((await second.commands.list()).some((p) => p.args.join(" ").includes("exec sleep 600"))).toBe(true);
    await second.kill();
  });

  it("fail a build that needs a Docker image with a message saying so, and a failing command with its step", async () => {
    await expect(Template.build(Template().fromImage("python:3.12").runCmd("true"), "py-tpl", srv.sdk)).rejects.toThrow(
      /fromImage\("python:3\.12"\): Docker images .* are not supported by the local sandbox server/,
    );
    await expect(Template.build(Template().fromTemplate("no-such-template"), "x-tpl", srv.sdk)).rejects.toThrow(/no template or snapshot of that name/);
    await expect(Template.build(Template().fromBaseImage().runCmd("echo nope >&2; exit 3"), "fail-tpl", srv.sdk)).rejects.toThrow(/step 1 failed: exit status 3/);
    await expect(Template.build(Template().fromBaseImage().setWorkdir("/app"), "app-tpl", srv.sdk)).rejects.toThrow(/only under \/home\/user and \/tmp/);
    // a build is a sandbox: its root (sudo) is a user namespace's, host secrets stay unreadable
    await expect(Template.build(Template().fromBaseImage().runCmd("cat /etc/shadow", { user: "root" }), "shadow-tpl", srv.sdk)).rejects.toThrow(/Permission denied/);
    for (const name of ["py-tpl", "x-tpl", "fail-tpl", "app-tpl", "shadow-tpl"]) expect(await Template.exists(name, srv.sdk)).toBe(false);
    expect(await running()).toEqual([]);
  });

  it("refuse tags, a bad name (400, the field named), and an upload without its signature (403)", async () => {
    const tagged = await srv.api("/v3/templates", { method: "POST", body: JSON.stringify({ name: "t:v1" }) });
    expect(tagged.status).toBe(400);
    expect(((await tagged.json()) as { message: string }).message).toMatch(/^tags: /);
    const bad = await srv.api("/v3/templates", { method: "POST", body: JSON.stringify({ name: "Bad Name" }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^name: /);
    const { templateID } = (await (await srv.api("/v3/templates", { method: "POST", body: JSON.stringify({ name: "up" }) })).json()) as { templateID: string };
    const link = (await (await srv.api(`/templates/${templateID}/files/${"a".repeat(64)}`)).json()) as { present: boolean; url: string };
    expect(link.present).toBe(false);
    const unsigned = await fetch(link.url.replace(/signature=[0-9a-f]+/, "signature=00"), { method: "PUT", body: "x" });
    expect(unsigned.status).toBe(403);
    expect((await fetch(link.url, { method: "PUT", body: "x" })).status).toBe(200);
    expect(((await (await srv.api(`/templates/${templateID}/files/${"a".repeat(64)}`)).json()) as { present: boolean }).present).toBe(true);
  });
});
