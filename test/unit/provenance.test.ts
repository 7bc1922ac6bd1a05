// A merged fork's provenance, computed from the patches: which of each source fork's hunks survive
// (≥ 80 % of their added lines in the merged patch's same file), on a constructed case with every
// kind of file change and hunks on both sides of the threshold.
import { describe, expect, it } from "vitest";
import { computeProvenance, MAX_LISTED_HUNKS } from "../../src/runs/provenance";

const lines = (prefix: string, n: number, sign = "+") => Array.from({ length: n }, (_, i) => `${sign}${prefix}${i + 1}`);

/** A `diff --git` section: header lines, then hunks (each a header and body lines). */
function file(header: string[], ...hunks: { at: string; body: string[] }[]): string {
  return [...header, ...hunks.flatMap((h) => [h.at, ...h.body])].join("\n");
}
const modified = (path: string) => [`diff --git a/${path} b/${path}`, "index 1111111..2222222 100644", `--- a/${path}`, `+++ b/${path}`];
const added = (path: string) => [`diff --git a/${path} b/${path}`, "new file mode 100644", "index 0000000..3333333", "--- /dev/null", `+++ b/${path}`];
const deleted = (path: string) => [`diff --git a/${path} b/${path}`, "deleted file mode 100644", "index 4444444..0000000", `--- a/${path}`, "+++ /dev/null"];
const renamed = (from: string, to: string, similarity = 90) => [`diff --git a/${from} b/${to}`, `similarity index ${similarity}%`, `rename from ${from}`, `rename to ${to}`];

// Fork 1: five hunks that survive (all lines, 9 of 10, exactly 4 of 5, an added file, a deleted file) and one that does not (3 of 5).
const FORK_1 = [
  file(modified("src/a.ts"), { at: "@@ -1,2 +1,6 @@ function a()", body: [" keep", "-old a", ...lines("a", 5)] }, { at: "@@ -20,1 +24,11 @@", body: [" ctx", ...lines("b", 10)] }, { at: "@@ -40,1 +50,6 @@", body: [" ctx", ...lines("c", 5)] }),
  file(modified("src/b.ts"), { at: "@@ -1,1 +1,6 @@", body: [" x", ...lines("d", 5)] }),
  file(added("new.txt"), { at: "@@ -0,0 +1,2 @@", body: lines("n", 2) }),
  file(deleted("old.txt"), { at: "@@ -1,3 +0,0 @@", body: lines("o", 3, "-") }),
].join("\n");

// Fork 2: a renamed file with edits (survives), an added file mostly dropped, repeated lines counted
// as many times as they occur, a pure rename and a deleted file the merge did not keep.
const FORK_2 = [
  file(renamed("lib/x.js", "lib/y.js"), { at: "@@ -3,2 +3,4 @@ module", body: [" ctx", "+y1", "+y2", " ctx"] }),
  file(added("c.txt"), { at: "@@ -0,0 +1,4 @@", body: lines("c-line", 4) }),
  file(modified("src/a.ts"), { at: "@@ -60,1 +70,4 @@", body: [" ctx", "+}", "+}", "+}"] }),
  [...renamed("docs/r.md", "docs/s.md", 100)].join("\n"),
  file(deleted("gone.txt"), { at: "@@ -1,1 +0,0 @@", body: ["-bye"] }),
].join("\n");

// The merged patch: all of a1-a5 (in a hunk of its own shape), b1-b9, c1-c4, d1-d3, both of
// new.txt's lines, old.txt deleted; y1 y2 in lib/y.js (renamed too), one line of c.txt, one "}".
const MERGED = [
  file(modified("src/a.ts"), { at: "@@ -1,2 +1,20 @@", body: [" keep", "-old a", ...lines("a", 5), ...lines("b", 9), ...lines("c", 4), "+}", "+extra"] }),
  file(modified("src/b.ts"), { at: "@@ -1,1 +1,4 @@", body: [" x", ...lines("d", 3)] }),
  file(added("new.txt"), { at: "@@ -0,0 +1,3 @@", body: [...lines("n", 2), "+n3"] }),
  file(deleted("old.txt"), { at: "@@ -1,3 +0,0 @@", body: lines("o", 3, "-") }),
  file(renamed("lib/x.js", "lib/y.js"), { at: "@@ -3,2 +3,4 @@", body: [" ctx", "+y1", "+y2", " ctx"] }),
  file(added("c.txt"), { at: "@@ -0,0 +1,1 @@", body: ["+c-line1"] }),
].join("\n");

