// The snapshot API (E2B's `createSnapshot`, `listSnapshots`, `deleteSnapshot`, `Sandbox.create(snapshotId)`;
// issue 23 item 2), driven with the official SDK: a snapshot is a copy of the files that outlives its
// sandbox, and every sandbox made from it gets a copy of its own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, Template } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

let srv: TestSandboxServer;
beforeAll(async () => {
  srv = await startTestSandboxServer();
});
afterAll(async () => {
  await srv.stop();
});

const create = (template: string) => Sandbox.create(template, { ...srv.sdk, timeoutMs: 60_000 });

describe("snapshots", () => {
  it("start new sandboxes with the files, each a copy: later writes change neither the original nor the other copy", async () => {
    const original = await create("base");
    await original.files.write("/home/user/app/config.json", '{"env":"test"}');
    await original.commands.run("echo scratch > /tmp/t.txt");
    const snap = await original.createSnapshot();
    expect(snap.snapshotId).toMatch(/^[a-z0-9]{20}:default$/);

    await original.files.write("/home/user/app/config.json", "changed after the snapshot");
    const a = await create(snap.snapshotId);
    const b = await create(snap.snapshotId);
    expect(await a.files.read("/home/user/app/config.json")).toBe('{"env":"test"}');
    expect(await a.files.read("/tmp/t.txt")).toBe("scratch\n");
    await a.files.write("/home/user/app/config.json", "written in a");
    expect(await b.files.read("/home/user/app/config.json")).toBe('{"env":"test"}');
    expect(await original.files.read("/home/user/app/config.json")).toBe("changed after the snapshot");
    // owned by the sandbox user, as what commands write
    expect((await a.files.getInfo("/home/user/app/config.json")).owner).toBe("user");

    // it outlives its sandbox
    await original.kill();
    const c = await create(snap.snapshotId);
    expect(await c.files.read("/home/user/app/config.json")).toBe('{"env":"test"}');
    for (const s of [a, b, c]) await s.kill();
    expect(await Sandbox.deleteSnapshot(snap.snapshotId, srv.sdk)).toBe(true);
  });

  it("are listed (all, by sandbox, by name, paginated), named, found by Template.exists, and deleted once", async () => {
    const sbx = await create("base");
    const other = await create("base");
    const named = await sbx.createSnapshot({ name: "my-snap" });
    expect(named).toEqual({ snapshotId: "local/my-snap:default", names: ["local/my-snap:default"] });
    const unnamed = await sbx.createSnapshot();
    const fromOther = await other.createSnapshot();

    const ids = async (p: ReturnType<typeof Sandbox.listSnapshots>) => (await p.nextItems()).map((s) => s.snapshotId);
    expect((await ids(Sandbox.listSnapshots(srv.sdk))).sort()).toEqual([named.snapshotId, unnamed.snapshotId, fromOther.snapshotId].sort());
    expect((await ids(sbx.listSnapshots())).sort()).toEqual([named.snapshotId, unnamed.snapshotId].sort());
    for (const name of ["my-snap", "local/my-snap", "my-snap:default"]) expect(await ids(Sandbox.listSnapshots({ ...srv.sdk, name }))).toEqual([named.snapshotId]);
    expect(await ids(Sandbox.listSnapshots({ ...srv.sdk, name: "my-snap:v2" }))).toEqual([]);
    const pages = Sandbox.listSnapshots({ ...srv.sdk, limit: 2 });
    const first = await ids(pages);
    expect(first.length).toBe(2);
    expect(pages.hasNext).toBe(true);
    expect([...first, ...(await ids(pages))].length).toBe(3);
    expect(pages.hasNext).toBe(false);
    expect(await Template.exists("my-snap", srv.sdk)).toBe(true);

    const fromName = await create("my-snap");
    expect((await fromName.getInfo()).templateId).toBe("local/my-snap:default");
    for (const s of [named, unnamed, fromOther]) expect(await Sandbox.deleteSnapshot(s.snapshotId, srv.sdk)).toBe(true);
    expect(await Sandbox.deleteSnapshot(named.snapshotId, srv.sdk)).toBe(false);
    expect(await ids(Sandbox.listSnapshots(srv.sdk))).toEqual([]);
    for (const s of [sbx, other, fromName]) await s.kill();
  });

  it("refuse a bad name (400, the field named) and an unknown sandbox (404)", async () => {
    const sbx = await create("base");
    const bad = await srv.api(`/sandboxes/${sbx.sandboxId}/snapshots`, { method: "POST", body: JSON.stringify({ name: "Bad Name/1" }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^name: /);
    const missing = await srv.api("/sandboxes/inope/snapshots", { method: "POST", body: "{}" });
    expect(missing.status).toBe(404);
    await sbx.kill();
  });
});
