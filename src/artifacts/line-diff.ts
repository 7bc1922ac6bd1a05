/**
 * A line diff of two texts (Myers' O((N+M)·D) algorithm) as unified hunks: what the compare page
 * shows as a direct diff of fork A's version of a file against fork B's. Pure.
 */
import { toLines, type PatchHunk } from "./patch-files";

type Op = { kind: " " | "-" | "+"; line: string };

/** The most edits a diff looks for before it gives up (the versions are too different to show line by line). */
export const MAX_EDITS = 4000;

/** The edit script from `a` to `b` (shortest), or null past MAX_EDITS edits. */
export function diffLines(a: string[], b: string[], maxEdits = MAX_EDITS): Op[] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return null;
  // Walk back through the saved frontiers.
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d]!;
    const k = x - y;
    const down = k === -d || (k !== d && prev[offset + k - 1]! < prev[offset + k + 1]!);
    const pk = down ? k + 1 : k - 1;
    const px = prev[offset + pk]!;
    const py = px - pk;
    while (x > px && y > py) {
      ops.push({ kind: " ", line: a[--x]! });
      y--;
    }
    if (down) ops.push({ kind: "+", line: b[--y]! });
    else ops.push({ kind: "-", line: a[--x]! });
  }
  while (x > 0 && y > 0) {
    ops.push({ kind: " ", line: a[--x]! });
    y--;
  }
  return ops.reverse();
}

/** The unified hunks from text `a` to text `b` (`context` lines around each change); null when too different. */
export function unifiedHunks(a: string, b: string, context = 3): PatchHunk[] | null {
  const la = toLines(a);
  const lb = toLines(b);
  const ops = diffLines(la.lines, lb.lines);
  if (!ops) return null;
  const noNewline = !(la.finalNewline && lb.finalNewline) ? markLastLines(ops, la.finalNewline, lb.finalNewline) : new Set<Op>();
  const changed = ops.map((op, i) => (op.kind !== " " ? i : -1)).filter((i) => i >= 0);
  const hunks: PatchHunk[] = [];
  let i = 0;
  while (i < changed.length) {
    const from = Math.max(changed[i]! - context, 0);
    let to = Math.min(changed[i]! + context + 1, ops.length);
    while (i + 1 < changed.length && changed[i + 1]! - context <= to) to = Math.min(changed[++i]! + context + 1, ops.length);
    i++;
    let oldStart = 1;
    let newStart = 1;
    for (const op of ops.slice(0, from)) {
      if (op.kind !== "+") oldStart++;
      if (op.kind !== "-") newStart++;
    }
    const slice = ops.slice(from, to);
    const oldLines = slice.filter((op) => op.kind !== "+").length;
    const newLines = slice.filter((op) => op.kind !== "-").length;
    const lines = slice.flatMap((op) => [op.kind + op.line, ...(noNewline.has(op) ? ["\\ No newline at end of file"] : [])]);
    const header = `@@ -${oldLines ? oldStart : oldStart - 1},${oldLines} +${newLines ? newStart : newStart - 1},${newLines} @@`;
    hunks.push({ oldStart: oldLines ? oldStart : oldStart - 1, oldLines, newStart: newLines ? newStart : newStart - 1, newLines, header, lines });
  }
  return hunks;
}

/** A side ends without a newline: the ops after which "\\ No newline at end of file" is written (a common last line split into a change). */
function markLastLines(ops: Op[], aNewline: boolean, bNewline: boolean): Set<Op> {
  const noNewline = new Set<Op>();
  const lastA = ops.findLastIndex((op) => op.kind !== "+");
  const lastB = ops.findLastIndex((op) => op.kind !== "-");
  if (lastA >= 0 && ops[lastA]!.kind === " " && aNewline !== bNewline) {
    // The same last line on both sides: split it into a deletion and an addition.
    const line = ops[lastA]!.line;
    const del: Op = { kind: "-", line };
    const add: Op = { kind: "+", line };
    ops.splice(lastA, 1, del, add);
    if (!aNewline) noNewline.add(del);
    if (!bNewline) noNewline.add(add);
    return noNewline;
  }
  if (!aNewline && lastA >= 0) noNewline.add(ops[lastA]!);
  if (!bNewline && lastB >= 0) noNewline.add(ops[lastB]!);
  return noNewline;
}
