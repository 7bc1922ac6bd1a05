/**
 * How `npm test` splits its vitest projects into lanes (one vitest process each, all at once).
 * `node` and `stack` are one lane each; `workers` is split into FORKYARD_WORKERS_LANES lanes
 * (default 3: on two cores the suite is nearly CPU-bound, and a third lane still fills the time
 * the others spend waiting), each with its own workerd and its own sandbox server
 * (test/global-setup.ts), so their files never share counters. Files go to lanes longest first, each to the lane with the
 * least work so far, by the seconds recorded in test/workers/file-seconds.json (refresh it with
 * `node scripts/test.ts --record-seconds` after a full run); a file it does not list counts as
 * the median. The split is deterministic: the same files always run together.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { FileTiming } from "./test-timing-reporter.ts";

export interface LanePlan {
  /** The lane's name: its log file and the table's lane column. */
  name: string;
  project: string;
  /** The files it runs; all of the project's when absent. */
  files?: string[];
}

const WORKERS_DIR = join("test", "workers");
const SECONDS_FILE = join(WORKERS_DIR, "file-seconds.json");

export function planLanes(root: string, projects: string[], workersLanes: number): LanePlan[] {
  return projects.flatMap((project): LanePlan[] => {
    if (project !== "workers" || workersLanes <= 1) return [{ name: project, project }];
    const files = readdirSync(join(root, WORKERS_DIR))
      .filter((f) => f.endsWith(".test.ts"))
      .map((f) => join(WORKERS_DIR, f));
    return splitByWeight(files, recordedSeconds(root), workersLanes).map((chunk, i) => ({ name: `workers-${i + 1}`, project, files: chunk }));
  });
}

/** Longest first, each to the lightest lane (LPT); ties by name, so the split is stable. */
export function splitByWeight(files: string[], seconds: Record<string, number>, lanes: number): string[][] {
  const known = Object.values(seconds).sort((a, b) => a - b);
  const median = known.length ? known[Math.floor(known.length / 2)]! : 1;
  const weight = (f: string) => seconds[f] ?? median;
  const sorted = [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
  const out = Array.from({ length: lanes }, () => ({ files: [] as string[], total: 0 }));
  for (const f of sorted) {
    const lightest = out.reduce((min, l) => (l.total < min.total ? l : min));
    lightest.files.push(f);
    lightest.total += weight(f);
  }
  return out.map((l) => l.files.sort()).filter((l) => l.length > 0);
}

function recordedSeconds(root: string): Record<string, number> {
  const path = join(root, SECONDS_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, number>) : {};
}

/** Writes the workers files' measured seconds (tests and hooks) for the next split. */
export function recordSeconds(root: string, rows: FileTiming[]): void {
  const seconds = Object.fromEntries(
    rows
      .filter((r) => r.project === "workers")
      .map((r) => [relative(root, join(root, r.file)), Math.round(r.duration / 100) / 10] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  writeFileSync(join(root, SECONDS_FILE), `${JSON.stringify(seconds, null, 2)}\n`);
}
