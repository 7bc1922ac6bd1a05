import { describe, expect, it } from "vitest";
import type { AgentTurn } from "../../src/agent/conversation";
import { composeFiles, composePosition, describeEntry, fileDelta, needsKeeping, parseStepName, type StepRecord } from "../../src/runs/step-snapshots";
import { BASE_CONTENT, type WorkspaceManifest } from "../../src/sandbox/manifest-diff";

const sha = (c: string) => c.repeat(64);
const file = (s: string | null, extra: { stored?: boolean; changed?: boolean } = {}) => ({ sha256: s, bytes: 3, stored: false, ...extra });
const manifest = (files: WorkspaceManifest["files"], more: Partial<WorkspaceManifest> = {}): WorkspaceManifest => ({ head: "ref: refs/heads/w", commit: "c1", index: "i1", files, truncated: false, takenAt: "t", ...more });
const turn = (text: string): AgentTurn => ({ model: { stopReason: "tool_use", content: [{ type: "text", text }], usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, model: "m" }, tools: [{ toolUseId: text, content: "ok", isError: false }] });

function record(boundary: string, previous: string | null, files: StepRecord["files"], more: Partial<StepRecord> = {}): StepRecord {
  return { boundary, previous, turn: 0, journal: [], files, complete: true, storedBytes: 0, ...more };
}

describe("step snapshots: the delta at each boundary", () => {
  it("at the first boundary lists every file; only those changed against the commit need their bytes", () => {
    const first = manifest({ "README.md": file(sha("a")), "new.txt": file(sha("b"), { changed: true, stored: true }) });
    expect(fileDelta(null, first)).toEqual({
      files: { put: { "README.md": { sha256: sha("a"), bytes: 3, stored: false }, "new.txt": { sha256: sha("b"), bytes: 3, stored: true } }, del: [] },
      complete: true,
    });
    expect(needsKeeping(null, "README.md", sha("a"), false)).toBe(false);
    expect(needsKeeping(null, "new.txt", sha("b"), true)).toBe(true);
  });

  it("later: files added or changed since the previous boundary (kept), deleted ones, nothing for the unchanged", () => {
    const before = manifest({ "README.md": file(sha("a")), "a.txt": file(sha("b"), { changed: true }), "gone.txt": file(sha("c")) });
    const after = manifest({ "README.md": file(sha("a")), "a.txt": file(sha("d"), { changed: true, stored: true }), "b.txt": file(sha("e"), { changed: true, stored: true }), "gone.txt": file(null) });
    expect(needsKeeping(before, "README.md", sha("a"), false)).toBe(false);
    expect(needsKeeping(before, "a.txt", sha("d"), true)).toBe(true);
    // A file put back as it was in the commit still changed since the previous boundary: kept.
    expect(needsKeeping(before, "gone.txt", sha("c"), false)).toBe(false);
    expect(needsKeeping(before, "a.txt", sha("a"), false)).toBe(true);
    expect(fileDelta(before, after)).toEqual({
      files: { put: { "a.txt": { sha256: sha("d"), bytes: 3, stored: true }, "b.txt": { sha256: sha("e"), bytes: 3, stored: true } }, del: ["gone.txt"] },
      complete: true,
    });
  });

  it("is incomplete when a changed file's bytes were not kept (past the bound), a file is not plain, or a manifest was truncated", () => {
    const before = manifest({ "a.txt": file(sha("a")) });
    expect(fileDelta(before, manifest({ "a.txt": file(sha("b"), { changed: true }) })).complete).toBe(false);
    expect(fileDelta(before, manifest({ "a.txt": file(sha("a")), link: file("unreadable", { changed: true }) })).complete).toBe(false);
    expect(fileDelta(before, manifest({ "a.txt": file(sha("a")), big: file("size:99999999", { changed: true }) })).complete).toBe(false);
    expect(fileDelta(before, manifest({ "a.txt": file(sha("a")) }, { truncated: true })).complete).toBe(false);
    expect(fileDelta(null, manifest({ "a.txt": file(sha("b"), { changed: true }) })).complete).toBe(false);
  });
});

