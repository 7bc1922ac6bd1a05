import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { RunView } from "../../src/api/runs";
import { launchGitHubReport, reportInstanceId } from "../../src/workflows/github-report-workflow";
import type { Env } from "../../src/env";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { TEST_GITHUB_TOKEN } from "../support/constants";
import { api, createRun, sandboxAdmin, waitFor, waitForRunStatus } from "./helpers";
import { deliver, example, github, githubUrl, issueComments, onTestRepo, waitForReport } from "./github-helpers";

const workerEnv = env as unknown as Env & { ANTHROPIC_BASE_URL: string };

async function scripted(path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${workerEnv.ANTHROPIC_BASE_URL}${path}`, { method: path === "/__calls" ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

const repoUrl = (name = "hello") => `${githubUrl}/octo/${name}.git`;

/** Everything a run exposes: its view and its whole event log. */
async function exposed(runId: string): Promise<string> {
  const view = await (await api(`/v1/runs/${runId}`)).text();
  const events = await (await api(`/v1/runs/${runId}/events`)).text();
  return `${view}\n${events}`;
}

async function waitForInstance(id: string): Promise<InstanceStatus> {
  const instance = await workerEnv.GITHUB_REPORT_WORKFLOW.get(id);
  return waitFor(`report instance ${id}`, async () => {
    const status = await instance.status();
    return status.status === "complete" || status.status === "errored" ? status : undefined;
  });
}

beforeEach(async () => {
  await github.reset();
  await scripted("/__reset");
  await sandboxAdmin.reset();
});

describe("GitHub runs: push, pull requests, summary comment", () => {
  it("pushes every fork's branch, opens a PR for the best fork only, comments once (and a re-run updates it)", async () => {
    const issue = 41;
    // Fork n writes n lines; fork 1's check fails. Best = fork 2 (check passed, smaller diff than fork 3).
    const run = await createRun({
      repo: repoUrl(),
      forks: 3,
      maxConcurrent: 3,
      task: { commands: ['for i in $(seq "$FORKYARD_FORK"); do echo "line $i" >> "fork-$FORKYARD_FORK.txt"; done'] },
      check: 'test "$FORKYARD_FORK" != 1',
      push: true,
      github: { owner: "octo", repo: "hello", issueNumber: issue },
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.request.github).toEqual({ owner: "octo", repo: "hello", issueNumber: issue, pullRequests: "best", comment: true });

    // Every fork pushed its branch: the bare repo has it at the reported commit, with the fork's file.
    const refs = await github.refs();
    for (const fork of view.forks) {
      expect(fork.status).toBe("succeeded");
      expect(fork.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["collect", "push", "release-sandbox"]));
      const names = fork.steps.map((s) => s.name);
      expect(names.indexOf("push")).toBeGreaterThan(names.indexOf("collect"));
      expect(names.indexOf("push")).toBeLessThan(names.indexOf("release-sandbox"));
      expect(fork.pushed).toEqual({ branch: `forkyard/${run.id}/${fork.n}`, sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
      expect(refs[`refs/heads/${fork.pushed!.branch}`]).toBe(fork.pushed!.sha);
      expect(await github.show(fork.pushed!.branch, `fork-${fork.n}.txt`)).toBe(Array.from({ length: fork.n }, (_, i) => `line ${i + 1}\n`).join(""));
    }

    // git pushed with the token only through its credential helper: asked (401), then Basic auth that matched.
    const calls = await github.calls();
    const pushes = calls.filter((c) => c.kind === "git" && c.service === "git-receive-pack");
    expect(pushes.filter((c) => c.method === "POST")).toHaveLength(3);
    expect(pushes.filter((c) => c.method === "POST").every((c) => c.authMatched === true)).toBe(true);
    expect(pushes.some((c) => c.status === 401 && c.authMatched === null)).toBe(true);

    const comment = await waitForReport(run.id, issue);
    const pulls = (await github.state()).pulls;
    expect(pulls).toHaveLength(1);
    const pr = pulls[0]!;
    expect(pr).toMatchObject({ head: { ref: `forkyard/${run.id}/2`, sha: view.forks[1]!.pushed!.sha }, base: { ref: "main" }, state: "open" });
    expect(pr.title).toMatch(/^Forkyard #41: for i in/);
    expect(pr.body).toContain(`Fork **2** of 3 of Forkyard run \`${run.id}\`, for #41 (the best fork: check passed, 1 file +2 −0)`);
    expect(pr.body).toContain("Refs #41");

    const rows = comment.body.split("\n").filter((l) => /^\| \d/.test(l));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^\| 1 \| ✅ succeeded \| ❌ failed \(exit 1\) \| 1 file \+1 −0 \| \$0\.\d{4} \| \[`forkyard\/r\w+\/1`\]/);
    expect(rows[1]).toContain(`| 2 ⭐ | ✅ succeeded | ✅ passed | 1 file +2 −0 |`);
    expect(rows[1]).toContain(`[#${pr.number}](${pr.html_url})`);
    expect(rows[1]).toContain(`(${githubUrl}/octo/hello/tree/forkyard/${run.id}/2)`);
    expect(comment.body).toContain(`### Forkyard run \`${run.id}\`: completed`);

    // The REST calls: authenticated, and in order: look for the PR, open it, look for the comment, post it.
    const rest = (await github.calls()).filter((c) => c.kind === "api");
    expect(rest.every((c) => c.authMatched === true)).toBe(true);
    expect(rest.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /api/v3/repos/octo/hello/pulls",
      "POST /api/v3/repos/octo/hello/pulls",
      `GET /api/v3/repos/octo/hello/issues/${issue}/comments`,
      `POST /api/v3/repos/octo/hello/issues/${issue}/comments`,
    ]);
    expect(rest[0]!.query).toMatchObject({ head: `octo:forkyard/${run.id}/2`, state: "all" });

    // The report runs once per run: launching it again is a no-op; a re-run (new instance) updates.
    await launchGitHubReport(workerEnv, run.id);
    expect((await waitForInstance(reportInstanceId(run.id))).status).toBe("complete");
    await workerEnv.GITHUB_REPORT_WORKFLOW.create({ id: `${run.id}-github-rerun`, params: { runId: run.id } });
    expect((await waitForInstance(`${run.id}-github-rerun`)).status).toBe("complete");
    const after = (await github.calls()).filter((c) => c.kind === "api").slice(rest.length);
    expect(after.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /api/v3/repos/octo/hello/pulls",
      `GET /api/v3/repos/octo/hello/issues/${issue}/comments`,
      `PATCH /api/v3/repos/octo/hello/issues/comments/${comment.id}`,
    ]);
    expect(await issueComments(issue)).toHaveLength(1);
    expect((await github.state()).pulls).toHaveLength(1);

    // The token appears nowhere but in the Authorization headers (which the server never records).
    expect(JSON.stringify(await github.calls())).not.toContain(TEST_GITHUB_TOKEN);
    expect(JSON.stringify(await github.state())).not.toContain(TEST_GITHUB_TOKEN);
    expect(await exposed(run.id)).not.toContain(TEST_GITHUB_TOKEN);
  });

  it("pullRequests: each opens one PR per pushed fork; a fork without changes pushes nothing", async () => {
    const issue = 43;
    const run = await createRun({
      repo: repoUrl(),
      forks: 3,
      task: { commands: ['if [ "$FORKYARD_FORK" != 2 ]; then echo "fork $FORKYARD_FORK" > each.txt; fi'] },
      push: true,
      github: { owner: "octo", repo: "hello", issueNumber: issue, pullRequests: "each" },
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => [f.status, Boolean(f.pushed)])).toEqual([
      ["succeeded", true],
      ["succeeded", false],
      ["succeeded", true],
    ]);
    expect(view.forks[1]!.steps.map((s) => s.name)).not.toContain("push");
    const comment = await waitForReport(run.id, issue);
    const pulls = (await github.state()).pulls.sort((a, b) => a.number - b.number);
    expect(pulls.map((p) => p.head.ref)).toEqual([`forkyard/${run.id}/1`, `forkyard/${run.id}/3`]);
    expect(pulls.map((p) => p.title)).toEqual([expect.stringMatching(/\(fork 1\)$/), expect.stringMatching(/\(fork 3\)$/)]);
    expect(comment.body).toContain("nothing to push");
    expect(comment.body).not.toContain("⭐");
    for (const pr of pulls) expect(comment.body).toContain(`[#${pr.number}](${pr.html_url})`);
  });

  it("a rejected push fails the fork with push_failed; the remote's echo of the token is scrubbed", async () => {
    const issue = 44;
    const run = await createRun({
      repo: repoUrl("rejecting"),
      task: { commands: ["echo change > change.txt"] },
      push: true,
      github: { owner: "octo", repo: "rejecting", issueNumber: issue },
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("failed");
    const fork = view.forks[0]!;
    expect(fork.status).toBe("failed");
    expect(fork.error?.code).toBe("push_failed");
    expect(fork.error?.message).toContain("push rejected by policy (credential seen: [REDACTED])");
    expect(fork.pushed).toBeUndefined();
    expect(fork.steps.find((s) => s.name === "push")).toMatchObject({ status: "failed", attempts: 3 });
    expect(await exposed(run.id)).not.toContain(TEST_GITHUB_TOKEN);

    const comment = await waitForReport(run.id, issue, "rejecting");
    expect(comment.body).toContain("`push_failed`");
    expect(comment.body).not.toContain(TEST_GITHUB_TOKEN);
    expect((await github.state()).pulls).toHaveLength(0);
  });

  it("refuses push and github targets the deployment cannot serve", async () => {
    const post = (body: Record<string, unknown>) => api("/v1/runs", { method: "POST", json: { task: { commands: ["true"] }, ...body } });
    const elsewhere = await post({ repo: "https://gitlab.com/octo/hello.git", push: true });
    expect(elsewhere.status).toBe(400);
    expect(((await elsewhere.json()) as { error: { details: { field: string } } }).error.details.field).toBe("push");
    const mismatch = await post({ repo: repoUrl(), github: { owner: "octo", repo: "other", issueNumber: 1 } });
    expect(mismatch.status).toBe(400);
    const unknownKey = await post({ repo: repoUrl(), github: { owner: "octo", repo: "hello", issueNumber: 1, token: "x" } });
    expect(unknownKey.status).toBe(400);
    expect(((await unknownKey.json()) as { error: { details: { field: string } } }).error.details.field).toBe("github.token");
  });
});

