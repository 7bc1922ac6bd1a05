/**
 * A unified diff (a fork's patch, `git diff` output) read as files and hunks, without git's header
 * noise (`index`, `---`, `+++`): what a file's change is (added, deleted, modified, renamed,
 * binary) is a field. Also applies a file's hunks forwards or backwards, so one version of a file
 * and the patch give the other. Pure, no imports: the Worker (direct fork-to-fork diffs) and the
 * dashboard (the compare page's file tree) share it.
 */

export type FileChange = "added" | "deleted" | "modified" | "renamed" | "binary";

export interface PatchHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The `@@ … @@` line as git wrote it (with the function context after it). */
  header: string;
  /** Body lines, each starting with ' ', '+', '-' or '\' (no newline at end of file). */
  lines: string[];
}

export interface PatchFile {
  /** The file's path after the change (before it, for a deleted file). */
  path: string;
  /** Its path before a rename; otherwise null. */
  oldPath: string | null;
  change: FileChange;
  /** "100644 → 100755" when the mode changed. */
  mode: string | null;
  insertions: number;
  deletions: number;
  hunks: PatchHunk[];
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Git's C-style quoted path ("a/caf\303\251") unquoted; a plain path as it is. */
export function unquotePath(raw: string): string {
  if (!raw.startsWith('"') || !raw.endsWith('"')) return raw;
  const bytes: number[] = [];
  const body = raw.slice(1, -1);
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, "\\": 92, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      bytes.push(...new TextEncoder().encode(c));
      continue;
    }
    const next = body[i + 1] ?? "";
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** `a/x b/x` of a `diff --git` line: the two paths (quoted ones unquoted), split where they agree. */
function gitHeaderPaths(rest: string): [string, string] {
  const quoted = /^("(?:[^"\\]|\\.)*"|\S+) ("(?:[^"\\]|\\.)*"|.+)$/.exec(rest);
  if (rest.startsWith('"') || rest.endsWith('"')) {
    if (quoted) return [unquotePath(quoted[1]!).replace(/^a\//, ""), unquotePath(quoted[2]!).replace(/^b\//, "")];
  }
  // Unquoted: "a/<p> b/<p>" — the split whose halves are equal, else the middle " b/".
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest.slice(0, half).slice(2) === rest.slice(half + 1).slice(2)) return [rest.slice(2, half), rest.slice(half + 3)];
  const at = rest.indexOf(" b/");
  return at > 0 ? [rest.slice(2, at), rest.slice(at + 3)] : [rest, rest];
}

/** Strips "a/" / "b/" from a ---/+++ path; null for /dev/null. */
function sidePath(raw: string): string | null {
  const trimmed = raw.replace(/\t.*$/, "");
  if (trimmed === "/dev/null") return null;
  return unquotePath(trimmed).replace(/^[ab]\//, "");
}

/** The files of a unified diff, in order. A truncated patch gives its whole files and the cut one's hunks so far. */
export function parsePatch(text: string): PatchFile[] {
  const files: PatchFile[] = [];
  let file: PatchFile | null = null;
  let hunk: PatchHunk | null = null;
  let oldMode: string | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("diff --git ")) {
      const [from, to] = gitHeaderPaths(line.slice("diff --git ".length));
      file = { path: to, oldPath: from !== to ? from : null, change: "modified", mode: null, insertions: 0, deletions: 0, hunks: [] };
      files.push(file);
      hunk = null;
      oldMode = null;
      continue;
    }
    if (!file) continue;
    const h = HUNK.exec(line);
    if (h) {
      hunk = { oldStart: Number(h[1]), oldLines: h[2] === undefined ? 1 : Number(h[2]), newStart: Number(h[3]), newLines: h[4] === undefined ? 1 : Number(h[4]), header: line, lines: [] };
      file.hunks.push(hunk);
      continue;
    }
    if (hunk) {
      if (line.startsWith("+")) file.insertions++;
      else if (line.startsWith("-")) file.deletions++;
      if (/^[ +\-\\]/.test(line)) hunk.lines.push(line);
      continue;
    }
    headerLine(file, line, oldMode, (m) => (oldMode = m));
  }
  return files;
}

/** What a header line between `diff --git` and the first hunk says of the file. */
function headerLine(file: PatchFile, line: string, oldMode: string | null, setOldMode: (m: string) => void): void {
  if (line.startsWith("new file mode")) file.change = "added";
  else if (line.startsWith("deleted file mode")) file.change = "deleted";
  else if (line.startsWith("rename from ")) {
    file.oldPath = unquotePath(line.slice("rename from ".length));
    file.change = "renamed";
  } else if (line.startsWith("rename to ")) {
    file.path = unquotePath(line.slice("rename to ".length));
    file.change = "renamed";
  } else if (line.startsWith("old mode ")) setOldMode(line.slice("old mode ".length));
  else if (line.startsWith("new mode ")) file.mode = (oldMode ?? "?") + " → " + line.slice("new mode ".length);
  else if (line.startsWith("Binary files ") || line === "GIT binary patch") file.change = "binary";
  else if (line.startsWith("--- ")) {
    const from = sidePath(line.slice(4));
    if (from === null) file.change = "added";
  } else if (line.startsWith("+++ ")) {
    const to = sidePath(line.slice(4));
    if (to === null) {
      file.change = "deleted";
      file.path = file.oldPath ?? file.path;
      file.oldPath = null;
    }
  }
}

/** A file's text as lines, and whether it ends with a newline. */
export interface Lines {
  lines: string[];
  finalNewline: boolean;
}

export function toLines(text: string): Lines {
  if (text === "") return { lines: [], finalNewline: true };
  const lines = text.split("\n");
  const finalNewline = lines.at(-1) === "";
  if (finalNewline) lines.pop();
  return { lines, finalNewline };
}

export function fromLines(l: Lines): string {
  return l.lines.length === 0 ? "" : l.lines.join("\n") + (l.finalNewline ? "\n" : "");
}

/**
 * Applies a file's hunks to one version to give the other: "forward" (old → new) or "reverse"
 * (new → old). Null when the hunks do not fit the text (their context differs).
 */
export function applyHunks(text: string, hunks: PatchHunk[], direction: "forward" | "reverse"): string | null {
  const from = toLines(text);
  const fromSign = direction === "forward" ? "-" : "+";
  const toSign = direction === "forward" ? "+" : "-";
  const out: string[] = [];
  let cursor = 0;
  let toNoNewline = false;
  for (const hunk of hunks) {
    const start = direction === "forward" ? hunk.oldStart : hunk.newStart;
    const count = direction === "forward" ? hunk.oldLines : hunk.newLines;
    // "-N,0" inserts after line N; otherwise the hunk starts at line N.
    const at = count === 0 ? start : start - 1;
    if (at < cursor || at > from.lines.length) return null;
    out.push(...from.lines.slice(cursor, at));
    cursor = at;
    let last = " ";
    for (const line of hunk.lines) {
      const sign = line[0]!;
      if (sign === "\\") {
        if (last === " " || last === toSign) toNoNewline = true;
        continue;
      }
      last = sign;
      const body = line.slice(1);
      if (sign === " " || sign === fromSign) {
        if (from.lines[cursor] !== body) return null;
        cursor++;
      }
      if (sign === " " || sign === toSign) out.push(body);
    }
  }
  const reachedEnd = cursor === from.lines.length;
  out.push(...from.lines.slice(cursor));
  return fromLines({ lines: out, finalNewline: reachedEnd && hunks.length > 0 ? !toNoNewline : from.finalNewline });
}