describe("step snapshots taken against the base commit (only the files that differ from it read)", () => {
  it("records nothing at the first boundary for a file as the commit has it, and a file changed back to it as such", () => {
    const first = manifest({ "README.md": file(BASE_CONTENT), "a.txt": file(sha("1"), { changed: true, stored: true }) });
    expect(fileDelta(null, first)).toEqual({ files: { put: { "a.txt": { sha256: sha("1"), bytes: 3, stored: true } }, del: [] }, complete: true });
    const edited = manifest({ "README.md": file(sha("2"), { changed: true, stored: true }), "a.txt": file(sha("1"), { changed: true }) });
    expect(fileDelta(first, edited)).toEqual({ files: { put: { "README.md": { sha256: sha("2"), bytes: 3, stored: true } }, del: [] }, complete: true });
    expect(needsKeeping(first, "README.md", sha("2"), true)).toBe(true);
    expect(needsKeeping(first, "a.txt", sha("1"), true)).toBe(false);
    // README.md put back as the commit has it, a.txt deleted.
    const reverted = manifest({ "README.md": file(BASE_CONTENT) });
    const delta = fileDelta(edited, reverted);
    expect(delta).toEqual({ files: { put: { "README.md": { sha256: BASE_CONTENT, bytes: 3, stored: false } }, del: ["a.txt"] }, complete: true });
    const records = [record("command-1", null, fileDelta(null, first).files), record("command-2", "command-1", fileDelta(first, edited).files), record("command-3", "command-2", delta.files)];
    expect(composeFiles(records.slice(0, 2))).toEqual({ write: [{ path: "README.md", sha256: sha("2") }, { path: "a.txt", sha256: sha("1") }], fromBase: [], remove: [], complete: true });
    expect(composeFiles(records)).toEqual({ write: [], fromBase: ["README.md"], remove: ["a.txt"], complete: true });
  });
});

describe("step snapshots composed up to a step", () => {
  const first = record("model-1", null, { put: { "README.md": { sha256: sha("a"), bytes: 3, stored: false }, "old.txt": { sha256: sha("f"), bytes: 3, stored: false } }, del: [] }, {
    journal: [{ kind: "command", command: "npm ci" }],
    turns: [],
    start: { baseSha: "b".repeat(40), prompt: "Write a.txt" },
  });
  const second = record("model-2", "model-1", { put: { "a.txt": { sha256: sha("1"), bytes: 3, stored: true } }, del: [] }, { turn: 1, journal: [{ kind: "tool", call: { name: "bash", input: { command: "echo 1 > a.txt" } } }], turns: [turn("t1")] });
  const third = record("model-3", "model-2", { put: { "a.txt": { sha256: sha("2"), bytes: 3, stored: true } }, del: ["old.txt"] }, { turn: 2, journal: [{ kind: "tool", call: { name: "str_replace_based_edit_tool", input: { command: "str_replace", path: "a.txt" } } }], turns: [turn("t2")] });
  const fourth = record("model-4", "model-3", { put: { "b.txt": { sha256: sha("3"), bytes: 3, stored: true }, "old.txt": { sha256: sha("4"), bytes: 3, stored: true } }, del: [] }, { turn: 3, turns: [turn("t3")] });

  it("lays the files of the last boundary on a clone: each path's latest content, the deleted removed", () => {
    expect(composeFiles([first])).toEqual({ write: [], fromBase: [], remove: [], complete: true });
    expect(composeFiles([first, second])).toEqual({ write: [{ path: "a.txt", sha256: sha("1") }], fromBase: [], remove: [], complete: true });
    expect(composeFiles([first, second, third])).toEqual({ write: [{ path: "a.txt", sha256: sha("2") }], fromBase: [], remove: ["old.txt"], complete: true });
    // A path deleted, then written again, is written (not removed).
    expect(composeFiles([first, second, third, fourth])).toEqual({ write: [{ path: "a.txt", sha256: sha("2") }, { path: "b.txt", sha256: sha("3") }, { path: "old.txt", sha256: sha("4") }], fromBase: [], remove: [], complete: true });
    expect(composeFiles([first, { ...second, complete: false }, third]).complete).toBe(false);
  });

  it("joins the journal and the agent's turns in order; the conversation starts with the first record's prompt", () => {
    expect(composePosition([first, second, third])).toEqual({
      turn: 2,
      journal: [...first.journal, ...second.journal, ...third.journal],
      exchange: { prompt: "Write a.txt", turns: [turn("t1"), turn("t2")] },
    });
    const history = [{ prompt: "Before", turns: [turn("h")] }];
    expect(composePosition([{ ...first, start: { ...first.start!, history } }]).history).toEqual(history);
    // A commands fork: no conversation.
    expect(composePosition([{ ...first, start: { baseSha: "x" } }, second])).toEqual({ turn: 1, journal: [...first.journal, ...second.journal] });
  });

  it("names the steps a branch may start at, and what a replay re-runs", () => {
    expect(parseStepName("model-3")).toEqual({ kind: "model", k: 3 });
    expect(parseStepName("command-12")).toEqual({ kind: "command", k: 12 });
    for (const bad of ["model-0", "tool-1-1", "model-", "model-03", "Model-3", "command-2x", "branch-at-model-2", ""]) expect(parseStepName(bad)).toBeNull();
    expect(third.journal.map(describeEntry)).toEqual(["str_replace_based_edit_tool: str_replace a.txt"]);
    expect([...first.journal, ...second.journal].map(describeEntry)).toEqual(["npm ci", "bash: echo 1 > a.txt"]);
  });
});