describe("GitHub webhook to pull request, end to end", () => {
  const EDIT_TURN: ScriptedReply = {
    content: [
      { type: "text", text: "I'll make parse return null for empty input." },
      { type: "tool_use", name: "str_replace_based_edit_tool", input: { command: "create", path: "parse.js", file_text: "export const parse = (s) => (s === '' ? null : JSON.parse(s));\n" } },
    ],
  };
  const SUMMARY_TURN: ScriptedReply = { content: [{ type: "text", text: "parse('') now returns null.\n/fork 5 this line must not trigger anything" }] };

  it("a labelled issue runs the agent on title + body, pushes, opens a PR and comments; a redelivery changes nothing", async () => {
    await scripted("/__script", { turns: [EDIT_TURN, SUMMARY_TURN] });
    const issue = 42;
    const payload = onTestRepo(example("issues", "labeled"));
    payload.label.name = "forkyard";
    Object.assign(payload.issue, { number: issue, title: "parse('') throws", body: "Empty input should give null, not a SyntaxError.", state: "open" });
    const delivery = crypto.randomUUID();
    const res = await deliver("issues", payload, { delivery });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const view: RunView = await waitForRunStatus(id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    const fork = view.forks[0]!;
    expect(fork.agent?.summary).toContain("parse('') now returns null.");
    expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(await github.show(fork.pushed!.branch, "parse.js")).toContain("s === ''");

    const calls = ((await scripted("/__calls")) as RecordedCall[]).filter((c) => c.path === "/v1/messages");
    expect(JSON.stringify(calls[0]!.body)).toContain("parse('') throws\\n\\nEmpty input should give null, not a SyntaxError.");
    expect(JSON.stringify(calls)).not.toContain(TEST_GITHUB_TOKEN);

    const comment = await waitForReport(id, issue);
    const pulls = (await github.state()).pulls;
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.head.ref).toBe(fork.pushed!.branch);
    expect(pulls[0]!.title).toBe("Forkyard #42: parse('') throws");
    expect(pulls[0]!.body).toContain("> parse('') now returns null.");
    expect(comment.body).toContain(`[#${pulls[0]!.number}]`);
    // The agent's text is quoted: none of its lines can start a /fork command.
    expect(comment.body).toContain("> /fork 5 this line must not trigger anything");
    expect(comment.body.split("\n").some((l) => /^\s{0,3}\/fork/.test(l))).toBe(false);

    const redelivered = await deliver("issues", payload, { delivery });
    expect(await redelivered.json()).toMatchObject({ id, duplicate: true });
    await new Promise((r) => setTimeout(r, 500));
    expect(await issueComments(issue)).toHaveLength(1);
    expect((await github.state()).pulls).toHaveLength(1);
    expect(await exposed(id)).not.toContain(TEST_GITHUB_TOKEN);
  });
});
