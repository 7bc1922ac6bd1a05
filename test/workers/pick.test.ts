/**
 * Picking a fork ("take this one"): POST /v1/runs/:id/forks/:n/pick and the `/pick k` comment,
 * and branching one from a thread (`/refork k [prompt]`),
 * against the real local sandbox server and the local GitHub fake. The runs are made once, side
 * by side, and the tests of this file share them (in order). Running the fetch command with git
 * is tested where git runs: test/node/cli.test.ts (`forkyard pick`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { pickResult, webhookPick, webhookRefork, type PickResult, type WebhookPick, type WebhookRefork } from "../../src/api/pick-responses";
import { Sandbox } from "e2b";
import type { RunView } from "../../src/api/runs";
import { env } from "cloudflare:workers";
import type { Env } from "../../src/core/env";
import { TEST_GITHUB_TOKEN } from "../support/constants";
import { api, createRun, e2bOptions, getRun, testEnv, waitFor, waitForRunStatus } from "./helpers";
import { deliver, example, FORKYARD_LOGIN, github, githubUrl, issueComments, onTestRepo, settle, waitForReport } from "./github-helpers";
import { reportInstanceId } from "../../src/protocol/instance-ids";

const ISSUE = 4711;
const repoUrl = `${githubUrl}/octo/hello.git`;
const UNKNOWN_RUN = `r${"a".repeat(20)}`;

let onGitHub: RunView;
let local: RunView;
let unpushed: RunView;
let sleeping: string;

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const pick = (runId: string, n: number | string) => api(`/v1/runs/${runId}/forks/${n}/pick`, { method: "POST" });

async function picked(runId: string, n: number): Promise<PickResult> {
  const res = await pick(runId, n);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  // Exactly what the OpenAPI document says (zod drops keys it does not know).
  const body = JSON.parse(text) as PickResult;
  expect(pickResult.parse(body)).toEqual(body);
  return body;
}

async function refused(res: Response, status: number): Promise<ErrorBody["error"]> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return (JSON.parse(text) as ErrorBody).error;
}

function pickComment(body: string, commentId: number, issue = ISSUE): Record<string, any> {
  const payload = onTestRepo(example("issue_comment", "created"));
  Object.assign(payload.comment, { id: commentId, body });
  Object.assign(payload.issue, { number: issue });
  delete payload.issue.pull_request;
  return payload;
}

async function answered(payload: Record<string, any>, delivery?: string): Promise<WebhookPick> {
  const res = await deliver("issue_comment", payload, delivery ? { delivery } : {});
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const body = JSON.parse(text) as WebhookPick;
  expect(webhookPick.parse(body)).toEqual(body);
  return body;
}

beforeAll(async () => {
  await github.reset();
  const write = 'echo "fork $FORKYARD_FORK" > picked.txt';
  const [g, l, u, s] = await Promise.all([
    // Fork 1 fails; forks 2 and 3 push their branch. The report opens no pull request of its own.
    createRun({
      repo: repoUrl,
      forks: 3,
      maxConcurrent: 3,
      task: { commands: ['test "$FORKYARD_FORK" != 1', write] },
      push: true,
      github: { owner: "octo", repo: "hello", issueNumber: ISSUE, pullRequests: "none" },
    }),
    createRun({ task: { commands: [write] } }),
    createRun({ repo: repoUrl, task: { commands: [write] } }),
    createRun({ task: { commands: ["sleep 60"] } }),
  ]);
  sleeping = s.id;
  // Bounds for a lane's first file, whose runs meet the whole suite's start-up (five lanes booting
  // at once on two cores): a health check took 11 s and a clone 14 s there in a fresh clone's CI.
  const ended = (run: { id: string }) => waitForRunStatus(run.id, ["completed", "failed"], 180_000);
  [onGitHub, local, unpushed] = await Promise.all([ended(g), ended(l), ended(u)]);
  // The run's own report is done (a pick reports again, for the summary to show it).
  const report = await (env as unknown as Env).GITHUB_REPORT_WORKFLOW.get(reportInstanceId(g.id));
  await waitFor("the run's report", async () => (await report.status()).status === "complete");
}, 240_000);

/** The replies to /pick comments on the issue (not the run's summary comment). */
const pickReplies = async (issue = ISSUE) => (await issueComments(issue)).filter((c) => c.body.includes("<!-- forkyard:pick:"));

