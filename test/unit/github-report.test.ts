// The GitHub summary comment and the pull request plan (src/github/report.ts): a public comment
// never carries an error's own text, and `pullRequests: "best"` opens nothing when no fork passed
// the run's check.
import { describe, expect, it } from "vitest";
import type { RunView } from "../../src/api/runs";
import { pullRequestPlan, renderSummary, reportSnapshot, type ReportSnapshot } from "../../src/github/report";
import { ERROR_DETAILS_NOTE } from "../../src/github/public-errors";

const RAW = "Error: connect ECONNREFUSED 10.0.0.5:5432 at Object.<anonymous> (/srv/worker.js:3:9) token=ghp_abc";

/** A run view with only what the report reads. */
function view(forks: Partial<RunView["forks"][number]>[], check?: string): RunView {
  return {
    id: "rabc",
    status: "completed",
    request: { task: { prompt: "Fix the pager" }, branch: "main", github: { owner: "octo", repo: "hello", issueNumber: 7, pullRequests: "best", comment: true }, ...(check ? { check } : {}) },
    forks: forks.map((f, i) => ({ n: i + 1, status: "succeeded", branch: `forkyard/rabc/${i + 1}`, costUsd: { total: 0.01 }, ...f })),
    totals: { succeeded: 1, failed: 1, cancelled: 0, budgetExceeded: 0, costUsd: { total: 0.02 } },
  } as unknown as RunView;
}

const pushed = (n: number) => ({ pushed: { branch: `forkyard/rabc/${n}`, sha: "a".repeat(40) } });

describe("the summary comment's errors", () => {
  it("shows each failed fork's code and a fixed public sentence, never the error's message; a failed pull request without its text", () => {
    const snapshot = reportSnapshot(
      view([
        { status: "failed", error: { code: "internal_error", message: RAW } },
        { status: "failed", error: { code: "command_failed", message: `Command exited with code 2: ${RAW}` } },
        { ...pushed(3), check: { passed: true, exitCode: 0 }, diff: { files: 1, insertions: 1, deletions: 0 } } as never,
      ]),
    );
    const body = renderSummary(snapshot, [{ n: 3, error: `GitHub opening a pull request failed (422): ${RAW}` }], "https://github.com");
    for (const leak of ["ECONNREFUSED", "10.0.0.5", "/srv/worker.js", "ghp_abc", "Command exited"]) expect(body).not.toContain(leak);
    const rows = body.split("\n").filter((l) => /^\| \d/.test(l));
    expect(rows[0]).toContain("❌ failed: `internal_error` Forkyard hit an internal error |");
    expect(rows[1]).toContain("❌ failed: `command_failed` a task command exited with an error |");
    expect(rows[2]).toContain("pull request not opened");
    expect(body).toContain(ERROR_DETAILS_NOTE);
    // The raw message is not even in the report's snapshot (a step result): it stays in the API.
    expect(JSON.stringify(snapshot)).not.toContain("ECONNREFUSED");
  });
});

describe('pullRequests: "best"', () => {
  const failedCheck = (n: number, files: number) => ({ ...pushed(n), check: { passed: false, exitCode: 1 }, diff: { files, insertions: files, deletions: 0 } });

  it("opens nothing when no pushed fork passed the run's check, and says so", () => {
    const snapshot: ReportSnapshot = reportSnapshot(view([failedCheck(1, 1), failedCheck(2, 5)] as never, "npm test"));
    expect(pullRequestPlan(snapshot)).toEqual([]);
    const body = renderSummary(snapshot, [], "https://github.com");
    expect(body).toContain("No pushed fork passed the check: no pull request was opened");
    expect(body).not.toContain("⭐");
  });

  it("opens the one that passed when one did; without a check, the best pushed fork (the smallest diff)", () => {
    const withPass = reportSnapshot(view([failedCheck(1, 1), { ...pushed(2), check: { passed: true, exitCode: 0 }, diff: { files: 9, insertions: 9, deletions: 0 } }] as never, "npm test"));
    expect(pullRequestPlan(withPass).map((f) => f.n)).toEqual([2]);
    const noCheck = reportSnapshot(view([{ ...pushed(1), diff: { files: 3, insertions: 3, deletions: 0 } }, { ...pushed(2), diff: { files: 1, insertions: 1, deletions: 0 } }] as never));
    expect(pullRequestPlan(noCheck).map((f) => f.n)).toEqual([2]);
    expect(renderSummary(noCheck, [], "https://github.com")).toContain("⭐ Best: fork 2 (no check");
  });

  it("a run judged with a tournament opens the tournament's pick, as the run's ranking takes it", () => {
    const passed = (n: number, score: number) => ({ ...pushed(n), check: { passed: true, exitCode: 0 }, diff: { files: 1, insertions: n, deletions: 0 }, score });
    const judged = view([passed(1, 9), passed(2, 6)] as never, "npm test");
    judged.judging = { status: "done", model: "m", scores: [{ n: 1, score: 9, reason: "" }, { n: 2, score: 6, reason: "" }] };
    expect(pullRequestPlan(reportSnapshot(judged)).map((f) => f.n)).toEqual([1]);
    judged.judging.tournament = { format: "round_robin", matches: [], standings: [], order: [2, 1], calls: 2 };
    expect(pullRequestPlan(reportSnapshot(judged)).map((f) => f.n)).toEqual([2]);
  });
});