describe("merge provenance", () => {
  it("a hunk survives when ≥ 80 % of its added lines are in the merged patch's same file; deletions by their removed lines", () => {
    const { forks } = computeProvenance([{ n: 1, patch: FORK_1 }, { n: 2, patch: FORK_2 }], MERGED);
    const brief = (f: (typeof forks)[number]) => f.hunks.map((h) => [h.file, h.header, h.basis, h.lines, h.found, h.survived]);
    expect(brief(forks[0]!)).toEqual([
      ["src/a.ts", "@@ -1,2 +1,6 @@ function a()", "added", 5, 5, true],
      ["src/a.ts", "@@ -20,1 +24,11 @@", "added", 10, 9, true],
      ["src/a.ts", "@@ -40,1 +50,6 @@", "added", 5, 4, true],
      ["src/b.ts", "@@ -1,1 +1,6 @@", "added", 5, 3, false],
      ["new.txt", "@@ -0,0 +1,2 @@", "added", 2, 2, true],
      ["old.txt", "@@ -1,3 +0,0 @@", "removed", 3, 3, true],
    ]);
    expect(forks[0]).toMatchObject({ n: 1, total: 6, survived: 5, share: 0.833 });
    expect(forks[0]!.hunks.map((h) => h.change)).toEqual(["modified", "modified", "modified", "modified", "added", "deleted"]);

    expect(brief(forks[1]!)).toEqual([
      ["lib/y.js", "@@ -3,2 +3,4 @@ module", "added", 2, 2, true],
      ["c.txt", "@@ -0,0 +1,4 @@", "added", 4, 1, false],
      ["src/a.ts", "@@ -60,1 +70,4 @@", "added", 3, 1, false],
      ["docs/s.md", null, "file", 0, 0, false],
      ["gone.txt", "@@ -1,1 +0,0 @@", "removed", 1, 0, false],
    ]);
    expect(forks[1]!.hunks[0]).toMatchObject({ change: "renamed", oldFile: "lib/x.js" });
    expect(forks[1]!.hunks[3]).toMatchObject({ change: "renamed", oldFile: "docs/r.md" });
    expect(forks[1]).toMatchObject({ n: 2, total: 5, survived: 1, share: 0.2 });
  });

  it("lines must land in the same file; a merge that changed nothing keeps nothing; a pure rename the merge also made survives", () => {
    const elsewhere = file(modified("src/other.ts"), { at: "@@ -1,1 +1,6 @@", body: [" x", ...lines("d", 5)] });
    const source = file(modified("src/b.ts"), { at: "@@ -1,1 +1,6 @@", body: [" x", ...lines("d", 5)] });
    expect(computeProvenance([{ n: 3, patch: source }], elsewhere).forks[0]).toMatchObject({ total: 1, survived: 0, share: 0 });
    expect(computeProvenance([{ n: 3, patch: source }], "").forks[0]).toMatchObject({ total: 1, survived: 0, share: 0 });
    const rename = renamed("docs/r.md", "docs/s.md", 100).join("\n");
    expect(computeProvenance([{ n: 4, patch: rename }], rename).forks[0]).toMatchObject({ total: 1, survived: 1, share: 1 });
  });

  it("lists at most MAX_LISTED_HUNKS hunks per fork and counts them all", () => {
    const many = Array.from({ length: MAX_LISTED_HUNKS + 5 }, (_, i) => file(modified(`f${i}.txt`), { at: "@@ -1,0 +1,1 @@", body: [`+line ${i}`] })).join("\n");
    const fork = computeProvenance([{ n: 1, patch: many }], many).forks[0]!;
    expect(fork).toMatchObject({ total: MAX_LISTED_HUNKS + 5, survived: MAX_LISTED_HUNKS + 5, share: 1, unlisted: 5 });
    expect(fork.hunks).toHaveLength(MAX_LISTED_HUNKS);
  });
});
