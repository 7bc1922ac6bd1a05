import { describe, expect, it } from "vitest";
import { githubWebOrigin } from "../../src/github/client";
import { parseForkCommand, type ForkCommand } from "../../src/github/fork-command";
import { commentMarker, pullRequestPlan, rankForks, renderSummary, type ReportFork, type ReportSnapshot } from "../../src/github/report";
import { REDACTED, scrubSecret } from "../../src/observability/scrub";
import { pushTarget } from "../../src/github/targets";
import { verifyGitHubSignature } from "../../src/github/verify";
import { loadConfig, type Config, type Env } from "../../src/core/env";
import { decideTrigger } from "../../src/github/triggers";
import { findCommandLine } from "../../src/github/command-line";
import { parsePickCommand, parseReforkCommand } from "../../src/github/thread-commands";
import { renderReforkReply } from "../../src/webhooks/refork-reply";
import { renderPickReply } from "../../src/webhooks/pick-reply";
import { renderPullRequest } from "../../src/github/report";
import { fetchCommand, shellWord } from "../../src/runs/fetch-command";

function command(body: string): ForkCommand {
  const parsed = parseForkCommand(body);
  if (parsed.kind !== "command") throw new Error(`expected a command, got ${JSON.stringify(parsed)}`);
  return parsed.command;
}

function refusal(body: string): string {
  const parsed = parseForkCommand(body);
  if (parsed.kind !== "error") throw new Error(`expected an error, got ${JSON.stringify(parsed)}`);
  return parsed.reason;
}

describe("/fork comment parsing", () => {
  it("reads N and the prompt", () => {
    expect(command("/fork 3 fix the bug")).toEqual({ forks: 3, prompt: "fix the bug", ignored: [] });
  });

  it("defaults N to 1, and an empty prompt stays empty (the issue is the prompt)", () => {
    expect(command("/fork fix")).toMatchObject({ forks: 1, prompt: "fix" });
    expect(command("/fork")).toMatchObject({ forks: 1, prompt: "" });
    expect(command("/fork 4")).toMatchObject({ forks: 4, prompt: "" });
  });

  it("refuses N outside 1-100 with a reason, never clamps", () => {
    expect(refusal("/fork 0 x")).toMatch(/from 1 to 100 \(got "0"\)/);
    expect(refusal("/fork 101 x")).toMatch(/from 1 to 100 \(got "101"\)/);
    expect(refusal("/fork -2 x")).toMatch(/from 1 to 100/);
    expect(refusal("/fork 2.5 x")).toMatch(/whole number/);
    expect(command("/fork 100 x").forks).toBe(100);
  });

  it("parses flags anywhere, with quoted values (double, single, smart, backtick)", () => {
    expect(command('/fork 3 --model opus --budget 5 --max-concurrent 3 --check "npm test -- --runInBand" fix the flaky test')).toEqual({
      forks: 3,
      prompt: "fix the flaky test",
      model: "opus",
      budgetUsd: 5,
      maxConcurrent: 3,
      check: "npm test -- --runInBand",
      ignored: [],
    });
    expect(command("/fork 2 fix it --check 'make test' --budget=$2.50").check).toBe("make test");
    expect(command("/fork 2 fix it --budget=$2.50").budgetUsd).toBe(2.5);
    expect(command("/fork --check \u201cnpm run lint\u201d 2 tidy up")).toMatchObject({ check: "npm run lint", prompt: "tidy up", forks: 2 });
    expect(command("/fork 2 --check `go test ./...` speed it up").check).toBe("go test ./...");
    expect(command('/fork --check "say \\"hi\\"" x').check).toBe('say "hi"');
    expect(command("/fork 2 --timeout 30m --max-turns 12 --prs each x")).toMatchObject({ timeoutSeconds: 1800, maxTurns: 12, pullRequests: "each" });
  });

  it("ignores unknown flags with a reason, and `--` ends the flags", () => {
    const parsed = command("/fork 2 --frobnicate --model sonnet make it fast");
    expect(parsed).toMatchObject({ forks: 2, model: "sonnet", prompt: "make it fast" });
    expect(parsed.ignored).toEqual([{ flag: "--frobnicate", reason: expect.stringMatching(/^unknown flag/) }]);
    expect(command("/fork 2 -- remove the --verbose flag").prompt).toBe("remove the --verbose flag");
  });

  it("refuses bad values of known flags rather than running without them", () => {
    expect(refusal("/fork 2 --budget lots x")).toMatch(/--budget must be a number/);
    expect(refusal("/fork 2 --max-concurrent 0 x")).toMatch(/--max-concurrent/);
    expect(refusal("/fork 2 x --model")).toMatch(/--model needs a value/);
    expect(refusal('/fork 2 --check "npm test x')).toMatch(/unterminated quote/);
    expect(refusal("/fork 2 --prs all x")).toMatch(/none, each or best/);
  });

  it("keeps apostrophes and quotes of the prompt literally", () => {
    expect(command("/fork 2 don't break the 'main' build").prompt).toBe("don't break the 'main' build");
    expect(command('/fork 2 "fix the login bug"').prompt).toBe("fix the login bug");
  });

  it("needs /fork at the start of a line, outside code blocks and quotes", () => {
    expect(parseForkCommand("please /fork 3 x").kind).toBe("none");
    expect(parseForkCommand("> /fork 3 x").kind).toBe("none");
    expect(parseForkCommand("```\n/fork 3 x\n```").kind).toBe("none");
    expect(parseForkCommand("/forkyard 3 x").kind).toBe("none");
    expect(parseForkCommand("/forks 3 x").kind).toBe("none");
    expect(command("Thanks!\n  /fork 2 try again\r\nwith more context\n\nand a second paragraph")).toMatchObject({
      forks: 2,
      prompt: "try again\n\nwith more context\n\nand a second paragraph",
    });
  });
});