describe("POST /v1/runs/:id/forks/:n/pick", () => {
  it("on GitHub: opens the fork's pull request once; picking it again answers the same one; the run records the pick, its winner unchanged", async () => {
    const id = onGitHub.id;
    expect(onGitHub.forks.map((f) => f.status)).toEqual(["failed", "succeeded", "succeeded"]);
    const first = await picked(id, 2);
    expect(first).toEqual({
      n: 2,
      branch: `forkyard/${id}/2`,
      pullRequest: { number: expect.any(Number), url: expect.stringContaining(`${githubUrl}/octo/hello/pull/`) },
      fetch: `git fetch ${repoUrl} forkyard/${id}/2:forkyard/${id}/2`,
      patch: `http://forkyard.test/v1/runs/${id}/forks/2/patch`,
    });
    expect(await picked(id, 2)).toEqual(first);

    const pulls = (await github.state()).pulls;
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ number: first.pullRequest!.number, head: { ref: `forkyard/${id}/2`, sha: onGitHub.forks[1]!.pushed!.sha }, base: { ref: "main" }, state: "open" });
    expect(pulls[0]!.title).toMatch(new RegExp(`^Forkyard #${ISSUE}: .* \\(fork 2\\)$`));
    expect(pulls[0]!.body).toContain(`Fork **2** of 3 of Forkyard run \`${id}\`, for #${ISSUE}`);
    const opened = (await github.calls()).filter((c) => c.kind === "api" && c.method === "POST" && c.path.endsWith("/pulls"));
    expect(opened).toHaveLength(1);

    const view = await getRun(id);
    expect(view.picked).toEqual({ n: 2, at: expect.any(String), pullRequest: first.pullRequest });
    expect(view.winner).toBe(onGitHub.winner);
    const events = await (await api(`/v1/runs/${id}/events`)).text();
    expect(events.match(/event: run\.picked/g)).toHaveLength(2);
    // The summary comment is reported again with the pick.
    await waitFor("the summary to show the pick", async () => (await waitForReport(id, ISSUE)).body.includes(`👉 Picked: fork 2 → [#${first.pullRequest!.number}](${first.pullRequest!.url}).`));
    expect((await waitForReport(id, ISSUE)).body).toMatch(/^\| 2( ⭐)? 👉 \| ✅ succeeded/m);
  });

  it("elsewhere (a local repo): answers the command that fetches the fork's work from its patch, and the patch's link", async () => {
    const id = local.id;
    const result = await picked(id, 1);
    expect(result).toEqual({
      n: 1,
      branch: `forkyard/${id}/1`,
      fetch:
        `git fetch ${testEnv.TEST_REPO} main && git switch -c forkyard/${id}/1 FETCH_HEAD && ` +
        `curl -fsSL -H "Authorization: Bearer \${FORKYARD_TOKEN:?set FORKYARD_TOKEN to a Forkyard API token}" http://forkyard.test/v1/runs/${id}/forks/1/patch | git apply --3way && ` +
        `git commit -qm 'forkyard: run ${id} fork 1'`,
      patch: `http://forkyard.test/v1/runs/${id}/forks/1/patch`,
    });
    const patch = await api(new URL(result.patch!).pathname);
    expect(await patch.text()).toContain("+fork 1");
    expect((await getRun(id)).picked).toEqual({ n: 1, at: expect.any(String) });
  });

  it("refuses with errors naming the field: unknown run or fork (404), a fork still running or that failed, a GitHub run that pushed nothing (409)", async () => {
    expect(await refused(await pick(UNKNOWN_RUN, 1), 404)).toMatchObject({ code: "not_found", details: { run: UNKNOWN_RUN, field: "id" } });
    expect(await refused(await pick(onGitHub.id, 9), 404)).toMatchObject({ code: "not_found", details: { fork: `${onGitHub.id}/9`, field: "n" } });
    expect((await refused(await pick(onGitHub.id, "zero"), 400)).code).toBe("invalid_input");
    expect(await refused(await pick(onGitHub.id, 1), 409)).toEqual({
      code: "fork_not_succeeded",
      message: "Fork 1 failed (command_failed): only a fork that succeeded can be picked.",
      details: { field: "n", n: 1, status: "failed" },
    });
    const notPushed = await refused(await pick(unpushed.id, 1), 409);
    expect(notPushed).toMatchObject({ code: "branch_not_pushed", details: { field: "push", n: 1, fetch: expect.stringContaining("| git apply --3way") } });
    expect(notPushed.message).toMatch(/^push: run \w+ did not push its forks' branches/);

    await waitFor("the sleeping fork to run", async () => (await getRun(sleeping)).forks[0]!.status === "running");
    expect(await refused(await pick(sleeping, 1), 409)).toMatchObject({ code: "fork_running", details: { field: "n", status: "running" } });
    await settle(sleeping);
    expect((await getRun(sleeping)).picked).toBeUndefined();
  });
});

