/**
 * The order `npm test` gives the workers files: longest first, by the seconds recorded in
 * test/workers/file-seconds.json (refresh it with `node scripts/test.ts --record-seconds` after a
 * full run; a file it does not list counts as the median). The workers runners take the next file
 * whenever one is free (vitest's pool), so longest first is list scheduling: the runners end
 * together whatever a file costs on the day. Used by test/support/longest-first.ts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { FileTiming } from "./test-timing-reporter.ts";

const SECONDS_FILE = join("test", "workers", "file-seconds.json");

/** `files` (paths relative to `root`) longest first; ties by name, so the order is stable. */
export function longestFirst(files: string[], seconds: Record<string, number>): string[] {
  const known = Object.values(seconds).sort((a, b) => a - b);
  const median = known.length ? known[Math.floor(known.length / 2)]! : 1;
  const weight = (f: string) => seconds[f] ?? median;
  return [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
}

export function recordedSeconds(root: string): Record<string, number> {
  const path = join(root, SECONDS_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, number>) : {};
}

/** Writes the workers files' measured seconds (tests and hooks) for the next run's order. */
export function recordSeconds(root: string, rows: FileTiming[]): void {
  const seconds = Object.fromEntries(
    rows
      .filter((r) => r.project === "workers")
      .map((r) => [relative(root, join(root, r.file)), Math.round(r.duration / 100) / 10] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  writeFileSync(join(root, SECONDS_FILE), `${JSON.stringify(seconds, null, 2)}\n`);
}
