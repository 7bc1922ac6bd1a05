// File metadata (`X-Metadata-*` on upload) on the local sandbox server, through the official `e2b`
// SDK (the E2B suite's tests/sandbox/files/metadata; local-sandbox/file-metadata.ts).
import { afterAll, beforeAll, expect, it } from "vitest";
import { Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

let srv: TestSandboxServer;
let sbx: Sandbox;

beforeAll(async () => {
  srv = await startTestSandboxServer();
  sbx = await Sandbox.create("base", { ...srv.sdk, timeoutMs: 60_000 });
});
afterAll(async () => {
  await sbx?.kill().catch(() => {});
  await srv.stop();
});

it("keeps an upload's metadata for the file: in getInfo, list, after a rename and a command's write; a new upload replaces it", async () => {
  const metadata = { author: "mish", purpose: "upload" };
  const written = await sbx.files.write("/home/user/m/a.txt", "one", { metadata });
  expect(written.metadata).toEqual(metadata);
  expect((await sbx.files.getInfo("/home/user/m/a.txt")).metadata).toEqual(metadata);
  await sbx.files.write("/home/user/m/plain.txt", "no metadata");
  const listed = await sbx.files.list("/home/user/m");
  expect(listed.map((e) => [e.name, e.metadata])).toEqual([["a.txt", metadata], ["plain.txt", undefined]]);

  expect((await sbx.files.rename("/home/user/m/a.txt", "/home/user/m/b.txt")).metadata).toEqual(metadata);
  await sbx.commands.run("mv /home/user/m/b.txt /home/user/m/c.txt && echo more >> /home/user/m/c.txt");
  expect((await sbx.files.getInfo("/home/user/m/c.txt")).metadata).toEqual(metadata);
  // A copy is another file.
  await sbx.commands.run("cp /home/user/m/c.txt /home/user/m/copy.txt");
  expect((await sbx.files.getInfo("/home/user/m/copy.txt")).metadata).toBeUndefined();

  const octet = await sbx.files.write("/home/user/m/c.txt", "replaced", { metadata: { stage: "two" }, useOctetStream: true });
  expect(octet.metadata).toEqual({ stage: "two" });
  await sbx.files.write("/home/user/m/c.txt", "cleared");
  expect((await sbx.files.getInfo("/home/user/m/c.txt")).metadata).toBeUndefined();
});

it("gives a new file at a removed file's path no metadata, and refuses an empty key", async () => {
  await sbx.files.write("/home/user/gone.txt", "x", { metadata: { k: "v" } });
  await sbx.files.remove("/home/user/gone.txt");
  await sbx.commands.run("echo new > /home/user/gone.txt");
  expect((await sbx.files.getInfo("/home/user/gone.txt")).metadata).toBeUndefined();
  const res = await fetch(`${srv.sdk.sandboxUrl}/files?path=/home/user/bad.txt&username=user`, {
    method: "POST",
    headers: { "E2b-Sandbox-Id": sbx.sandboxId, "X-Access-Token": sbx["envdAccessToken"] as string, "Content-Type": "application/octet-stream", "X-Metadata-": "v" },
    body: "x",
  });
  expect([res.status, ((await res.json()) as { message: string }).message]).toEqual([400, expect.stringMatching(/invalid metadata key/)]);
});

it("shows `user.e2b.*` xattrs a command sets as metadata (getInfo, list, rename), the upload's over them; never through a link", async () => {
  await sbx.files.write("/home/user/x/f.txt", "content");
  await sbx.commands.run(`python3 -c "import os; os.setxattr('/home/user/x/f.txt', 'user.e2b.author', b'mish'); os.setxattr('/home/user/x/f.txt', 'user.other', b'no')"`);
  expect((await sbx.files.getInfo("/home/user/x/f.txt")).metadata).toEqual({ author: "mish" });
  expect((await sbx.files.list("/home/user/x")).map((e) => [e.name, e.metadata])).toEqual([["f.txt", { author: "mish" }]]);
  expect((await sbx.files.rename("/home/user/x/f.txt", "/home/user/x/g.txt")).metadata).toEqual({ author: "mish" });
  // An upload's metadata wins for its keys; the file's own xattrs stay.
  await sbx.files.write("/home/user/x/g.txt", "again", { metadata: { author: "upload", purpose: "p" } });
  expect((await sbx.files.getInfo("/home/user/x/g.txt")).metadata).toEqual({ author: "upload", purpose: "p" });
  // A link to the file is a link: its target's xattrs are not read through it.
  await sbx.commands.run("ln -s /home/user/x/g.txt /home/user/x/link");
  const link = (await sbx.files.list("/home/user/x")).find((e) => e.name === "link");
  expect(link?.metadata).toBeUndefined();
});
