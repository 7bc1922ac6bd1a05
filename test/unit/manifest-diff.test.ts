import { describe, expect, it } from "vitest";
import { describeDiff, DIFF_LIST_LIMIT, diffManifests, intact, plainPath, type WorkspaceManifest } from "../../src/sandbox/manifest-diff";

const file = (sha256: string | null, extra: { stored?: boolean; changed?: boolean } = {}) => ({ sha256, bytes: 1, stored: false, ...extra });
const manifest = (files: WorkspaceManifest["files"], more: Partial<WorkspaceManifest> = {}): WorkspaceManifest => ({ head: "ref: refs/heads/w", commit: "c1", index: "i1", files, truncated: false, takenAt: "t", ...more });

describe("workspace manifests compared across a resume", () => {
  it("finds nothing wrong in the same workspace, and reports files that appeared without calling it damaged", () => {
    const before = manifest({ "a.txt": file("1"), "gone-before.txt": file(null) });
    const diff = diffManifests(before, manifest({ "a.txt": file("1"), "new.txt": file("9") }));
    expect(diff).toEqual({ missing: [], changed: [], added: ["new.txt"] });
    expect(intact(diff)).toBe(true);
  });

  it("names missing files (absent, or listed without content), changed ones and the git state that differs", () => {
    const before = manifest({ "a.txt": file("1"), "b.txt": file("2"), "c.txt": file("3") });
    const after = manifest({ "b.txt": file(null), "c.txt": file("4") }, { head: "ref: refs/heads/main", commit: "c0", index: "i2" });
    const diff = diffManifests(before, after);
    expect(diff).toEqual({ head: { before: "ref: refs/heads/w", after: "ref: refs/heads/main" }, commit: { before: "c1", after: "c0" }, index: true, missing: ["a.txt", "b.txt"], changed: ["c.txt"], added: [] });
    expect(intact(diff)).toBe(false);
  });

  it("does not call a file missing when the manifest after the resume stopped at its bound before it", () => {
    const before = manifest({ "a.txt": file("1"), "z.txt": file("2") });
    expect(intact(diffManifests(before, manifest({ "a.txt": file("1") }, { truncated: true })))).toBe(true);
    // A truncated manifest before the pause: files after its bound are not "added".
    expect(diffManifests(manifest({ "a.txt": file("1") }, { truncated: true }), manifest({ "a.txt": file("1"), "z.txt": file("2") })).added).toEqual([]);
  });

  it("describes a diff for an event with counts and at most DIFF_LIST_LIMIT paths", () => {
    const missing = Array.from({ length: DIFF_LIST_LIMIT + 5 }, (_, i) => `f${i}`);
    const described = describeDiff({ index: true, missing, changed: [], added: [] });
    expect(described).toMatchObject({ index: "changed", missing: { count: DIFF_LIST_LIMIT + 5 }, changed: { count: 0, paths: [] } });
    expect((described.missing as { paths: string[] }).paths).toHaveLength(DIFF_LIST_LIMIT);
  });

  it("keeps only plain clone-relative paths (a sandbox's list is not trusted)", () => {
    for (const ok of ["a.txt", "src/x/y.ts", ".github/workflows/ci.yml"]) expect(plainPath(ok)).toBe(true);
    for (const bad of ["", "/etc/passwd", "../x", "a/../../b", "a//b", ".git/config", "x/.git/hooks/pre-commit", "a\nb", "./a"]) expect(plainPath(bad)).toBe(false);
  });
});
