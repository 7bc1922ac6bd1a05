// A run at a given commit (`commit`): every fork's work starts there — the prepare, the forks, their
// verification — and its patch is against it, though the branch has moved on; a commit the branch
// does not have fails the forks with `commit_not_found`.
import { Sandbox } from "e2b";
import { beforeEach, describe, expect, it } from "vitest";
import { api, createRun, e2bOptions, sandboxAdmin, scriptedModel, testEnv, waitFor, waitForRunStatus } from "./helpers";
import { bash, getSession, say, send, setScript, transcript, turnEnded, waitForSession } from "./session-helpers";

/** The `calc` repository (test/support/eval-repos.ts): its base commit has `(v1)` and no NEWS.md; the head of `main` has both changed. */
const CALC = testEnv.TEST_REPO.replace(/\/repo$/, "/evals/calc");
const BASE = testEnv.TEST_SWE_BASE as string;

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("runs at a commit", () => {
  it("the prepare and every fork see the commit's tree, the check runs on it, and the patch is against it", async () => {
    const run = await createRun({
      repo: CALC,
      branch: "main",
      commit: BASE,
      forks: 2,
      maxConcurrent: 2,
      prepare: { commands: ["test ! -e NEWS.md && grep -q '(v1)' calc.sh"] },
      task: { commands: ["test ! -e NEWS.md && grep -q '(v1)' calc.sh && git rev-parse HEAD", "git rev-parse main && git log --all --format=%s && git reflog --all && git tag", "sed -i '3s/-/+/' calc.sh"] },
      check: 'test ! -e NEWS.md && . ./calc.sh && test "$(add 2 3)" = 5',
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.request.commit).toBe(BASE);
    expect(view.prepared).toMatchObject({ baseSha: BASE });
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
    for (const fork of view.forks) {
      expect(fork.commands[0]!.stdoutTail.trim()).toBe(BASE);
      // The branch's later history is out of sight: no ref, tag or reflog reaches it; the base branch is at the commit.
      const history = fork.commands[1]!.stdoutTail;
      expect(history.split("\n")[0]).toBe(BASE);
      expect(history).toContain("calc v1");
      expect(history).not.toContain("calc v2");
      expect(fork.check?.passed).toBe(true);
      expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 1 });
    }
    const patch = await (await api(`/v1/runs/${run.id}/forks/1/patch`)).text();
    // The base's header line is the hunk's context: the patch applies at the commit, not at the head.
    expect(patch).toContain(" # calc.sh: arithmetic helpers (v1)\n-add() { echo $(($1 - $2)); }\n+add() { echo $(($1 + $2)); }");
  });

  it("a commit the branch does not have fails every fork with commit_not_found, prepared or not", async () => {
    const missing = "0123456789abcdef0123456789abcdef01234567";
    // A commit of another branch: in the repository (a local clone even copies its objects), not on `main`.
    const side = await createRun({ repo: CALC, branch: "main", commit: testEnv.TEST_SWE_SIDE as string, forks: 1, task: { commands: ["true"] } });
    const plain = await createRun({ repo: CALC, commit: missing, forks: 1, task: { commands: ["true"] } });
    const prepared = await createRun({ repo: CALC, commit: missing, forks: 2, prepare: { commands: ["true"] }, task: { commands: ["true"] } });
    const plainView = await waitForRunStatus(plain.id, ["completed", "failed"]);
    expect(plainView.forks[0]!.error).toMatchObject({ code: "commit_not_found", message: expect.stringContaining(missing) });
    expect((await waitForRunStatus(side.id, ["completed", "failed"])).forks[0]!.error?.code).toBe("commit_not_found");
    const preparedView = await waitForRunStatus(prepared.id, ["completed", "failed"]);
    expect(preparedView.prepared).toMatchObject({ status: "failed", error: { code: "commit_not_found" } });
    expect(preparedView.forks.map((f) => f.error?.code)).toEqual(["commit_not_found", "commit_not_found"]);
    // An abbreviated SHA is refused when the run is created.
    const short = await api("/v1/runs", { method: "POST", json: { repo: CALC, commit: BASE.slice(0, 7), task: { commands: ["true"] } } });
    expect(short.status).toBe(400);
    expect(((await short.json()) as { error: { details: { field: string } } }).error.details.field).toBe("commit");
  });

  it("a session continuing a kept fork: its lost sandbox is rebuilt at the commit, and its work is against it", async () => {
    const run = await createRun({ repo: CALC, commit: BASE, keepSandboxes: true, task: { commands: ["sed -i '3s/-/+/' calc.sh"] } });
    expect((await waitForRunStatus(run.id, ["completed", "failed"])).forks[0]?.status).toBe("succeeded");
    const res = await api(`/v1/runs/${run.id}/forks/1/session`, { method: "POST" });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await Sandbox.kill((await getSession(id)).sandbox.id!, e2bOptions());

    await setScript([bash("git rev-parse main && grep -c '(v1)' calc.sh && grep -c '$1 + $2' calc.sh && git log --all --format=%s"), say("At the commit.")]);
    await send(id, "Where are we?");
    const view = await waitForSession(id, "turn 1", turnEnded(1));
    expect(view.turns[0], JSON.stringify(view)).toMatchObject({ status: "succeeded" });
    const outputs = (await transcript(id)).flatMap((e) => (e.role === "tool" ? [e.content] : []));
    expect(outputs.at(-1)).toBe(`${BASE}\n1\n1\ncalc v1\n[exit code: 0]`);
    // Its work (taken when it pauses) is the fork's change against the commit.
    const patch = await waitFor("the session's work", async () => {
      const r = await api(`/v1/sessions/${id}/patch`);
      return r.status === 200 ? r.text() : undefined;
    });
    expect(patch).toContain(" # calc.sh: arithmetic helpers (v1)\n-add() { echo $(($1 - $2)); }\n+add() { echo $(($1 + $2)); }");
    expect((await api(`/v1/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
  });
});
