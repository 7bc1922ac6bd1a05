/**
 * vitest's sequencer with the workers files longest first (scripts/test-order.ts): their runners
 * take the next file whenever one is free, so the longest start first and the runners end
 * together. The other projects keep vitest's own order.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { longestFirst, recordedSeconds } from "../../scripts/test-order.ts";

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const workers = sorted.filter((spec) => spec.project.name === "workers");
    if (!workers.length) return sorted;
    const root = this.ctx.config.root;
    const byPath = new Map(workers.map((spec) => [relative(root, spec.moduleId), spec]));
    const ordered = longestFirst([...byPath.keys()], recordedSeconds(root)).map((path) => byPath.get(path)!);
    return [...sorted.filter((spec) => spec.project.name !== "workers"), ...ordered];
  }
}
