import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planLanes, splitByWeight } from "../../scripts/test-lanes.ts";

describe("npm test's lanes", () => {
  it("deals files out longest first, each to the lightest lane; an unlisted file weighs the median", () => {
    const seconds = { a: 50, b: 30, c: 20, d: 10, e: 5 };
    // a → 1; b → 2; c → 2 (30 < 50); d → 1 (50 = 50, the first); e → 2 (50 < 60). f: median 20.
    expect(splitByWeight(["a", "b", "c", "d", "e"], seconds, 2)).toEqual([["a", "d"], ["b", "c", "e"]]);
    expect(splitByWeight(["f", "a", "b"], seconds, 2)).toEqual([["a"], ["b", "f"]]);
    // More lanes than files: no empty lane.
    expect(splitByWeight(["a"], seconds, 3)).toEqual([["a"]]);
  });

  it("splits only the workers project, and keeps one lane when asked for one", () => {
    const root = mkdtempSync(join(tmpdir(), "lanes-"));
    mkdirSync(join(root, "test", "workers"), { recursive: true });
    for (const f of ["x.test.ts", "y.test.ts", "z.test.ts", "helpers.ts"]) writeFileSync(join(root, "test", "workers", f), "");
    writeFileSync(join(root, "test", "workers", "file-seconds.json"), JSON.stringify({ "test/workers/x.test.ts": 9, "test/workers/y.test.ts": 5, "test/workers/z.test.ts": 4 }));
    expect(planLanes(root, ["workers", "node"], 2)).toEqual([
      { name: "workers-1", project: "workers", files: ["test/workers/x.test.ts"] },
      { name: "workers-2", project: "workers", files: ["test/workers/y.test.ts", "test/workers/z.test.ts"] },
      { name: "node", project: "node" },
    ]);
    expect(planLanes(root, ["workers"], 1)).toEqual([{ name: "workers", project: "workers" }]);
    rmSync(root, { recursive: true, force: true });
  });
});
