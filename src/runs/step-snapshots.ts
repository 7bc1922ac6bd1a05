/**
 * A fork's step snapshots (runs with `snapshots: "steps"`): at each step boundary (before model
 * call k, before command k) the fork stores in R2 one record of what changed since the previous
 * boundary — the workspace's files (added or changed, with their bytes content-addressed beside
 * it; deleted), the journal entries and, for an agent, the conversation's turns. A branch at step k
 * composes the records up to k. Pure: no sandbox, no storage (workflows/step-snapshots.ts takes
 * them, objects/orchestrator/step-branching.ts composes them).
 */
import type { AgentTurn, Exchange } from "../agent/conversation";
import type { ToolCall } from "../agent/tools";
import { BASE_CONTENT, type WorkspaceManifest } from "../sandbox/manifest-diff";

/** What a fork did to its workspace, in order (ForkSandbox's journal). */
export type JournalEntry = { kind: "command"; command: string } | { kind: "tool"; call: ToolCall };

/** A file as a snapshot holds it: its content's sha256, size, and whether its bytes are stored (blobs/<sha256>). */
export interface SnapshotFile {
  sha256: string;
  bytes: number;
  stored: boolean;
}

/** The workspace's change since the previous boundary: files added or changed, and deleted. */
export interface FileDelta {
  put: Record<string, SnapshotFile>;
  del: string[];
}

/** One boundary's record (R2: stepRecordKey). */
export interface StepRecord {
  boundary: string;
  /** The boundary before it (null for the fork's first): records chain back to the first. */
  previous: string | null;
  /** Model calls (agent) or commands done at this boundary. */
  turn: number;
  /** The journal's entries since the previous boundary (the first: all before it — prepare, a parent's work). */
  journal: JournalEntry[];
  /** Agent forks: the turns since the previous boundary. */
  turns?: AgentTurn[];
  /** The first record: the fork's clone commit, and where its conversation starts. */
  start?: { baseSha: string; prompt?: string; history?: Exchange[] };
  /**
   * The first record: every file git lists (tracked, untracked not ignored); a file unchanged
   * against the clone's commit is not stored (a clone has it). Later ones: what changed.
   */
  files: FileDelta;
  /** Every changed file's bytes are stored (none past the bounds, no symlink or unreadable file). */
  complete: boolean;
  /** Bytes stored by this record and the ones before it (bounded per fork). */
  storedBytes: number;
}

/** `model-<k>` or `command-<k>`, the names of the boundaries a branch may start at. */
export function parseStepName(name: string): { kind: "model" | "command"; k: number } | null {
  const match = /^(model|command)-([1-9][0-9]{0,5})$/.exec(name);
  return match ? { kind: match[1] as "model" | "command", k: Number(match[2]) } : null;
}

/** The files of a manifest that a snapshot can hold as plain files (not symlinks, unreadable or too big). */
function plainSha(sha: string | null): sha is string {
  return sha !== null && /^[0-9a-f]{64}$/.test(sha);
}

/** A manifest taken against the fork's base commit: a file as the commit has it (a clone has it too). */
const fromBase = (sha: string) => sha === BASE_CONTENT;

/**
 * What changed between two manifests (`before` absent: the first boundary, every file listed).
 * A file `stored` in `after` had its bytes kept (R2). The delta is complete when every
 * file in `put` is a plain file whose bytes were kept (or, at the first boundary, is unchanged
 * against the clone), and neither manifest was truncated.
 */
export function fileDelta(before: WorkspaceManifest | null, after: WorkspaceManifest): { files: FileDelta; complete: boolean } {
  const files: FileDelta = { put: {}, del: [] };
  let complete = !after.truncated && !(before?.truncated ?? false);
  for (const [path, file] of Object.entries(after.files)) {
    if (file.sha256 === null) continue;
    const was = before?.files[path]?.sha256;
    if (before && was === file.sha256) continue;
    // At the first boundary a file as the base commit has it is the clone's: nothing to record.
    if (!before && fromBase(file.sha256)) continue;
    const kept = plainSha(file.sha256) && file.stored;
    // At the first boundary a file unchanged against the commit comes from the clone.
    const fromClone = !before && !file.changed;
    if (!fromBase(file.sha256) && (!plainSha(file.sha256) || (!kept && !fromClone))) complete = false;
    files.put[path] = { sha256: file.sha256, bytes: file.bytes, stored: kept };
  }
  if (before) {
    for (const [path, file] of Object.entries(before.files)) {
      if (file.sha256 !== null && (after.files[path]?.sha256 ?? null) === null) files.del.push(path);
    }
  }
  files.del.sort();
  return { files, complete };
}

/** Whether a file's new content must be kept at this boundary (it is new or changed since the previous one). */
export function needsKeeping(before: WorkspaceManifest | null, path: string, sha256: string, changedAgainstHead: boolean): boolean {
  return before ? before.files[path]?.sha256 !== sha256 : changedAgainstHead;
}

/** The workspace at a boundary, relative to a fresh clone at the fork's commit: files to write, to put back as the commit has them, to delete. */
export interface ComposedFiles {
  write: { path: string; sha256: string }[];
  /** Files changed since the first boundary, then changed back to the base commit's content. */
  fromBase: string[];
  remove: string[];
  complete: boolean;
}

/** Composes the records, first to last: the files to lay on a clone to get the workspace of the last one. */
export function composeFiles(records: readonly StepRecord[]): ComposedFiles {
  const state = new Map<string, SnapshotFile>();
  const removed = new Set<string>();
  let complete = true;
  for (const record of records) {
    complete &&= record.complete;
    for (const [path, file] of Object.entries(record.files.put)) {
      state.set(path, file);
      removed.delete(path);
    }
    for (const path of record.files.del) {
      state.delete(path);
      removed.add(path);
    }
  }
  const write = [...state].filter(([, f]) => f.stored).map(([path, f]) => ({ path, sha256: f.sha256 }));
  const base = [...state].filter(([, f]) => fromBase(f.sha256)).map(([path]) => path);
  return { write: write.sort((a, b) => (a.path < b.path ? -1 : 1)), fromBase: base.sort(), remove: [...removed].sort(), complete };
}

/** Where a fork stood at the last of the records: its journal, its conversation (agent forks). */
export function composePosition(records: readonly StepRecord[]): { turn: number; journal: JournalEntry[]; history?: Exchange[]; exchange?: Exchange } {
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last) throw new Error("composePosition: no records");
  const journal = records.flatMap((r) => r.journal);
  const start = first.start;
  if (start?.prompt === undefined) return { turn: last.turn, journal };
  const turns = records.flatMap((r) => r.turns ?? []);
  return { turn: last.turn, journal, ...(start.history?.length ? { history: start.history } : {}), exchange: { prompt: start.prompt, turns } };
}

/** A journal entry as the branch's view lists it among what was re-run: the command, or the tool and what it ran or edited. */
export function describeEntry(entry: JournalEntry): string {
  if (entry.kind === "command") return entry.command;
  const input = entry.call.input;
  const fields = input !== null && typeof input === "object" && !Array.isArray(input) ? input : {};
  const what = typeof fields.command === "string" ? fields.command : "";
  const path = typeof fields.path === "string" ? fields.path : "";
  return `${entry.call.name}: ${[what, path].filter(Boolean).join(" ")}`.slice(0, 2000);
}
