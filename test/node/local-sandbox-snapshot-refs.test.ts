// How a template reference names a snapshot (local-sandbox/snapshots.ts): by ID or name, with or
// without the `local/` namespace and the `:default` tag; another tag names nothing; names are checked.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SnapshotStore, parseSnapshotName } from "../../local-sandbox/snapshots.ts";

const dir = mkdtempSync(join(tmpdir(), "snapshot-refs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("snapshot references", () => {
  it("resolve by ID or name, namespace and tag optional; a name taken again replaces the files; the table survives a restart", async () => {
    const src = join(dir, "src");
    mkdirSync(join(src, "home"), { recursive: true });
    writeFileSync(join(src, "home", "a.txt"), "1");
    const store = new SnapshotStore(dir, () => {});
    const source = { id: "isrc", dir: src, templateID: "base", envVars: { A: "1" } };
    const unnamed = await store.create(source, undefined);
    const named = await store.create(source, "web-app");
    const base = unnamed.snapshotID.replace(/:default$/, "");
    for (const ref of [unnamed.snapshotID, base, `local/${base}`]) expect(store.resolve(ref)).toBe(unnamed);
    for (const ref of ["web-app", "web-app:default", "local/web-app", "local/web-app:default"]) expect(store.resolve(ref)).toBe(named);
    for (const ref of ["web-app:v2", "other/web-app:v2", "base", ""]) expect(store.resolve(ref)).toBeUndefined();

    const again = await store.create(source, "web-app");
    expect(again.snapshotID).toBe("local/web-app:default");
    expect(store.list({ name: "web-app" })).toEqual([again]);
    expect(new SnapshotStore(dir, () => {}).list({}).map((s) => s.snapshotID).sort()).toEqual([again.snapshotID, unnamed.snapshotID].sort());
    expect(store.delete("web-app")).toBe(true);
    expect(store.delete("web-app")).toBe(false);
  });

  it("checks names (400 naming the field)", () => {
    expect(parseSnapshotName(undefined)).toBeUndefined();
    expect(parseSnapshotName("snap-test_1")).toBe("snap-test_1");
    for (const bad of ["Upper", "a/b", "-lead", "x".repeat(129), 5]) expect(() => parseSnapshotName(bad)).toThrow(/^name: /);
  });
});
