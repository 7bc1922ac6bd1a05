import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyHunks, parsePatch, unquotePath } from "../../src/artifacts/patch-files";
import { diffLines, unifiedHunks } from "../../src/artifacts/line-diff";

/** `git diff --no-index` of two texts, as a fork's patch would show the change. */
function gitDiff(a: string | null, b: string | null, name = "f.txt"): string {
  const dir = mkdtempSync(join(tmpdir(), "patch-files-"));
  try {
    const pa = a === null ? "/dev/null" : join(dir, "a");
    const pb = b === null ? "/dev/null" : join(dir, "b");
    if (a !== null) writeFileSync(pa, a);
    if (b !== null) writeFileSync(pb, b);
    try {
      execFileSync("git", ["diff", "--no-index", "--no-color", pa, pb], { encoding: "utf8" });
      return "";
    } catch (err) {
      return ((err as { stdout: string }).stdout ?? "").replaceAll(dir + "/a", name).replaceAll(dir + "/b", name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PATCH = `diff --git a/src/app.ts b/src/app.ts
index 1111111..2222222 100644
--- a/src/app.ts
+++ b/src/app.ts
@@ -1,3 +1,3 @@ export
 one
-two
+TWO
 three
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+hello
+world
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 4444444..0000000
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/old name.md b/new name.md
similarity index 90%
rename from old name.md
rename to new name.md
diff --git a/logo.png b/logo.png
index 5555555..6666666 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"
index 7777777..8888888 100644
--- "a/caf\\303\\251.txt"
+++ "b/caf\\303\\251.txt"
@@ -1 +1 @@
-x
+y
`;

describe("a fork's patch read as files (the compare page's file tree)", () => {
  it("gives each file's path and change, without git's index/---/+++ lines", () => {
    const files = parsePatch(PATCH);
    expect(files.map((f) => [f.path, f.change, f.insertions, f.deletions])).toEqual([
      ["src/app.ts", "modified", 1, 1],
      ["new.txt", "added", 2, 0],
      ["gone.txt", "deleted", 0, 1],
      ["new name.md", "renamed", 0, 0],
      ["logo.png", "binary", 0, 0],
      ["run.sh", "modified", 0, 0],
      ["café.txt", "modified", 1, 1],
    ]);
    expect(files[3]!.oldPath).toBe("old name.md");
    expect(files[5]!.mode).toBe("100644 → 100755");
    expect(files[0]!.hunks[0]!.lines).toEqual([" one", "-two", "+TWO", " three"]);
    expect(files.flatMap((f) => f.hunks.flatMap((h) => h.lines)).some((l) => /^(index |--- |\+\+\+ )/.test(l))).toBe(false);
    expect(unquotePath('"a\\ttab\\"q"')).toBe('a\ttab"q');
  });

  it("turns a file's new version back into its base, and the base forward, with git's own hunks", () => {
    const base = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
    const cases: [string, string][] = [
      [base, base.replace("line 3\n", "line three\n").replace("line 25\n", "")],
      [base, "first\n" + base + "last"],
      ["a\nb", "a\nb\n"],
      ["", "only\n"],
      ["x\ny\n", ""],
    ];
    for (const [oldText, newText] of cases) {
      const [file] = parsePatch(gitDiff(oldText, newText));
      expect(applyHunks(newText, file!.hunks, "reverse")).toBe(oldText);
      expect(applyHunks(oldText, file!.hunks, "forward")).toBe(newText);
    }
    const [file] = parsePatch(gitDiff(base, base.replace("line 3\n", "changed\n")));
    expect(applyHunks(base.replace("line 2\n", "other\n"), file!.hunks, "forward")).toBeNull();
  });
});

describe("a direct diff of two versions of a file (fork A against fork B)", () => {
  it("finds the shortest edit script", () => {
    const ops = diffLines(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"])!;
    expect(ops.map((o) => o.kind + o.line)).toEqual([" a", "-b", "+x", " c", " d", "+e"]);
    expect(diffLines(["a"], ["b"], 1)).toBeNull();
  });

  it("writes hunks that git applies like its own", () => {
    const a = Array.from({ length: 40 }, (_, i) => `row ${i}`).join("\n") + "\n";
    const pairs: [string, string][] = [
      [a, a.replace("row 5\n", "row five\n").replace("row 30\n", "row 30\nextra\n")],
      [a, a.slice(0, -1)],
      ["same\n", "same\n"],
      ["", "new\n"],
      ["p\nq", "p\nr"],
    ];
    for (const [x, y] of pairs) {
      const hunks = unifiedHunks(x, y)!;
      expect(applyHunks(x, hunks, "forward")).toBe(y);
      expect(applyHunks(y, hunks, "reverse")).toBe(x);
    }
    expect(unifiedHunks("same\n", "same\n")).toEqual([]);
    expect(unifiedHunks(a, a.replace("row 5\n", "row five\n").replace("row 30\n", "row thirty\n"))!.length).toBe(2);
    // The hunks match git's for the same change (but for git's function context after the @@).
    const y = a.replace("row 5\n", "row five\n");
    const plain = (header: string) => header.replace(/ @@.*$/, " @@");
    expect(unifiedHunks(a, y)!.map((h) => [h.header, ...h.lines])).toEqual(parsePatch(gitDiff(a, y)).flatMap((f) => f.hunks.map((h) => [plain(h.header), ...h.lines])));
  });
});

describe("why a fork has no patch (the compare page says it)", () => {
  it("names the reason a user can act on", async () => {
    const { noPatchReason } = await import("../../src/runs/compare");
    expect(noPatchReason({ n: 2, status: "queued" })).toBe("Fork 2 has not started yet.");
    expect(noPatchReason({ n: 2, status: "running" })).toMatch(/still running/);
    expect(noPatchReason({ n: 2, status: "succeeded", diff: { files: 0, insertions: 0, deletions: 0 } })).toBe("Fork 2 changed no file.");
    expect(noPatchReason({ n: 2, status: "failed", error: { code: "command_failed", message: "Command exited with code 1: make" } })).toBe(
      "Fork 2 failed before its work was collected (command_failed: Command exited with code 1: make).",
    );
    expect(noPatchReason({ n: 2, status: "budget_exceeded" })).toBe("Fork 2 ran out of budget before its work was collected.");
  });
});

describe("the compare page's file tree", () => {
  it("nests files under their directories, directories first, each directory once", async () => {
    const { treeRows } = await import("../../src/dashboard/client/lib/file-tree.ts");
    const rows = treeRows(["src/b.ts", "README.md", "src/api/x.ts", "src/a.ts", "docs/guide.md", "src/api/x.ts"]);
    expect(rows.map((r) => "  ".repeat(r.depth) + (r.kind === "dir" ? r.name + "/" : r.name))).toEqual([
      "docs/",
      "  guide.md",
      "src/",
      "  api/",
      "    x.ts",
      "  a.ts",
      "  b.ts",
      "README.md",
    ]);
    expect(rows.find((r) => r.name === "x.ts")!.path).toBe("src/api/x.ts");
  });
});

describe("a direct diff of two forks from what their patches kept", () => {
  /** An R2 bucket of a few objects: what ArtifactStore's head and getBytes read. */
  function fakeBucket(objects: Record<string, string>) {
    return {
      get: async (key: string) => {
        const text = objects[key];
        return text === undefined ? null : { text: async () => text, arrayBuffer: async () => new TextEncoder().encode(text).buffer };
      },
    } as unknown as R2Bucket;
  }
  const modified = (path: string, from: string, to: string) => `diff --git a/${path} b/${path}\nindex 1..2 100644\n--- a/${path}\n+++ b/${path}\n@@ -1,2 +1,2 @@\n ${"head"}\n-${from}\n+${to}\n`;

  it("diffs a file both forks modified, says when one fork's version was not kept, and leaves binary files alone", async () => {
    const { ArtifactStore } = await import("../../src/artifacts/store");
    const { diffForks } = await import("../../src/runs/fork-diff");
    const store = new ArtifactStore(
      fakeBucket({
        "runs/r1/1/patch.diff": modified("a.txt", "base", "one") + modified("b.txt", "base", "one") + modified("c.txt", "base", "one") + "diff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n",
        "runs/r1/2/patch.diff": modified("a.txt", "base", "two") + modified("b.txt", "base", "two"),
        "runs/r1/1/new/a.txt": "head\none\n",
        "runs/r1/2/new/a.txt": "head\ntwo\n",
        "runs/r1/1/new/b.txt": "head\none\n",
      }),
    );
    const fork = (n: number) => ({ n, artifacts: { patch: { bytes: 1, sha256: "x" } } });
    const view = { id: "r1", forks: [fork(1), fork(2)] } as never;
    const diff = await diffForks(view, 1, 2, store);
    const byPath = Object.fromEntries(diff.files.map((f) => [f.path, f]));
    expect(byPath["a.txt"]).toMatchObject({ a: "modified", b: "modified", status: "differs", hunks: [{ header: "@@ -1,2 +1,2 @@", lines: [" head", "-one", "+two"] }] });
    // Fork 2's b.txt was not kept: the base (from fork 1's kept file and hunks) and fork 2's hunks give it.
    expect(byPath["b.txt"]).toMatchObject({ status: "differs", hunks: [{ lines: [" head", "-one", "+two"] }] });
    // Neither fork's c.txt: fork 2 left it as in the base, which nothing kept gives.
    expect(byPath["c.txt"]).toMatchObject({ a: "modified", b: null, status: "unavailable", reason: expect.stringContaining("Fork 1's version of this file was not kept") });
    expect(byPath["img.png"]).toMatchObject({ a: "binary", b: null, status: "unavailable" });
    await expect(diffForks(view, 1, 3, store)).rejects.toMatchObject({ code: "not_found" });
  });
});