describe("a /pick k comment", () => {
  it("picks fork k of the thread's latest run and replies with its pull request, once per comment (a redelivery updates the reply)", async () => {
    const payload = pickComment("Fork 3 reads better.\n/pick 3", 5001);
    const delivery = crypto.randomUUID();
    const answer = await answered(payload, delivery);
    expect(answer).toMatchObject({ command: "pick", event: "issue_comment", deliveryId: delivery, fork: 3, runId: onGitHub.id, picked: { n: 3, branch: `forkyard/${onGitHub.id}/3` } });
    const pr = answer.picked!.pullRequest!;
    const pulls = (await github.state()).pulls;
    expect(pulls.find((p) => p.number === pr.number)?.head.ref).toBe(`forkyard/${onGitHub.id}/3`);
    const replies = await pickReplies();
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toContain("<!-- forkyard:pick:5001 -->");
    expect(replies[0]!.body).toContain(`👉 Picked fork **3** of Forkyard run \`${onGitHub.id}\`: pull request [#${pr.number}](${pr.url}).`);
    expect(answer.reply).toEqual({ id: replies[0]!.id, url: replies[0]!.html_url });
    expect((await getRun(onGitHub.id)).picked).toEqual({ n: 3, at: expect.any(String), pullRequest: pr, by: payload.comment.user.login });

    expect(await answered(payload, delivery)).toMatchObject({ picked: { pullRequest: pr }, reply: answer.reply });
    expect(await pickReplies()).toHaveLength(1);
    expect((await github.state()).pulls).toHaveLength(pulls.length);
    await waitFor("the summary to show who picked", async () => (await waitForReport(onGitHub.id, ISSUE)).body.includes(`👉 Picked: fork 3 by ${payload.comment.user.login} → [#${pr.number}]`));
    // Forkyard's reply (a marked comment by its own login, GET /user) is never a command; the same text by anyone else is an ordinary comment.
    const own = pickComment(replies[0]!.body, 5002);
    own.comment.user = { ...own.comment.user, login: FORKYARD_LOGIN, type: "User" };
    const echo = await deliver("issue_comment", own);
    expect(((await echo.json()) as { reason: string }).reason).toMatch(/Forkyard report comment/);
    const copied = await deliver("issue_comment", pickComment(replies[0]!.body, 5004));
    expect(((await copied.json()) as { reason: string }).reason).toMatch(/has no \/fork command/);
  });

  it("replies with why for a fork that failed, an unknown fork, a thread without a run; ignores people without write access", async () => {
    const failed = await answered(pickComment("/pick 1", 5003));
    expect(failed).toMatchObject({ runId: onGitHub.id, error: { code: "fork_not_succeeded" } });
    expect(failed.picked).toBeUndefined();
    const unknown = await answered(pickComment("/pick 9", 5004));
    expect(unknown.error?.code).toBe("not_found");
    const bodies = (await pickReplies()).map((c) => c.body);
    expect(bodies).toContain(`<!-- forkyard:pick:5003 -->\n⚠️ Could not pick fork 1 of Forkyard run \`${onGitHub.id}\`: Fork 1 failed (command_failed): only a fork that succeeded can be picked.`);
    expect(bodies).toContain(`<!-- forkyard:pick:5004 -->\n⚠️ Could not pick fork 9 of Forkyard run \`${onGitHub.id}\`: fork "${onGitHub.id}/9" does not exist.`);

    const elsewhere = await answered(pickComment("/pick 2", 5005, 4799));
    expect(elsewhere).toMatchObject({ runId: null, error: { code: "no_run" } });
    expect((await issueComments(4799))[0]!.body).toContain("⚠️ Could not pick fork 2: no Forkyard run reports to octo/hello#4799");

    await github.seedRole("reader", "read");
    const byReader = pickComment("/pick 2", 5006);
    byReader.comment.user.login = "reader";
    const ignored = await deliver("issue_comment", byReader);
    expect(ignored.status).toBe(202);
    expect(((await ignored.json()) as { reason: string }).reason).toBe("reader has read access to octo/hello: only people with write access can pick forks.");
    expect((await getRun(onGitHub.id)).picked?.n).toBe(3);

    // The token appears in no answer, reply, pull request or view.
    const seen = [JSON.stringify([failed, unknown, elsewhere]), JSON.stringify(await github.state()), await (await api(`/v1/runs/${onGitHub.id}`)).text()];
    for (const text of seen) expect(text).not.toContain(TEST_GITHUB_TOKEN);
  });
});

