// The verification build script (src/sandbox/verify-git.ts) run with the host's bash and git on a
// scratch repository: the exported tree becomes the commit (deletions included), protected globs and
// kept paths come from the base, the manifest's modes and symlinks apply, a re-run builds the same
// commit, and the repository's own hooks and fsmonitor never run.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseNumstat } from "../../src/sandbox/git";
import { parseCommitLine, VERIFY_BUILD_SCRIPT, VERIFY_DIR, verifyBuildEnv } from "../../src/sandbox/verify-git";

let root: string;
let repo: string;
let verifyDir: string;
let base: string;

const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();

function build(protectedPaths: string[] = [], keepBase: string[] = [], manifest: string[] = []): { out: string; commit: string } {
  writeFileSync(join(verifyDir, "manifest"), manifest.map((f) => `${f}\0`).join(""));
  writeFileSync(join(verifyDir, "keep-base"), keepBase.map((f) => `${f}\0`).join(""));
  const script = VERIFY_BUILD_SCRIPT.replaceAll(VERIFY_DIR, verifyDir);
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...verifyBuildEnv({ baseSha: base, workBranch: "work", message: "fork", date: "2026-01-01T00:00:00Z", protectedPaths }), FORKYARD_DIR: repo };
  const out = execFileSync("bash", ["-c", script], { env, encoding: "utf8" });
  return { out, commit: parseCommitLine(out)! };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "verify-build-"));
  repo = join(root, "repo");
  verifyDir = join(root, "verify");
  mkdirSync(join(verifyDir, "tree", "tests"), { recursive: true });
  mkdirSync(join(repo, "tests"), { recursive: true });
  git("init", "-q", "-b", "main");
  writeFileSync(join(repo, "keep.txt"), "base\n");
  writeFileSync(join(repo, "gone.txt"), "base\n");
  writeFileSync(join(repo, "tests", "a.test"), "base test\n");
  git("add", "-A");
  git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "base");
  base = git("rev-parse", "HEAD");
  git("checkout", "-q", "-b", "work");
  // The fork's tree: keep.txt edited, gone.txt deleted, a new file, its test edited, a new test.
  const tree = join(verifyDir, "tree");
  writeFileSync(join(tree, "keep.txt"), "fork\n");
  writeFileSync(join(tree, "new.sh"), "echo hi\n");
  writeFileSync(join(tree, "tests", "a.test"), "cheated\n");
  writeFileSync(join(tree, "tests", "b.test"), "added\n");
  // The repository's own hooks and fsmonitor, which the build must never run.
  const marker = join(root, "ran");
  for (const hook of ["pre-commit", "post-checkout", "post-commit", "reference-transaction"]) {
    writeFileSync(join(repo, ".git", "hooks", hook), `#!/bin/sh\necho ${hook} >> ${marker}\n`);
    chmodSync(join(repo, ".git", "hooks", hook), 0o755);
  }
  writeFileSync(join(repo, ".git", "fsmon"), `#!/bin/sh\necho fsmonitor >> ${marker}\n`);
  chmodSync(join(repo, ".git", "fsmon"), 0o755);
  git("config", "core.fsmonitor", join(repo, ".git", "fsmon"));
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("the verification build", () => {
  it("commits the exported tree (deletions too), applies modes and symlinks, runs none of the repository's hooks", () => {
    const { out, commit } = build([], [], ["x", "new.sh", "l", "link", "keep.txt"]);
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(git("rev-parse", "HEAD")).toBe(commit);
    expect(git("rev-parse", "--abbrev-ref", "HEAD")).toBe("work");
    expect(git("diff", "--name-status", base, commit).split("\n").sort()).toEqual(["A\tlink", "A\tnew.sh", "A\ttests/b.test", "D\tgone.txt", "M\tkeep.txt", "M\ttests/a.test"]);
    expect(git("ls-tree", commit, "new.sh")).toMatch(/^100755 /);
    expect(git("ls-tree", commit, "link")).toMatch(/^120000 /);
    expect(parseNumstat(out).files).toBe(6);
    expect(out).toMatch(/^PATCH\t\d+\t[0-9a-f]{64}$/m);
    // The clone's working tree is the commit.
    expect(existsSync(join(repo, "gone.txt"))).toBe(false);
    expect(readFileSync(join(repo, "keep.txt"), "utf8")).toBe("fork\n");
    expect(existsSync(join(root, "ran"))).toBe(false);
  });

  it("protected globs and kept paths come from the base; a re-run builds the very same commit", () => {
    const first = build(["tests/**"], ["gone.txt"]);
    expect(git("diff", "--name-status", base, first.commit).split("\n").sort()).toEqual(["A\tnew.sh", "M\tkeep.txt"]);
    expect(readFileSync(join(repo, "tests", "a.test"), "utf8")).toBe("base test\n");
    expect(existsSync(join(repo, "tests", "b.test"))).toBe(false);
    expect(build(["tests/**"], ["gone.txt"]).commit).toBe(first.commit);
  });

  it("a tree equal to the base builds no commit and no patch", () => {
    rmSync(join(verifyDir, "tree"), { recursive: true });
    mkdirSync(join(verifyDir, "tree", "tests"), { recursive: true });
    writeFileSync(join(verifyDir, "tree", "keep.txt"), "base\n");
    writeFileSync(join(verifyDir, "tree", "gone.txt"), "base\n");
    writeFileSync(join(verifyDir, "tree", "tests", "a.test"), "base test\n");
    const { out, commit } = build();
    expect(commit).toBe(base);
    expect(out).not.toContain("PATCH");
  });
});
