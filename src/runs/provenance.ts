/**
 * A merged fork's provenance (POST /v1/runs/:id/merge), computed from the verified patches — never
 * what the merging agent claims. Each hunk of each source fork's patch is looked for in the merged
 * fork's patch: it survives when at least SURVIVAL_SHARE of its added lines are among the lines the
 * merged patch adds to the same file (a hunk that adds nothing — a deletion — by the lines it
 * removes, among those the merged patch removes from that file). Lines compare exactly; each line
 * of the merged patch counts once per hunk that looks for it (a multiset, so ten `}` need ten).
 * A file changed without hunks (a pure rename, a mode change, a binary file, an empty new file)
 * counts as one entry that survives when the merged patch makes the same kind of change to that
 * path. Pure: the merge fork's `provenance` step runs it (src/workflows/fork-merge.ts).
 */
import { parsePatch, type FileChange, type PatchFile } from "../artifacts/patch-files";

/** The share of a hunk's lines the merged patch must hold for the hunk to survive. */
export const SURVIVAL_SHARE = 0.8;
/** Hunks listed per source fork (the counts and the share cover them all). */
export const MAX_LISTED_HUNKS = 100;

export interface HunkProvenance {
  /** The file's path after the source's change (before it, for a deleted file). */
  file: string;
  /** Its path before a rename; otherwise absent. */
  oldFile?: string;
  change: FileChange;
  /** The hunk's `@@ … @@` line; null for a file changed without hunks. */
  header: string | null;
  /** What the hunk was judged by: its added lines, or (adding none) its removed lines; `file` for a change without hunks. */
  basis: "added" | "removed" | "file";
  /** Its lines of that kind, and how many of them the merged patch holds. */
  lines: number;
  found: number;
  survived: boolean;
}

export interface ForkProvenance {
  n: number;
  hunks: HunkProvenance[];
  /** Hunks (and hunk-less file changes) in the fork's patch, and how many survived. */
  total: number;
  survived: number;
  /** survived / total, to 3 decimals (0 for an empty patch). */
  share: number;
  /** Hunks past MAX_LISTED_HUNKS, counted but not listed. */
  unlisted?: number;
}

export interface Provenance {
  forks: ForkProvenance[];
}

/** What the merged patch adds to and removes from each file: added lines by new path, removed by old path. */
export interface MergedLines {
  added: Map<string, Map<string, number>>;
  removed: Map<string, Map<string, number>>;
  changes: Map<string, FileChange>;
}

function count(into: Map<string, Map<string, number>>, path: string, line: string): void {
  const lines = into.get(path) ?? new Map<string, number>();
  lines.set(line, (lines.get(line) ?? 0) + 1);
  into.set(path, lines);
}

/** The path a file's removed lines came from: its old path (renamed), else its path. */
const oldPathOf = (file: PatchFile) => file.oldPath ?? file.path;

/** The merged fork's patch ("" when it changed nothing) as what sources are looked for in. */
export function mergedLines(patch: string): MergedLines {
  const merged: MergedLines = { added: new Map(), removed: new Map(), changes: new Map() };
  for (const file of parsePatch(patch)) {
    merged.changes.set(file.path, file.change);
    for (const hunk of file.hunks) {
      for (const line of hunk.lines) {
        if (line.startsWith("+")) count(merged.added, file.path, line.slice(1));
        else if (line.startsWith("-")) count(merged.removed, oldPathOf(file), line.slice(1));
      }
    }
  }
  return merged;
}

/** How many of `lines` the pool holds, each pool line used once. */
function found(lines: string[], pool: Map<string, number> | undefined): number {
  if (!pool) return 0;
  const left = new Map(pool);
  let hits = 0;
  for (const line of lines) {
    const n = left.get(line) ?? 0;
    if (n === 0) continue;
    left.set(line, n - 1);
    hits++;
  }
  return hits;
}

function fileEntries(file: PatchFile, merged: MergedLines): HunkProvenance[] {
  const where = { file: file.path, ...(file.oldPath ? { oldFile: file.oldPath } : {}), change: file.change };
  if (file.hunks.length === 0) {
    const same = merged.changes.get(file.path) === file.change;
    return [{ ...where, header: null, basis: "file", lines: 0, found: 0, survived: same }];
  }
  return file.hunks.map((hunk) => {
    const added = hunk.lines.filter((l) => l.startsWith("+")).map((l) => l.slice(1));
    const basis = added.length > 0 ? "added" : "removed";
    const lines = basis === "added" ? added : hunk.lines.filter((l) => l.startsWith("-")).map((l) => l.slice(1));
    const pool = basis === "added" ? merged.added.get(file.path) : merged.removed.get(oldPathOf(file));
    const hits = found(lines, pool);
    return { ...where, header: hunk.header, basis, lines: lines.length, found: hits, survived: lines.length > 0 && hits >= SURVIVAL_SHARE * lines.length };
  });
}

/** Provenance of one source fork's patch in the merged patch (one at a time: a step need not hold every patch at once). */
export function forkProvenance(n: number, sourcePatch: string, merged: MergedLines): ForkProvenance {
  const hunks = parsePatch(sourcePatch).flatMap((file) => fileEntries(file, merged));
  const survived = hunks.filter((h) => h.survived).length;
  const share = hunks.length === 0 ? 0 : Math.round((survived / hunks.length) * 1000) / 1000;
  const view: ForkProvenance = { n, hunks: hunks.slice(0, MAX_LISTED_HUNKS), total: hunks.length, survived, share };
  if (hunks.length > MAX_LISTED_HUNKS) view.unlisted = hunks.length - MAX_LISTED_HUNKS;
  return view;
}

/** Provenance of each source fork's patch (in the order given) in the merged fork's patch ("" when it changed nothing). */
export function computeProvenance(sources: { n: number; patch: string }[], mergedPatch: string): Provenance {
  const merged = mergedLines(mergedPatch);
  return { forks: sources.map((s) => forkProvenance(s.n, s.patch, merged)) };
}
