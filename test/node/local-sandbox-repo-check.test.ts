import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkRepo, type RepoVisibility } from "../../local-sandbox/repo-check.ts";

const root = mkdtempSync(join(tmpdir(), "repo-check-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, stdio: "pipe" });

function repo(name: string, branch: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  git(dir, "init", "--quiet", `--initial-branch=${branch}`);
  return dir;
}

const exposed = join(root, "exposed");
const visibility: RepoVisibility = { isolated: true, exposePaths: [exposed], hidePaths: [join(exposed, "secret")], dataDir: join(root, "data") };

describe("the local sandbox server's repo check", () => {
  it("answers a visible repository's default branch from its HEAD", () => {
    const dir = repo("exposed/app", "master");
    expect(checkRepo(dir, visibility)).toEqual({ ok: true, defaultBranch: "master" });
  });

  it("reads a bare repository and a worktree's .git file", () => {
    const bare = join(exposed, "bare.git");
    git(root, "init", "--quiet", "--bare", "--initial-branch=trunk", bare);
    expect(checkRepo(bare, visibility)).toEqual({ ok: true, defaultBranch: "trunk" });
    const linked = join(exposed, "linked");
    mkdirSync(linked, { recursive: true });
    writeFileSync(join(linked, ".git"), `gitdir: ${join(exposed, "app", ".git")}\n`);
    expect(checkRepo(linked, visibility)).toEqual({ ok: true, defaultBranch: "master" });
  });

  it("refuses what no sandbox could clone, saying why", () => {
    expect(checkRepo("relative/path", visibility)).toEqual({ ok: false, reason: "not_absolute" });
    expect(checkRepo(join(exposed, "invented"), visibility)).toEqual({ ok: false, reason: "not_found" });
    expect(checkRepo(repo("outside", "main"), visibility)).toEqual({ ok: false, reason: "not_visible" });
    expect(checkRepo(repo("exposed/secret/app", "main"), visibility)).toEqual({ ok: false, reason: "not_visible" });
    mkdirSync(join(exposed, "plain"), { recursive: true });
    expect(checkRepo(join(exposed, "plain"), visibility)).toEqual({ ok: false, reason: "not_a_repository" });
  });

  it("shows an exposed folder inside a hidden one, as the sandbox's view mounts it (the deeper rule wins)", () => {
    const inside = repo("exposed/secret/shown/app", "main");
    expect(checkRepo(inside, { ...visibility, exposePaths: [exposed, join(exposed, "secret", "shown")] })).toEqual({ ok: true, defaultBranch: "main" });
    expect(checkRepo(inside, { ...visibility, exposePaths: [exposed, join(exposed, "secret", "shown")], dataDir: join(exposed, "secret") })).toEqual({ ok: false, reason: "not_visible" });
  });

  it("sees every host path when isolation is off", () => {
    expect(checkRepo(join(root, "outside"), { ...visibility, isolated: false })).toEqual({ ok: true, defaultBranch: "main" });
  });

  it("reports a detached HEAD as no default branch", () => {
    const dir = repo("exposed/detached", "main");
    writeFileSync(join(dir, ".git", "HEAD"), "0123456789abcdef0123456789abcdef01234567\n");
    expect(checkRepo(dir, visibility)).toEqual({ ok: true, defaultBranch: null });
  });
});