describe("trigger configuration", () => {
  const config = (vars: Record<string, string>) => loadConfig({ ...vars } as unknown as Env);
  it("parses GITHUB_TRIGGERS and GITHUB_TRIGGER_LABEL, refusing unknown triggers", () => {
    expect(config({}).GITHUB_TRIGGERS).toEqual(["label", "comment"]);
    expect(config({}).GITHUB_TRIGGER_LABEL).toBe("forkyard");
    expect(config({ GITHUB_TRIGGERS: " Comment " }).GITHUB_TRIGGERS).toEqual(["comment"]);
    expect(config({ GITHUB_TRIGGERS: "none" }).GITHUB_TRIGGERS).toEqual([]);
    expect(() => config({ GITHUB_TRIGGERS: "label,push" })).toThrow(/GITHUB_TRIGGERS/);
    expect(() => config({ GITHUB_API_URL: "ftp://x" })).toThrow(/GITHUB_API_URL/);
  });

  it("disabled triggers and other labels are ignored with the reason", async () => {
    const payload = { action: "labeled", label: { name: "AI-Fix" }, issue: { number: 1, state: "open", title: "t", body: "b" }, sender: { login: "u", type: "User" }, repository: { name: "app", owner: { login: "acme" }, clone_url: "https://github.com/acme/app.git", default_branch: "trunk" } };
    const caps = { GITHUB_MAX_FORKS: 5, GITHUB_MAX_BUDGET_USD: 10, GITHUB_COMMENT_CHECK: false };
    const roleOf = async () => "write";
    const decide = (triggers: ("label" | "comment")[], label: string) =>
      decideTrigger({ event: "issues", deliveryId: "d", payload, roleOf, config: { GITHUB_TRIGGERS: triggers, GITHUB_TRIGGER_LABEL: label, ...caps } });
    expect(await decide(["comment"], "ai-fix")).toEqual({ kind: "ignored", reason: "Label triggers are disabled (GITHUB_TRIGGERS)." });
    expect((await decide(["label"], "forkyard")).kind).toBe("ignored");
    expect(await decide(["label"], "ai-fix")).toMatchObject({
      kind: "run",
      trigger: "label",
      request: { repo: "https://github.com/acme/app.git", branch: "trunk", task: { prompt: "t\n\nb" }, forks: 1, budgetUsd: 10, push: true, github: { owner: "acme", repo: "app", issueNumber: 1 } },
    });
    const config = { GITHUB_TRIGGERS: ["label" as const], GITHUB_TRIGGER_LABEL: "x", ...caps };
    const bare = await decideTrigger({ event: "issues", deliveryId: "d", payload: { action: "labeled", label: { name: "x" } }, config });
    expect(bare).toMatchObject({ kind: "ignored", reason: expect.stringMatching(/lacks its repository/) });
    const opened = await decideTrigger({ event: "issues", deliveryId: "d", payload: { action: "opened" }, config });
    expect(opened).toMatchObject({ kind: "ignored", reason: expect.stringMatching(/issues.opened is not a trigger/) });
    // Without a token, nobody's permission can be checked: nothing starts.
    const unchecked = await decideTrigger({ event: "issues", deliveryId: "d", payload, config: { ...config, GITHUB_TRIGGER_LABEL: "ai-fix" } });
    expect(unchecked).toMatchObject({ kind: "ignored", reason: expect.stringMatching(/cannot be checked/) });
  });
});

