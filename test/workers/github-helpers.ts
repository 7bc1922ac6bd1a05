import definitions from "@octokit/webhooks-examples";
import { api, getRun, waitFor, testEnv } from "./helpers";
import type { GitHubCall } from "../support/github-server";
import { TEST_GITHUB_WEBHOOK_SECRET } from "../support/constants";

export const githubUrl = (testEnv as unknown as { TEST_GITHUB_URL: string }).TEST_GITHUB_URL;

/** A real payload from @octokit/webhooks-examples (deep copy), e.g. `example("issues", "labeled")`. */
export function example(event: string, action?: string, index = 0): Record<string, any> {
  const definition = definitions.find((d) => d.name === event);
  const found = (definition?.examples ?? []).filter((e) => action === undefined || (e as { action?: string }).action === action);
  const chosen = found[index];
  if (!chosen) throw new Error(`no example ${event}.${action ?? ""}[${index}]`);
  return JSON.parse(JSON.stringify(chosen)) as Record<string, any>;
}

/** Points a payload's repository at the test GitHub's `octo/<name>` (its clone URL is served by git http-backend). */
export function onTestRepo(payload: Record<string, any>, name = "hello"): Record<string, any> {
  const repository = payload.repository as Record<string, any>;
  repository.name = name;
  repository.full_name = `octo/${name}`;
  repository.owner.login = "octo";
  repository.clone_url = `${githubUrl}/octo/${name}.git`;
  repository.default_branch = "main";
  return payload;
}

export async function hmac(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
  return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Delivers a webhook the way GitHub does (signed with the test secret unless told otherwise). */
export async function deliver(
  event: string,
  payload: unknown,
  options: { delivery?: string; signature?: string | null; secret?: string; rawBody?: string; contentType?: string } = {},
): Promise<Response> {
  const body = options.rawBody ?? JSON.stringify(payload);
  const headers: Record<string, string> = {
    "Content-Type": options.contentType ?? "application/json",
    "User-Agent": "GitHub-Hookshot/abc1234",
    "X-GitHub-Event": event,
    "X-GitHub-Delivery": options.delivery ?? crypto.randomUUID(),
    "X-GitHub-Hook-ID": "123456",
  };
  const signature = options.signature === undefined ? await hmac(options.secret ?? TEST_GITHUB_WEBHOOK_SECRET, body) : options.signature;
  if (signature !== null) headers["X-Hub-Signature-256"] = signature;
  return api("/v1/webhooks/github", { method: "POST", headers, body, token: null });
}

/** The test GitHub server's admin API. */
export const github = {
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${githubUrl}${path}`, init);
  },
  async calls(): Promise<GitHubCall[]> {
    return (await (await this.request("/__calls")).json()) as GitHubCall[];
  },
  async reset(): Promise<void> {
    await this.request("/__reset", { method: "POST" });
  },
  async state(): Promise<{ pulls: PullJson[]; comments: CommentJson[] }> {
    return (await (await this.request("/__state")).json()) as never;
  },
  async refs(repo = "hello"): Promise<Record<string, string>> {
    return (await (await this.request(`/__git/refs?owner=octo&repo=${repo}`)).json()) as Record<string, string>;
  },
  async show(ref: string, path: string, repo = "hello"): Promise<string | null> {
    const res = await this.request(`/__git/show?owner=octo&repo=${repo}&ref=${encodeURIComponent(ref)}&path=${encodeURIComponent(path)}`);
    return res.ok ? ((await res.json()) as { text: string }).text : null;
  },
  /** Gives `login` a role on octo/<repo> (the server's /__reset restores the defaults: Codertocat writes). */
  async seedRole(login: string, role: string, repo = "hello"): Promise<void> {
    await this.request("/__seed/role", { method: "POST", body: JSON.stringify({ owner: "octo", repo, login, role }) });
  },
  /** A comment on octo/<repo>#issue written by `login` (not by Forkyard's own login). */
  async seedComment(input: { issue: number; body: string; login: string; repo?: string }): Promise<CommentJson> {
    const res = await this.request("/__seed/comment", { method: "POST", body: JSON.stringify({ owner: "octo", repo: input.repo ?? "hello", issue: input.issue, body: input.body, login: input.login }) });
    return (await res.json()) as CommentJson;
  },
  async seedPull(input: { head: string; base: string; headRepo?: string }): Promise<PullJson> {
    const res = await this.request("/__seed/pull", { method: "POST", body: JSON.stringify({ owner: "octo", repo: "hello", ...input }) });
    return (await res.json()) as PullJson;
  },
};

export interface PullJson {
  number: number;
  html_url: string;
  title: string;
  body: string;
  state: string;
  head: { ref: string; sha: string };
  base: { ref: string };
}

export interface CommentJson {
  id: number;
  body: string;
  html_url: string;
  issue_url: string;
  user: { login: string };
}

/** The login the test GitHub's token acts as (GET /user). */
export const FORKYARD_LOGIN = "forkyard-bot";

/** The comments on one issue of octo/<repo>. */
export async function issueComments(issue: number, repo = "hello"): Promise<CommentJson[]> {
  return (await github.state()).comments.filter((c) => c.issue_url.endsWith(`/repos/octo/${repo}/issues/${issue}`));
}

/** Waits until issue `issue` has a Forkyard comment (by its own login) for `runId` and returns it. */
export async function waitForReport(runId: string, issue: number, repo = "hello", timeoutMs = 60_000): Promise<CommentJson> {
  return waitFor(
    `the report comment of ${runId} on #${issue}`,
    async () => (await issueComments(issue, repo)).find((c) => c.user.login === FORKYARD_LOGIN && c.body.includes(`<!-- forkyard:run:${runId} -->`)),
    timeoutMs,
  );
}

/** Cancels a run (if still going) and waits until no fork of it runs, so it cannot touch later tests. */
export async function settle(runId: string): Promise<void> {
  await api(`/v1/runs/${runId}/cancel`, { method: "POST" });
  await waitFor(`run ${runId} to settle`, async () => {
    const view = await getRun(runId);
    return view.forks.every((f) => f.status !== "running" && f.status !== "queued");
  });
}
