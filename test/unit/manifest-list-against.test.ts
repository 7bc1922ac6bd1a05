// The git listing a step snapshot runs in a fork's sandbox (MANIFEST_LIST_AGAINST_SCRIPT), run here
// on a real repository: the files it reads are exactly those that differ from the base commit —
// also ones the fork told git to skip — and a commit it cannot compare against fails the listing.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MANIFEST_LIST_AGAINST_SCRIPT } from "../../src/sandbox/workspace-manifest";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const list of ["/tmp/forkyard-ws-all", "/tmp/forkyard-ws-changed"]) rmSync(list, { force: true });
});

function repo(): { dir: string; git: (...args: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), "fy-manifest-"));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir, encoding: "utf8" });
  git("init", "-q");
  for (const name of ["a.txt", "b.txt", "c.txt", "hidden.txt"]) writeFileSync(join(dir, name), `${name}\n`);
  git("add", "-A");
  git("commit", "-qm", "base");
  return { dir, git };
}

// The script writes its lists to fixed /tmp paths (as in a sandbox): read them right after.
function list(dir: string, against: string): { status: number | null; all: string[]; changed: string[] } {
  const run = spawnSync("bash", ["-c", MANIFEST_LIST_AGAINST_SCRIPT], { env: { ...process.env, FORKYARD_DIR: dir, FORKYARD_AGAINST: against } });
  const read = (path: string) => readFileSync(path, "utf8").split("\0").filter(Boolean).sort();
  return { status: run.status, all: read("/tmp/forkyard-ws-all"), changed: [...new Set(read("/tmp/forkyard-ws-changed"))].sort() };
}

describe("a step snapshot's listing against the base commit", () => {
  it("names the files that differ from it — edited, deleted, untracked, committed since, or hidden from git — and no other", () => {
    const { dir, git } = repo();
    const base = git("rev-parse", "HEAD").trim();
    expect(list(dir, base)).toEqual({ status: 0, all: ["a.txt", "b.txt", "c.txt", "hidden.txt"], changed: [] });
    writeFileSync(join(dir, "a.txt"), "edited\n");
    rmSync(join(dir, "b.txt"));
    writeFileSync(join(dir, "new.txt"), "new\n");
    // A change committed since the base is still a change against it.
    writeFileSync(join(dir, "c.txt"), "committed\n");
    git("commit", "-qam", "fork's own commit");
    // An edit the fork hides from `git status`.
    git("update-index", "--assume-unchanged", "hidden.txt");
    writeFileSync(join(dir, "hidden.txt"), "hidden edit\n");
    expect(git("status", "--porcelain")).not.toContain("hidden.txt");
    const listed = list(dir, base);
    expect(listed.status).toBe(0);
    expect(listed.changed).toEqual(["a.txt", "b.txt", "c.txt", "hidden.txt", "new.txt"]);
  });

  it("fails (exit 5) when the base commit cannot be compared against, rather than take every file as unchanged", () => {
    const { dir } = repo();
    expect(list(dir, "0".repeat(40)).status).toBe(5);
  });
});