describe("webhook signature (X-Hub-Signature-256)", () => {
  async function sign(secret: string, body: string): Promise<string> {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
    return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  it("accepts the right HMAC and nothing else", async () => {
    const body = '{"zen":"Keep it logically awesome."}';
    const good = await sign("s3cret", body);
    expect(await verifyGitHubSignature("s3cret", body, good)).toBe(true);
    expect(await verifyGitHubSignature("s3cret", body, good.toUpperCase().replace("SHA256", "sha256"))).toBe(true);
    expect(await verifyGitHubSignature("other", body, good)).toBe(false);
    expect(await verifyGitHubSignature("s3cret", `${body} `, good)).toBe(false);
    expect(await verifyGitHubSignature("s3cret", body, undefined)).toBe(false);
    expect(await verifyGitHubSignature("s3cret", body, "sha256=zz")).toBe(false);
    expect(await verifyGitHubSignature("s3cret", body, good.replace("sha256=", "sha1="))).toBe(false);
    expect(await verifyGitHubSignature("s3cret", "", await sign("s3cret", "x"))).toBe(false);
  });
});

describe("token scrubbing", () => {
  const token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
  it("removes the token, its URL-encoded and Basic forms, and pieces cut by a truncated tail", () => {
    expect(scrubSecret(`remote: saw ${token} twice ${token}`, token)).toBe(`remote: saw ${REDACTED} twice ${REDACTED}`);
    const basic = btoa(`x-access-token:${token}`);
    expect(scrubSecret(`Authorization: Basic ${basic}`, token)).toBe(`Authorization: Basic ${REDACTED}`);
    expect(scrubSecret(`[…truncated]\n${token.slice(10)} rest`, token)).toBe(`[…truncated]\n${REDACTED} rest`);
    expect(scrubSecret(`start ${token.slice(0, 20)}`, token)).toBe(`start ${REDACTED}`);
    expect(scrubSecret("nothing here", token)).toBe("nothing here");
  });
});

describe("push targets", () => {
  const config = (api?: string) => ({ GITHUB_API_URL: api }) as unknown as Config;
  it("offers the token only to the GitHub host of GITHUB_API_URL", () => {
    expect(githubWebOrigin("https://api.github.com")).toBe("https://github.com");
    expect(githubWebOrigin("https://ghe.example.com/api/v3")).toBe("https://ghe.example.com");
    expect(pushTarget("https://github.com/acme/app.git", config())).toEqual({ owner: "acme", repo: "app" });
    expect(() => pushTarget("https://gitlab.com/acme/app.git", config())).toThrow(/only repositories on https:\/\/github.com/);
    expect(() => pushTarget("https://github.com.evil.example/acme/app.git", config())).toThrow(/only repositories/);
    expect(() => pushTarget("/srv/repos/app", config())).toThrow(/a local path cannot/);
  });
});

describe("pull request ranking and the summary comment", () => {
  const fork = (n: number, extra: Partial<ReportFork>): ReportFork => ({
    n,
    status: "succeeded",
    branch: `forkyard/r1/${n}`,
    pushed: { branch: `forkyard/r1/${n}`, sha: "a".repeat(40) },
    costUsd: 0.01 * n,
    ...extra,
  });
  const forks = [
    fork(1, { check: { passed: false, exitCode: 1 }, diff: { files: 1, insertions: 1, deletions: 0 } }),
    fork(2, { check: { passed: true, exitCode: 0 }, diff: { files: 2, insertions: 10, deletions: 3 } }),
    fork(3, { check: { passed: true, exitCode: 0 }, diff: { files: 1, insertions: 4, deletions: 1 } }),
    fork(4, { status: "failed", pushed: undefined, error: { code: "command_failed" } }),
    fork(5, { pushed: undefined, diff: { files: 0, insertions: 0, deletions: 0 }, check: { passed: true, exitCode: 0 } }),
  ];
  const snapshot = (pullRequests: "none" | "each" | "best"): ReportSnapshot => ({
    runId: "rabc",
    status: "completed",
    baseBranch: "main",
    title: "Fix it",
    checkCommand: "npm test",
    github: { owner: "octo", repo: "hello", issueNumber: 7, pullRequests, comment: true },
    forks,
    totals: { succeeded: 4, failed: 1, cancelled: 0, budgetExceeded: 0, costUsd: 0.15 },
  });

  it("ranks pushed forks: passed check first, then the smaller diff", () => {
    expect(rankForks(forks).map((f) => f.n)).toEqual([3, 2, 1]);
    expect(pullRequestPlan(snapshot("best")).map((f) => f.n)).toEqual([3]);
    expect(pullRequestPlan(snapshot("each")).map((f) => f.n)).toEqual([1, 2, 3]);
    expect(pullRequestPlan(snapshot("none"))).toEqual([]);
  });

  it("renders one table row per fork with the marker, links and public error sentences", () => {
    const body = renderSummary(snapshot("best"), [{ n: 3, number: 12, url: "https://github.com/octo/hello/pull/12" }], "https://github.com");
    expect(body.startsWith(commentMarker("rabc"))).toBe(true);
    const rows = body.split("\n").filter((l) => /^\| \d/.test(l));
    expect(rows).toHaveLength(5);
    expect(rows[2]).toContain("| 3 ⭐ |");
    expect(rows[2]).toContain("[#12](https://github.com/octo/hello/pull/12)");
    expect(rows[2]).toContain("[`forkyard/r1/3`](https://github.com/octo/hello/tree/forkyard/r1/3)");
    expect(rows[0]).toContain("❌ failed (exit 1)");
    expect(rows[3]).toContain("`command_failed` a task command exited with an error");
    expect(rows[4]).toContain("nothing to push");
    expect(body).toContain("⭐ Best: fork 3 (check passed, 1 file +4 −1) → #12.");
    expect(body.split("\n").some((line) => /^\s{0,3}\/fork/.test(line))).toBe(false);
  });

  it("shows the fork a person picked, with its pull request, beside the best one", () => {
    const picked = { n: 2, at: "2026-01-01T00:00:00.000Z", pullRequest: { number: 13, url: "https://github.com/octo/hello/pull/13" }, by: "Codertocat" };
    const body = renderSummary({ ...snapshot("best"), picked }, [], "https://github.com");
    const rows = body.split("\n").filter((l) => /^\| \d/.test(l));
    expect(rows[1]).toMatch(/^\| 2 👉 \|/);
    expect(rows[2]).toMatch(/^\| 3 ⭐ \|/);
    expect(body).toContain("👉 Picked: fork 2 by Codertocat → [#13](https://github.com/octo/hello/pull/13).");
  });

  it("with the judge's scores: a Score column, and the score ranks before the diff size", () => {
    const scored = { ...snapshot("best"), forks: forks.map((f) => (f.n === 2 ? { ...f, score: 9 } : f.n === 3 ? { ...f, score: 5 } : f)) };
    expect(rankForks(scored.forks).map((f) => f.n)).toEqual([2, 3, 1]);
    const body = renderSummary(scored, [], "https://github.com");
    expect(body).toContain("| Fork | Status | Check | Score | Diff | Cost | Branch / PR |");
    const rows = body.split("\n").filter((l) => /^\| \d/.test(l));
    expect(rows[1]).toMatch(/^\| 2 ⭐ \| .* \| 9\/10 \|/);
    expect(rows[0]).toContain("| — |");
    expect(body).toContain("⭐ Best: fork 2 (check passed, score 9/10, 2 files +10 −3).");
  });
});

describe("/pick comment parsing, and the reply", () => {
  it("reads the fork number; the first command line of a comment wins, /fork or /pick", () => {
    expect(parsePickCommand("/pick 2")).toEqual({ kind: "command", fork: 2 });
    expect(parsePickCommand("Looks best to me.\n  /PICK #3 the smallest diff")).toEqual({ kind: "command", fork: 3 });
    expect(parsePickCommand("/pick")).toEqual({ kind: "error", reason: "/pick needs the number of the fork to take, e.g. /pick 2" });
    for (const bad of ["0", "101", "2.5", "two", "-1"]) expect(parsePickCommand(`/pick ${bad}`), bad).toMatchObject({ kind: "error", reason: expect.stringContaining(`(got "${bad}")`) });
    for (const none of ["please /pick 2", "> /pick 2", "```\n/pick 2\n```", "/picker 2"]) expect(parsePickCommand(none).kind, none).toBe("none");
    expect(findCommandLine("/pick 2\n/fork 3 x")?.name).toBe("pick");
    expect(findCommandLine("```\n/pick 2\n```\n/fork 3 x")).toEqual({ name: "fork", rest: " 3 x", following: "" });
  });

  it("replies with the pull request and the fetch command, or with why, on one line, under its own marker", () => {
    const pick = { owner: "octo", repo: "hello", issueNumber: 7, fork: 2, login: "Codertocat", commentId: 99 };
    const picked = { n: 2, branch: "forkyard/rabc/2", fetch: "git fetch https://github.com/octo/hello.git forkyard/rabc/2:forkyard/rabc/2", pullRequest: { number: 12, url: "https://github.com/octo/hello/pull/12" } };
    const ok = renderPickReply(pick, { runId: "rabc", done: picked });
    expect(ok).toContain("<!-- forkyard:pick:99 -->");
    expect(ok).toContain("👉 Picked fork **2** of Forkyard run `rabc`: pull request [#12](https://github.com/octo/hello/pull/12).");
    expect(ok).toContain("```sh\ngit fetch https://github.com/octo/hello.git forkyard/rabc/2:forkyard/rabc/2\n```");
    const refused = renderPickReply(pick, { runId: "rabc", error: { code: "x", message: "Fork 2 failed\n/fork 9 <b>" } });
    expect(refused.split("\n")).toEqual(["<!-- forkyard:pick:99 -->", "⚠️ Could not pick fork 2 of Forkyard run `rabc`: Fork 2 failed /fork 9 &lt;b>"]);
  });

  it("/refork reads the fork number and the prompt (the rest of the line and the lines after it); its reply names the new fork, or why not", () => {
    expect(parseReforkCommand("/refork 2")).toEqual({ kind: "command", fork: 2 });
    expect(parseReforkCommand("Hmm.\n/refork #3 use a parser instead\nand keep the tests")).toEqual({ kind: "command", fork: 3, prompt: "use a parser instead\n\nand keep the tests" });
    expect(parseReforkCommand("/refork")).toEqual({ kind: "error", reason: "/refork needs the number of the fork to branch, e.g. /refork 2" });
    expect(parseReforkCommand("/refork two please")).toMatchObject({ kind: "error", reason: expect.stringContaining('(got "two")') });
    expect(findCommandLine("/refork 1 x\n/pick 2")?.name).toBe("refork");
    const refork = { owner: "octo", repo: "hello", issueNumber: 7, fork: 2, login: "Codertocat", commentId: 98, prompt: "try again" };
    const ok = renderReforkReply(refork, { runId: "rabc", done: { runId: "rabc", forks: [4] } });
    expect(ok.split("\n")[0]).toBe("<!-- forkyard:refork:98 -->");
    expect(ok).toContain("🌿 Fork **4** of Forkyard run `rabc` branches from fork 2 at its next step (its workspace and conversation so far), continuing with your prompt.");
    const refused = renderReforkReply(refork, { runId: "rabc", error: { code: "fork_ended", message: "Fork 2 ended\n/fork 9" } });
    expect(refused.split("\n")).toEqual(["<!-- forkyard:refork:98 -->", "⚠️ Could not branch fork 2 of Forkyard run `rabc`: Fork 2 ended /fork 9"]);
  });

  it("a picked fork's pull request names the fork; a run without an issue gets no issue reference", () => {
    const fork = { n: 2, status: "succeeded" as const, branch: "forkyard/rabc/2", costUsd: 0.01, diff: { files: 1, insertions: 2, deletions: 0 } };
    const base = { runId: "rabc", status: "completed" as const, baseBranch: "main", title: "Fix it", forks: [fork], totals: { succeeded: 1, failed: 0, cancelled: 0, budgetExceeded: 0, costUsd: 0.01 } };
    const plain = renderPullRequest(base, fork, false, true);
    expect(plain.title).toBe("Forkyard: Fix it (fork 2)");
    expect(plain.body).toContain("Fork **2** of 1 of Forkyard run `rabc` (picked).");
    expect(plain.body).not.toContain("Refs");
    const onIssue = renderPullRequest({ ...base, github: { owner: "octo", repo: "hello", issueNumber: 7, pullRequests: "best", comment: true } }, fork, false, true);
    expect(onIssue.title).toBe("Forkyard #7: Fix it (fork 2)");
    expect(onIssue.body).toContain("Refs #7");
  });
});

describe("the fetch command of a pick", () => {
  it("fetches a pushed branch as is; else rebuilds it from the patch (token from the environment); every value one shell word", () => {
    const input = { repo: "https://github.com/octo/hello.git", branch: "forkyard/rabc/2", baseBranch: "main", patchUrl: "https://fy.example/v1/runs/rabc/forks/2/patch", message: "forkyard: run rabc fork 2" };
    expect(fetchCommand({ ...input, pushed: true })).toBe("git fetch https://github.com/octo/hello.git forkyard/rabc/2:forkyard/rabc/2");
    expect(fetchCommand({ ...input, pushed: false })).toBe(
      "git fetch https://github.com/octo/hello.git main && git switch -c forkyard/rabc/2 FETCH_HEAD && " +
        'curl -fsSL -H "Authorization: Bearer ${FORKYARD_TOKEN:?set FORKYARD_TOKEN to a Forkyard API token}" https://fy.example/v1/runs/rabc/forks/2/patch | git apply --3way && ' +
        "git commit -qm 'forkyard: run rabc fork 2'",
    );
    // A run at a commit: the branch starts there (the patch is against it), not at the fetched head.
    expect(fetchCommand({ ...input, pushed: false, baseCommit: "c".repeat(40) })).toContain(`git switch -c forkyard/rabc/2 ${"c".repeat(40)} && `);
    expect(shellWord("/srv/my repos/it's")).toBe(`'/srv/my repos/it'\\''s'`);
    expect(shellWord("$(rm -rf ~)")).toBe("'$(rm -rf ~)'");
  });
});