describe("a /refork k comment", () => {
  const REFORK_ISSUE = 4712;
  const reforked = async (body: string, commentId: number, delivery?: string): Promise<WebhookRefork> => {
    const res = await deliver("issue_comment", pickComment(body, commentId, REFORK_ISSUE), delivery ? { delivery } : {});
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const answer = JSON.parse(text) as WebhookRefork;
    expect(webhookRefork.parse(answer)).toEqual(answer);
    return answer;
  };

  it("branches fork k of the thread's latest run once per comment; the new fork runs and the run reports again with it", async () => {
    const created = await createRun({
      repo: repoUrl,
      keepSandboxes: true,
      task: { commands: ['echo "fork $FORKYARD_FORK" > reforked.txt'] },
      push: true,
      // Within the deployment's caps of GitHub-started work (GITHUB_MAX_BUDGET_USD, default $10).
      budgetUsd: 5,
      github: { owner: "octo", repo: "hello", issueNumber: REFORK_ISSUE, pullRequests: "none" },
    });
    await waitForRunStatus(created.id, ["completed"]);
    await waitForReport(created.id, REFORK_ISSUE);

    const delivery = crypto.randomUUID();
    const answer = await reforked("Try that again from where fork 1 ended.\n/refork 1", 5101, delivery);
    expect(answer).toMatchObject({ command: "refork", fork: 1, runId: created.id, branched: { runId: created.id, forks: [2] } });
    // A redelivery answers the same fork and updates the same reply.
    expect(await reforked("Try that again from where fork 1 ended.\n/refork 1", 5101, delivery)).toMatchObject({ branched: { forks: [2] }, reply: answer.reply });
    const replies = (await issueComments(REFORK_ISSUE)).filter((c) => c.body.includes("<!-- forkyard:refork:5101 -->"));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toContain(`🌿 Fork **2** of Forkyard run \`${created.id}\` branches from fork 1`);

    const view = await waitForRunStatus(created.id, ["completed"]);
    expect(view.forks.map((f) => [f.n, f.status, f.parent?.n])).toEqual([
      [1, "succeeded", undefined],
      [2, "succeeded", 1],
    ]);
    // The summary comment is reported again, with the new fork's row.
    await waitFor("the summary to list fork 2", async () => /^\| 2\b/m.test((await waitForReport(created.id, REFORK_ISSUE)).body));

    // A prompt on a commands task is refused, in the reply.
    const refused = await reforked("/refork 1 do it differently", 5102);
    expect(refused).toMatchObject({ runId: created.id, error: { code: "invalid_input" } });
    expect((await getRun(created.id)).forks).toHaveLength(2);
    for (const fork of view.forks) await Sandbox.kill(fork.sandboxId!, e2bOptions());
  });

  it("stays within GITHUB_MAX_FORKS and GITHUB_MAX_BUDGET_USD: a run without a budget limit is not branched from a comment", async () => {
    // The /pick issue's run was started through the API with no budget.
    const res = await deliver("issue_comment", pickComment("/refork 2", 5105));
    const answer = (await res.json()) as WebhookRefork;
    expect(answer).toMatchObject({ command: "refork", runId: onGitHub.id, error: { code: "github_cap" } });
    expect(answer.error!.message).toContain("GITHUB_MAX_BUDGET_USD");
    expect((await getRun(onGitHub.id)).forks).toHaveLength(3);
    const reply = (await issueComments(ISSUE)).find((c) => c.body.includes("<!-- forkyard:refork:5105 -->"));
    expect(reply?.body).toContain("⚠️ Could not branch fork 2");
  });
});
