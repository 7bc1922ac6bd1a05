import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Creates a small git repository (default branch `main`, two files) for forks to clone. */
export function createTestRepo(dir: string, initialBranch = "main"): string {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  git("init", "--quiet", `--initial-branch=${initialBranch}`);
  git("config", "user.email", "test@example.com");
  git("config", "user.name", "Test");
  writeFileSync(join(dir, "README.md"), "# Demo\n\nA repository for Forkyard tests.\n");
  writeFileSync(join(dir, "counter.txt"), "0\n");
  git("add", "-A");
  git("commit", "--quiet", "-m", "initial");
  return dir;
}
