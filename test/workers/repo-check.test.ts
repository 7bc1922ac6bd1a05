/**
 * A first run that works: a local repo no sandbox could clone is refused at POST (400, naming the
 * fix), not accepted and then failed in every fork; without a branch, a run starts from the
 * repository's default branch (its HEAD), not from an assumed `main`.
 */
import { describe, expect, it } from "vitest";
import { api, createRun, testEnv, waitForRunStatus } from "./helpers";

interface ErrorBody {
  error: { code: string; message: string; details?: { field?: string; reason?: string } };
}

async function postRun(repo: string): Promise<{ status: number; body: ErrorBody }> {
  const res = await api("/v1/runs", { method: "POST", json: { repo, task: { commands: ["true"] } } });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

describe("local repos are checked at POST", () => {
  it.each([
    ["a path that does not exist", () => `${testEnv.TEST_REPO}-invented`, "not_found", /does not exist/],
    ["a folder sandboxes cannot see", () => "/root", "not_visible", /SANDBOX_EXPOSE_PATHS/],
    ["a folder that is not a git repository", () => `${testEnv.TEST_REPO}/.git/refs`, "not_a_repository", /not a git repository/],
  ])("refuses %s with 400 on the repo field", async (_what, repo, reason, message) => {
    const res = await postRun(repo());
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_input");
    expect(res.body.error.details).toMatchObject({ field: "repo", reason });
    expect(res.body.error.message).toMatch(message);
  });

  it("refuses the same for a session", async () => {
    const res = await api("/v1/sessions", { method: "POST", json: { repo: "/root" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.details).toMatchObject({ field: "repo", reason: "not_visible" });
  });
});

describe("the default branch", () => {
  it("is the repository's HEAD: a `master` repository's run forks from master and completes", async () => {
    const { id } = await createRun({ repo: testEnv.TEST_MASTER_REPO as string, forks: 1, task: { commands: ["git log --oneline -1"] } });
    const run = await waitForRunStatus(id, ["completed", "failed", "cancelled"]);
    expect(run.request.branch).toBe("master");
    expect(run.status).toBe("completed");
    expect(run.forks[0]!.status).toBe("succeeded");
    // Forking from an assumed `main` failed at the clone: "Remote branch main not found".
    expect(run.forks[0]!.commands[0]!.stdoutTail).toContain("initial");
  });

  it("is the branch given when there is one", async () => {
    const { id } = await createRun({ branch: "main", forks: 1, task: { commands: ["true"] } });
    const run = await waitForRunStatus(id, ["completed", "failed", "cancelled"]);
    expect(run.request.branch).toBe("main");
  });
});
