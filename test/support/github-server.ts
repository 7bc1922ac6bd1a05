/**
 * A local stand-in for GitHub (Node http on 127.0.0.1), laid out like GitHub Enterprise Server:
 *
 * - REST under `/api/v3` (GITHUB_API_URL): pull requests (list with `head`/`state`, create — 422
 *   when the head branch does not exist or already has an open pull request —, get) and issue
 *   comments (list with pages, create, update), answered with GitHub-shaped JSON.
 * - git over smart HTTP at `/<owner>/<repo>.git` (the `clone_url`s), served by `git http-backend`
 *   from bare repositories: anyone may fetch; pushing needs Basic credentials
 *   `x-access-token:<token>` (else 401 + WWW-Authenticate, so git asks its credential helper).
 *
 * Every request is recorded (method, path, query, JSON body, status) with whether its credentials
 * matched the expected token — the token itself is never stored. Workerd tests drive it over
 * HTTP: GET /__calls, POST /__reset, GET /__state, POST /__seed/pull, GET /__git/refs, GET /__git/show.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface GitHubCall {
  index: number;
  kind: "api" | "git";
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** Whether the request's credentials equalled the expected token (null: it sent none). */
  authMatched: boolean | null;
  /** git: the service asked for (git-upload-pack = fetch, git-receive-pack = push). */
  service?: string;
}

interface PullRequest {
  id: number;
  number: number;
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
  state: "open" | "closed";
  headRepo: string;
}

interface IssueComment {
  id: number;
  owner: string;
  repo: string;
  issue: number;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export interface GitHubServerOptions {
  /** The token the server accepts (REST: `token`/`Bearer`; git: Basic `x-access-token:<token>`). */
  token: string;
  /** Directory holding bare repositories as `<owner>/<repo>.git`. */
  gitRoot: string;
  /** Repos whose pre-receive hook sees the pushed password in FORKYARD_TEST_PUSHED_PASSWORD (scrubbing tests). */
  echoCredentialsFor?: string[];
  host?: string;
  port?: number;
}

export interface GitHubServer {
  url: string;
  apiUrl: string;
  calls(): GitHubCall[];
  reset(): void;
  close(): Promise<void>;
}

const LOGIN = "forkyard-bot";

class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(typeof body === "object" && body && "message" in body ? String((body as { message: unknown }).message) : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "X-GitHub-Media-Type": "github.v3", ...headers });
  res.end(text);
}

