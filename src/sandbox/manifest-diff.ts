/**
 * A session workspace's manifest (what it held when Forkyard paused its sandbox) and the
 * comparison of two of them (before the pause, after the resume). Pure: no sandbox, no storage.
 */

/**
 * A manifest taken `against` a commit (workspace-manifest.ts) does not read the files git finds
 * unchanged against it: their sha256 is this marker (the commit's content).
 */
export const BASE_CONTENT = "base";

/** One file of the manifest: its sha256 (null: listed by git but absent, e.g. deleted), and whether its bytes were stored. */
export interface ManifestFile {
  sha256: string | null;
  bytes: number;
  /** Its bytes are in R2 (a file changed against HEAD, within the snapshot bound). */
  stored: boolean;
  /** Changed against HEAD, or untracked (git cannot restore it). */
  changed?: boolean;
}

export interface WorkspaceManifest {
  /** `.git/HEAD` as written (`ref: refs/heads/…` or a commit id). */
  head: string | null;
  /** The commit HEAD resolves to (loose ref or packed-refs), or null when it cannot be read. */
  commit: string | null;
  /** sha256 of `.git/index`. */
  index: string | null;
  /** Tracked and untracked not-ignored files, by path relative to the clone. */
  files: Record<string, ManifestFile>;
  /** More files or bytes than the bound: the files past it are not in the manifest. */
  truncated: boolean;
  takenAt: string;
}

/** What differs after a resume (empty lists and no git fields: nothing). */
export interface WorkspaceDiff {
  head?: { before: string | null; after: string | null };
  commit?: { before: string | null; after: string | null };
  index?: boolean;
  /** Files in the manifest before the pause, gone after the resume. */
  missing: string[];
  /** Files whose content differs. */
  changed: string[];
  /** Files that appeared (reported, left alone). */
  added: string[];
}

/** How many paths of each list an event names (the counts are always whole). */
export const DIFF_LIST_LIMIT = 50;

export function diffManifests(before: WorkspaceManifest, after: WorkspaceManifest): WorkspaceDiff {
  const diff: WorkspaceDiff = { missing: [], changed: [], added: [] };
  if (before.head !== after.head) diff.head = { before: before.head, after: after.head };
  if (before.commit !== after.commit) diff.commit = { before: before.commit, after: after.commit };
  if (before.index !== after.index) diff.index = true;
  for (const [path, file] of Object.entries(before.files)) {
    const now = after.files[path];
    // A truncated manifest after the resume says nothing of the files it did not reach.
    if (!now) {
      if (!after.truncated && file.sha256 !== null) diff.missing.push(path);
    } else if (now.sha256 !== file.sha256) (now.sha256 === null ? diff.missing : diff.changed).push(path);
  }
  if (!before.truncated) for (const path of Object.keys(after.files)) if (!(path in before.files) && after.files[path]!.sha256 !== null) diff.added.push(path);
  return diff;
}

/** True when the workspace after the resume is the one paused (files that appeared aside). */
export function intact(diff: WorkspaceDiff): boolean {
  return !diff.head && !diff.commit && !diff.index && diff.missing.length === 0 && diff.changed.length === 0;
}

/** A clone-relative path the manifest may hold: plain segments, nothing in `.git`. */
export function plainPath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.length > 1024) return false;
  const parts = path.split("/");
  return parts.every((p) => p !== "" && p !== "." && p !== ".." && p !== ".git") && !/[\0\n\r]/.test(path);
}

/** An event's view of a diff: counts, and at most DIFF_LIST_LIMIT paths of each list. */
export function describeDiff(diff: WorkspaceDiff): Record<string, unknown> {
  const list = (paths: string[]) => ({ count: paths.length, paths: paths.slice(0, DIFF_LIST_LIMIT) });
  return {
    ...(diff.head ? { head: diff.head } : {}),
    ...(diff.commit ? { commit: diff.commit } : {}),
    ...(diff.index ? { index: "changed" } : {}),
    missing: list(diff.missing),
    changed: list(diff.changed),
    added: list(diff.added),
  };
}
