// A fork is hostile code: what ranks it (check, diff, patch) comes from a fresh sandbox that got
// only its files (exported by the files API), rebuilt with a clean git. Its dotfiles, PATH, fake
// tools and .git configuration play no part; the check's own output is kept.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forkView } from "../../src/api/responses";
import { api, createRun, getRun, sandboxAdmin, testEnv, waitFor, waitForRunStatus } from "./helpers";
import { github, githubUrl } from "./github-helpers";
import { plantRun, workerEnv } from "./planted-run";
import type { ForkParams } from "../../src/protocol/fork-params";
import { forkInstanceId, forkLeaseKey } from "../../src/protocol/run-ids";
import { STEP } from "../../src/workflows/steps";

/** A fork that hides a file from its own git (info/exclude), plants a core.fsmonitor hook, an external diff and a fake git on PATH. */
const HIDE_AND_FAKE = [
  "seq 1 3 > real.txt && echo secret-work > hidden.txt",
  "echo hidden.txt >> .git/info/exclude",
  `printf '#!/bin/sh\\necho pwned > /tmp/fsmonitor-ran\\n' > .git/fsmon.sh && chmod +x .git/fsmon.sh && git config core.fsmonitor "$PWD/.git/fsmon.sh"`,
  "git config diff.external /bin/true",
  "mkdir -p ~/bin && printf '#!/bin/sh\\nexit 0\\n' > ~/bin/git && chmod +x ~/bin/git",
  "printf 'export PATH=$HOME/bin:$PATH\\n' >> ~/.bash_profile; printf 'export PATH=$HOME/bin:$PATH\\n' >> ~/.bashrc",
].join(" && ");

const PLANT_SHELL = "printf 'test() { return 0; }\\n' >> ~/.bash_profile; printf 'test() { return 0; }\\n' >> ~/.bashrc";

async function fork(runId: string, n: number) {
  const res = await api(`/v1/runs/${runId}/forks/${n}`);
  expect(res.status).toBe(200);
  return forkView.parse(await res.json());
}