export async function startGitHubServer(options: GitHubServerOptions): Promise<GitHubServer> {
  const calls: GitHubCall[] = [];
  let pulls: PullRequest[] = [];
  let comments: IssueComment[] = [];
  let nextPr = 100;
  let nextId = 5_000_000;
  let url = "";

  const credentialsMatch = (header: string | undefined): boolean | null => {
    if (!header) return null;
    const bearer = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    if (bearer) return bearer[1] === options.token;
    const basic = /^basic\s+(\S+)$/i.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1]!, "base64").toString();
      return decoded === `x-access-token:${options.token}`;
    }
    return false;
  };

  const repoDir = (owner: string, repo: string) => join(options.gitRoot, owner, `${repo}.git`);
  const branchExists = (owner: string, repo: string, branch: string): string | null => {
    const dir = repoDir(owner, repo);
    if (!existsSync(dir)) return null;
    try {
      return execFileSync("git", ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`], { cwd: dir, encoding: "utf8" }).trim();
    } catch {
      return null;
    }
  };

  const pullJson = (p: PullRequest) => ({
    id: p.id,
    node_id: `PR_${p.id}`,
    number: p.number,
    state: p.state,
    title: p.title,
    body: p.body,
    url: `${url}/api/v3/repos/${p.owner}/${p.repo}/pulls/${p.number}`,
    html_url: `${url}/${p.owner}/${p.repo}/pull/${p.number}`,
    user: { login: LOGIN, id: 1, type: "Bot" },
    draft: false,
    head: { label: `${p.headRepo.split("/")[0]}:${p.head}`, ref: p.head, sha: branchExists(p.owner, p.repo, p.head) ?? "0".repeat(40), repo: { full_name: p.headRepo, name: p.headRepo.split("/")[1] } },
    base: { label: `${p.owner}:${p.base}`, ref: p.base, sha: branchExists(p.owner, p.repo, p.base) ?? "0".repeat(40), repo: { full_name: `${p.owner}/${p.repo}`, name: p.repo } },
    created_at: new Date().toISOString(),
  });
  const commentJson = (c: IssueComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${url}/api/v3/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: `${url}/${c.owner}/${c.repo}/issues/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${url}/api/v3/repos/${c.owner}/${c.repo}/issues/${c.issue}`,
    body: c.body,
    user: { login: LOGIN, id: 1, type: "Bot" },
    author_association: "NONE",
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  });

  function api(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): { status: number; body: unknown } {
    let m: RegExpExecArray | null;
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(path))) {
      const [, owner, repo] = m as unknown as [string, string, string];
      if (method === "GET") {
        const head = query.get("head");
        const state = query.get("state") ?? "open";
        const perPage = Number(query.get("per_page") ?? 30);
        const list = pulls
          .filter((p) => p.owner === owner && p.repo === repo)
          .filter((p) => state === "all" || p.state === state)
          .filter((p) => !head || head === `${p.headRepo.split("/")[0]}:${p.head}`)
          .sort((a, b) => b.number - a.number);
        return { status: 200, body: list.slice(0, perPage).map(pullJson) };
      }
      if (method === "POST") {
        const head = String(body.head ?? "");
        const base = String(body.base ?? "");
        if (!body.title) throw new HttpError(422, { message: "Validation Failed", errors: [{ resource: "PullRequest", field: "title", code: "missing_field" }] });
        if (!branchExists(owner, repo, head)) throw new HttpError(422, { message: "Validation Failed", errors: [{ resource: "PullRequest", field: "head", code: "invalid" }] });
        if (!branchExists(owner, repo, base)) throw new HttpError(422, { message: "Validation Failed", errors: [{ resource: "PullRequest", field: "base", code: "invalid" }] });
        if (pulls.some((p) => p.owner === owner && p.repo === repo && p.head === head && p.state === "open")) {
          throw new HttpError(422, { message: "Validation Failed", errors: [{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${owner}:${head}.` }] });
        }
        const pr: PullRequest = { id: nextId++, number: nextPr++, owner, repo, head, base, title: String(body.title), body: String(body.body ?? ""), state: "open", headRepo: `${owner}/${repo}` };
        pulls.push(pr);
        return { status: 201, body: pullJson(pr) };
      }
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/.exec(path)) && method === "GET") {
      const pr = pulls.find((p) => p.owner === m![1] && p.repo === m![2] && p.number === Number(m![3]));
      if (!pr) throw new HttpError(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest/pulls/pulls#get-a-pull-request" });
      return { status: 200, body: pullJson(pr) };
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path))) {
      const [owner, repo, issue] = [m[1]!, m[2]!, Number(m[3])];
      if (method === "GET") {
        const perPage = Math.min(Number(query.get("per_page") ?? 30), 100);
        const page = Number(query.get("page") ?? 1);
        const list = comments.filter((c) => c.owner === owner && c.repo === repo && c.issue === issue);
        return { status: 200, body: list.slice((page - 1) * perPage, page * perPage).map(commentJson) };
      }
      if (method === "POST") {
        if (typeof body.body !== "string" || body.body === "") throw new HttpError(422, { message: "Validation Failed", errors: [{ resource: "IssueComment", field: "body", code: "missing_field" }] });
        if (body.body.length > 65_536) throw new HttpError(422, { message: "Validation Failed", errors: [{ resource: "IssueComment", field: "body", code: "custom", message: "body is too long (maximum is 65536 characters)" }] });
        const now = new Date().toISOString();
        const comment: IssueComment = { id: nextId++, owner, repo, issue, body: body.body, createdAt: now, updatedAt: now };
        comments.push(comment);
        return { status: 201, body: commentJson(comment) };
      }
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path)) && method === "PATCH") {
      const comment = comments.find((c) => c.owner === m![1] && c.repo === m![2] && c.id === Number(m![3]));
      if (!comment) throw new HttpError(404, { message: "Not Found" });
      if (typeof body.body !== "string" || body.body === "") throw new HttpError(422, { message: "Validation Failed" });
      comment.body = body.body;
      comment.updatedAt = new Date().toISOString();
      return { status: 200, body: commentJson(comment) };
    }
    throw new HttpError(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
  }

  /** Serves git's smart HTTP protocol through `git http-backend` (CGI). */
  function git(req: IncomingMessage, res: ServerResponse, owner: string, repo: string, rest: string, query: URLSearchParams, record: GitHubCall): void {
    const service = query.get("service") ?? (rest.startsWith("/git-") ? rest.slice(1) : "");
    record.service = service;
    const auth = credentialsMatch(req.headers.authorization);
    record.authMatched = auth;
    const push = service === "git-receive-pack";
    if (!existsSync(repoDir(owner, repo))) {
      record.status = 404;
      res.writeHead(404, { "Content-Type": "text/plain" }).end("Repository not found.\n");
      return;
    }
    if (push && auth !== true) {
      record.status = 401;
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain" }).end("Invalid username or token.\n");
      return;
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: options.gitRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: options.gitRoot,
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: `/${owner}/${repo}.git${rest}`,
      QUERY_STRING: query.toString(),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_ADDR: "127.0.0.1",
    };
    if (push) env.REMOTE_USER = "x-access-token";
    if (req.headers["content-length"]) env.CONTENT_LENGTH = String(req.headers["content-length"]);
    if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
    if (req.headers["git-protocol"]) env.HTTP_GIT_PROTOCOL = String(req.headers["git-protocol"]);
    if (push && options.echoCredentialsFor?.includes(`${owner}/${repo}`)) {
      const basic = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      env.FORKYARD_TEST_PUSHED_PASSWORD = basic ? Buffer.from(basic[1]!, "base64").toString().replace(/^x-access-token:/, "") : "";
    }
    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon === -1) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      record.status = status;
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    child.stderr.resume();
    child.on("close", () => {
      if (!headersDone) {
        record.status = 500;
        res.writeHead(500).end();
      } else res.end();
    });
  }

  async function admin(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (path === "/__calls") return send(res, 200, calls);
    if (path === "/__reset") {
      calls.length = 0;
      pulls = [];
      comments = [];
      return send(res, 200, { ok: true });
    }
    if (path === "/__state") return send(res, 200, { pulls: pulls.map(pullJson), comments: comments.map(commentJson) });
    if (path === "/__seed/pull" && req.method === "POST") {
      const body = JSON.parse((await readBody(req)).toString() || "{}") as { owner: string; repo: string; head: string; base: string; headRepo?: string };
      const pr: PullRequest = { id: nextId++, number: nextPr++, owner: body.owner, repo: body.repo, head: body.head, base: body.base, title: "seeded", body: "", state: "open", headRepo: body.headRepo ?? `${body.owner}/${body.repo}` };
      pulls.push(pr);
      return send(res, 201, pullJson(pr));
    }
    if (path === "/__git/refs") {
      const dir = repoDir(query.get("owner") ?? "", query.get("repo") ?? "");
      if (!existsSync(dir)) return send(res, 404, { message: "no such repo" });
      const out = execFileSync("git", ["for-each-ref", "--format=%(refname) %(objectname)"], { cwd: dir, encoding: "utf8" });
      return send(res, 200, Object.fromEntries(out.trim().split("\n").filter(Boolean).map((l) => l.split(" ") as [string, string])));
    }
    if (path === "/__git/show") {
      const dir = repoDir(query.get("owner") ?? "", query.get("repo") ?? "");
      try {
        const text = execFileSync("git", ["show", `${query.get("ref")}:${query.get("path")}`], { cwd: dir, encoding: "utf8" });
        return send(res, 200, { text });
      } catch {
        return send(res, 404, { message: "not found" });
      }
    }
    send(res, 404, { message: "unknown admin path" });
  }

  const server = createServer((req, res) => {
    void (async () => {
      const parsed = new URL(req.url ?? "/", "http://localhost");
      const path = parsed.pathname;
      if (path.startsWith("/__")) return admin(req, res, path, parsed.searchParams);
      const record: GitHubCall = {
        index: calls.length,
        kind: "api",
        method: req.method ?? "GET",
        path,
        query: Object.fromEntries(parsed.searchParams),
        body: null,
        status: 0,
        authMatched: null,
      };
      const gitPath = /^\/([^/]+)\/([^/]+)\.git(\/.*)$/.exec(path);
      if (gitPath) {
        record.kind = "git";
        calls.push(record);
        return git(req, res, gitPath[1]!, gitPath[2]!, gitPath[3]!, parsed.searchParams, record);
      }
      calls.push(record);
      const raw = (await readBody(req)).toString();
      try {
        record.body = raw ? (JSON.parse(raw) as unknown) : null;
      } catch {
        record.body = raw;
      }
      record.authMatched = credentialsMatch(req.headers.authorization);
      if (!path.startsWith("/api/v3/")) {
        record.status = 404;
        return send(res, 404, { message: "Not Found" });
      }
      if (record.authMatched !== true) {
        record.status = 401;
        return send(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
      }
      try {
        const result = api(record.method, path.slice("/api/v3".length), parsed.searchParams, (record.body ?? {}) as Record<string, unknown>);
        record.status = result.status;
        send(res, result.status, result.body);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        record.status = status;
        send(res, status, err instanceof HttpError ? err.body : { message: String(err) });
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { message: String(err) });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  url = `http://${options.host ?? "127.0.0.1"}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    apiUrl: `${url}/api/v3`,
    calls: () => calls,
    reset: () => {
      calls.length = 0;
      pulls = [];
      comments = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Creates `<gitRoot>/<owner>/<repo>.git`, a bare copy of `source` (branch main). */
export function createBareRepo(gitRoot: string, owner: string, repo: string, source: string): string {
  const dir = join(gitRoot, owner, `${repo}.git`);
  execFileSync("git", ["clone", "--quiet", "--bare", source, dir], { stdio: "pipe" });
  return dir;
}

/** The test GitHub: `octo/hello` (a bare copy of `source`) and `octo/rejecting` (its pre-receive hook refuses every push, echoing the credential it saw). */
export async function startTestGitHub(gitRoot: string, source: string, token: string): Promise<GitHubServer> {
  createBareRepo(gitRoot, "octo", "hello", source);
  const rejecting = createBareRepo(gitRoot, "octo", "rejecting", source);
  writeFileSync(join(rejecting, "hooks", "pre-receive"), '#!/bin/sh\necho "push rejected by policy (credential seen: $FORKYARD_TEST_PUSHED_PASSWORD)" >&2\nexit 1\n');
  chmodSync(join(rejecting, "hooks", "pre-receive"), 0o755);
  return startGitHubServer({ token, gitRoot, echoCredentialsFor: ["octo/rejecting"] });
}
