import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { createTestRepo } from "./support/test-repo.ts";
import { createCalcRepo, createEvalRepos } from "./support/eval-repos.ts";
import { stopRunnerServices } from "./support/runner-services.ts";

/**
 * Makes what every workers runner only reads: the test git repositories and the stand-in Claude
 * Code CLI. Each runner's servers (sandbox server, test GitHub, Worker bridge, scripted model) are
 * its own, started with the runner (test/support/runner-services.ts); the teardown stops them all.
 */
export default async function setup(project: TestProject) {
  // Not under /tmp: isolated sandboxes get a private /tmp, so they could not clone from there.
  const base = resolve(import.meta.dirname, "..", ".test-data");
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, "run-"));
  // Sandbox commands run as an unprivileged user: what they clone must be readable by others.
  chmodSync(root, 0o755);
  project.provide("testRoot", root);
  const repoPath = createTestRepo(join(root, "repo"));
  project.provide("repoPath", repoPath);
  // The bundled eval suite's repositories, beside it (test/support/eval-suite.ts): <root>/evals/<name>.
  createEvalRepos(join(root, "evals"));
  // The SWE-bench-style task's repository beside them (<root>/evals/calc): its base is not its head.
  const calc = createCalcRepo(join(root, "evals"));
  project.provide("sweBaseCommit", calc.base);
  project.provide("sweSideCommit", calc.side);
  // A repository whose default branch is not `main` (Debian's `git init` makes `master`).
  project.provide("masterRepoPath", createTestRepo(join(root, "repo-master"), "master"));
  // Beside the repo, where sandboxes can see it (the stand-in for the Claude Code CLI).
  const fakeClaude = join(root, "fake-claude.sh");
  copyFileSync(resolve(import.meta.dirname, "support", "fake-claude.sh"), fakeClaude);
  chmodSync(fakeClaude, 0o755);
  project.provide("claudeCodeCommand", fakeClaude);
  return async () => {
    await stopRunnerServices();
    rmSync(root, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    testRoot: string;
    repoPath: string;
    masterRepoPath: string;
    sweBaseCommit: string;
    sweSideCommit: string;
    claudeCodeCommand: string;
  }
}