describe("verification: ranking inputs come from a fresh sandbox", () => {
  it("a fork that redefines `test` in its dotfiles fails its check; the fork that did the work wins", async () => {
    const run = await createRun({
      forks: 3,
      maxConcurrent: 3,
      task: { commands: [`case "$FORKYARD_FORK" in 1) ${PLANT_SHELL} ;; 2) echo ok > ok.txt ;; *) echo "$FORKYARD_FORK" > mark.txt ;; esac`] },
      check: "test -f ok.txt",
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(view.forks.map((f) => f.check?.passed)).toEqual([false, true, false]);
    expect(view.forks[0]!.diff).toEqual({ files: 0, insertions: 0, deletions: 0 });
    expect(view.winner).toBe(2);
    // The verification sandboxes went through the Pool and were released; their time is the forks' verification cost.
    const one = await fork(run.id, 2);
    expect(one.check).toMatchObject({ command: "test -f ok.txt", exitCode: 0, passed: true, verified: true });
    expect(one.costUsd.verification).toBeGreaterThan(0);
    expect(one.costUsd.total).toBeCloseTo(one.costUsd.sandbox + one.costUsd.llm + one.costUsd.verification!, 6);
    expect(one.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["verify-acquire-sandbox", "verify-base", "verify-export", "verify-build", "verify-check", "verify-release"]));
    expect(one.steps.map((s) => s.name)).not.toContain("collect");
    await waitFor("every sandbox released", async () => (await sandboxAdmin.stats()).live === 0, 15_000);
    // The staged trees were removed once verified.
    const staged = await (env as unknown as { ARTIFACTS: R2Bucket }).ARTIFACTS.list({ prefix: `runs/${run.id}/` });
    expect(staged.objects.map((o) => o.key).filter((k) => k.includes("/verify/"))).toEqual([]);
    expect(staged.objects.map((o) => o.key)).toContain(`runs/${run.id}/2/patch.diff`);
  });

  it("a fake git on PATH, a core.fsmonitor hook and an info/exclude entry change nothing: the diff and patch are the real ones", async () => {
    const setup = HIDE_AND_FAKE;
    const run = await createRun({ forks: 1, task: { commands: [setup] }, check: "cat hidden.txt && test -f real.txt" });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const f = view.forks[0]!;
    expect(f.status).toBe("succeeded");
    expect(f.diff).toEqual({ files: 2, insertions: 4, deletions: 0 });
    expect(f.check).toMatchObject({ passed: true, verified: true });
    const patch = await api(`/v1/runs/${run.id}/forks/1/patch`);
    expect(patch.status).toBe(200);
    const text = await patch.text();
    expect(text).toContain("diff --git a/hidden.txt b/hidden.txt");
    expect(text).toContain("+secret-work");
    expect(text).toContain("diff --git a/real.txt b/real.txt");
    expect(text).not.toContain(".git/");
  });

  it("the same fork pushed to GitHub: the pushed commit is the real one, the hidden file included", async () => {
    await github.reset();
    const run = await createRun({ repo: `${githubUrl}/octo/hello.git`, forks: 1, task: { commands: [HIDE_AND_FAKE] }, push: true });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const f = view.forks[0]!;
    expect(f.status).toBe("succeeded");
    expect(f.diff).toEqual({ files: 2, insertions: 4, deletions: 0 });
    expect(f.pushed?.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await github.show(f.pushed!.branch, "hidden.txt")).toBe("secret-work\n");
    expect(await github.show(f.pushed!.branch, "real.txt")).toBe("1\n2\n3\n");
    expect(await github.show(f.pushed!.branch, ".git/fsmon.sh")).toBeNull();
  });

  it("keeps the check's output (stdout and stderr tails, exit code, duration) in GET …/forks/:n", async () => {
    const run = await createRun({ forks: 1, task: { commands: ["echo hi > a.txt"] }, check: "echo check-says-out; echo check-says-err >&2; exit 3" });
    await waitForRunStatus(run.id, ["completed", "failed"]);
    const f = await fork(run.id, 1);
    expect(f.check).toMatchObject({ exitCode: 3, passed: false, verified: true });
    expect(f.check!.stdoutTail).toContain("check-says-out");
    expect(f.check!.stderrTail).toContain("check-says-err");
    expect(f.check!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("protectedPaths: the fork's edits, additions and deletions there are dropped from its commit, patch and check", async () => {
    const run = await createRun({
      forks: 1,
      task: { commands: ["mkdir -p tests && echo 'exit 0' > tests/cheat.sh && echo 99 > counter.txt && rm README.md && echo work > work.txt"] },
      check: "test ! -e tests/cheat.sh && test -f README.md && grep -qx 0 counter.txt && test -f work.txt",
      protectedPaths: ["tests/**", "counter.txt", "README.md"],
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const f = view.forks[0]!;
    expect(f.check).toMatchObject({ passed: true });
    expect(f.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    const text = await (await api(`/v1/runs/${run.id}/forks/1/patch`)).text();
    expect(text).toContain("b/work.txt");
    expect(text).not.toMatch(/cheat|counter|README/);
  });

  it("a prepared run: the check uses the verification sandbox's own prepare outputs, not the fork's edited copies", async () => {
    const run = await createRun({
      forks: 1,
      prepare: { commands: ["mkdir -p deps && printf 'exit 1\\n' > deps/gate.sh"] },
      task: { commands: ["printf 'exit 0\\n' > deps/gate.sh && sh deps/gate.sh"] },
      check: "sh deps/gate.sh",
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const f = view.forks[0]!;
    expect(f.status).toBe("succeeded");
    expect(f.check).toMatchObject({ passed: false, exitCode: 1, verified: true });
    expect(f.diff).toEqual({ files: 0, insertions: 0, deletions: 0 });
    expect(f.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["verify-base", "verify-lay"]));
  });

  it("an instance launched before verification (no `verify` in its params) keeps its recorded steps: check and collect in its own sandbox", async () => {
    const body = { repo: testEnv.TEST_REPO, task: { commands: ["echo old > old.txt"] }, check: "test -f old.txt" };
    const { id } = await plantRun(body, { idempotencyKey: null, launched: [1] });
    const run = await getRun(id);
    const params: ForkParams = {
      runId: id,
      n: 1,
      forks: 1,
      repo: run.request.repo,
      baseBranch: run.request.branch,
      workBranch: run.forks[0]!.branch,
      task: run.request.task,
      timeoutSeconds: run.request.timeoutSeconds,
      template: run.sandbox.templateId,
      check: "test -f old.txt",
      leaseKey: forkLeaseKey(id, 1),
    };
    await workerEnv.FORK_WORKFLOW.create({ id: forkInstanceId(id, 1, 1), params });
    const view = await waitForRunStatus(id, ["completed", "failed"]);
    const f = view.forks[0]!;
    expect(f.status).toBe("succeeded");
    expect(f.check).toMatchObject({ passed: true });
    expect(f.check?.verified).toBeUndefined();
    expect(f.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    const names = f.steps.map((st) => st.name);
    expect(names).toEqual(expect.arrayContaining([STEP.check, STEP.collect, STEP.releaseSandbox]));
    expect(names.filter((n) => n.startsWith("verify-"))).toEqual([]);
  });
});
