import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { startSandboxServer } from "../scripts/local-stack.ts";
import { startScriptedAnthropic } from "./support/anthropic-server.ts";
import { TEST_ANTHROPIC_API_KEY, TEST_E2B_API_KEY, TEST_SANDBOX_ADMIN_KEY, TEST_GITHUB_TOKEN } from "./support/constants.ts";
import { startChildServer } from "./support/child-server.ts";
import { createTestRepo } from "./support/test-repo.ts";
import { createCalcRepo, createEvalRepos } from "./support/eval-repos.ts";
import { startWorkerBridge } from "./support/worker-bridge.ts";

/** Starts the local E2B-compatible sandbox server and a test git repo for the workerd tests. */
export default async function setup(project: TestProject) {
  // Not under /tmp: isolated sandboxes get a private /tmp, so they could not clone from there.
  const base = resolve(import.meta.dirname, "..", ".test-data");
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, "run-"));
  // Sandbox commands run as an unprivileged user: what they clone must be readable by others.
  chmodSync(root, 0o755);
  const repoPath = createTestRepo(join(root, "repo"));
  // The bundled eval suite's repositories, beside it (test/support/eval-suite.ts): <root>/evals/<name>.
  createEvalRepos(join(root, "evals"));
  // The SWE-bench-style task's repository beside them (<root>/evals/calc): its base is not its head.
  const calc = createCalcRepo(join(root, "evals"));
  project.provide("sweBaseCommit", calc.base);
  project.provide("sweSideCommit", calc.side);
  // Its own process, as the sandbox server: it spawns git for every Git Data API call and clone.
  const github = await startChildServer(resolve(import.meta.dirname, "support", "github-server-main.ts"), {
    GITHUB_ROOT: join(root, "github"),
    GITHUB_SOURCE: repoPath,
    GITHUB_TOKEN: TEST_GITHUB_TOKEN,
  });
  project.provide("githubUrl", github.url);
  // The Worker's address as sandboxes reach it (its PUBLIC_URL: the claude-code runtime's model proxy).
  const bridge = await startWorkerBridge();
  project.provide("bridgeUrl", bridge.url);
  // Exposed read-only to sandboxes (forks clone the test repo from it) wherever the checkout lives;
  // the GitHub stand-in and the Worker bridge are the host addresses sandboxes reach (their network is their own).
  // Its own process (as `npm start` runs it), not this one: a process forks each sandbox command,
  // and forking vitest's large main process cost ~30 ms of CPU per spawn (a quarter of the lane's CPU).
  const server = await startSandboxServer({
    apiKey: TEST_E2B_API_KEY,
    dataDir: join(root, "sandboxes"),
    exposePaths: [root],
    env: { SANDBOX_ADMIN_KEY: TEST_SANDBOX_ADMIN_KEY, SANDBOX_FORWARD_HOSTS: `${new URL(github.url).host},${new URL(bridge.url).host}` },
    quiet: true,
  });
  project.provide("sandboxUrl", server.url);
  project.provide("repoPath", repoPath);
  // A repository whose default branch is not `main` (Debian's `git init` makes `master`).
  project.provide("masterRepoPath", createTestRepo(join(root, "repo-master"), "master"));
  // Beside the repo, where sandboxes can see it (the stand-in for the Claude Code CLI).
  const fakeClaude = join(root, "fake-claude.sh");
  copyFileSync(resolve(import.meta.dirname, "support", "fake-claude.sh"), fakeClaude);
  chmodSync(fakeClaude, 0o755);
  project.provide("claudeCodeCommand", fakeClaude);
  const anthropic = await startScriptedAnthropic({ apiKey: TEST_ANTHROPIC_API_KEY });
  project.provide("anthropicUrl", anthropic.url);
  return async () => {
    await anthropic.close();
    await github.stop();
    await bridge.close();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    sandboxUrl: string;
    repoPath: string;
    masterRepoPath: string;
    sweBaseCommit: string;
    sweSideCommit: string;
    anthropicUrl: string;
    claudeCodeCommand: string;
    githubUrl: string;
    bridgeUrl: string;
  }
}
