/**
 * A local stand-in for GitHub (Node http on 127.0.0.1), laid out like GitHub Enterprise Server:
 *
 * - REST under `/api/v3` (GITHUB_API_URL): pull requests (list with `head`/`state`, create — 422
 *   when the head branch does not exist or already has an open pull request —, get) and issue
 *   comments (list with pages, create, update), answered with GitHub-shaped JSON.
 * - the Git Data API under `/repos/{owner}/{repo}/git/`, on the real bare repository through git
 *   plumbing: blobs (create — utf-8 or base64 —, get), trees (create on a `base_tree`: nested
 *   paths, `sha: null` deletes, `content`, modes 100644/100755/120000/160000/040000), commits
 *   (create — the same input, dates included, gives the same sha —, get) and refs (get
 *   `ref/heads/<branch>`, create, update — 422 unless a fast-forward or `force`).
 * - git over smart HTTP at `/<owner>/<repo>.git` (the `clone_url`s), served by `git http-backend`
 *   from bare repositories: anyone may fetch; pushing needs Basic credentials
 *   `x-access-token:<token>` (else 401 + WWW-Authenticate, so git asks its credential helper).
 *
 * Every request is recorded (method, path, query, JSON body, status) with whether its credentials
 * matched the expected token — the token itself is never stored. Workerd tests drive it over
 * Collaborator permissions (`GET /repos/{o}/{r}/collaborators/{login}/permission`) come from
 * `roles` (seeded with POST /__seed/role; reset by /__reset).
 * `GET /user` answers the token's user, `forkyard-bot`, who writes every comment but seeded ones.
 * HTTP: GET /__calls, POST /__reset, GET /__state, POST /__seed/pull, POST /__seed/comment, GET /__git/refs, GET /__git/show,
 * and POST/GET/DELETE /__loot (a text drop box for what attack tests' sandbox code can read).
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
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
  /** Who wrote it: the token's user (LOGIN) unless seeded as someone else. */
  author: string;
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
  /** Roles (`admin maintain write triage read none`) as `owner/repo/login` (repo may be `*`); default read, the owner admin. */
  roles?: Record<string, string>;
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
/** Who commits made through the Git Data API without an `author` are by (GitHub: the token's user). */
const BOT_EMAIL = "forkyard-bot@users.noreply.github.com";
const GIT_DATA_DOCS = "https://docs.github.com/rest/git";

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

/** A path part as clients send it (Octokit encodes the `/` of `heads/<branch>` as `%2F`). */
function decodePath(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
  }
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
  const loot: string[] = [];
  /** Roles on repositories, `owner/repo/login` (lowercase) -> role; anyone else has read access. */
  let roles = new Map(Object.entries(options.roles ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const roleOf = (owner: string, repo: string, login: string): string =>
    login.toLowerCase() === owner.toLowerCase() ? "admin" : (roles.get(`${owner}/${repo}/${login}`.toLowerCase()) ?? roles.get(`${owner}/*/${login}`.toLowerCase()) ?? "read");

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
    user: c.author === LOGIN ? { login: LOGIN, id: 1, type: "Bot" } : { login: c.author, id: 2, type: "User" },
    author_association: "NONE",
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  });

  function api(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>, token: string): { status: number; body: unknown } {
    let m: RegExpExecArray | null;
    // The token's own user (what Forkyard learns its login from).
    if (path === "/user" && method === "GET") return { status: 200, body: { login: LOGIN, id: 1, type: "User", html_url: `${url}/${LOGIN}` } };
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/.exec(path)) && method === "GET") {
      const [owner, repo, login] = [decodePath(m[1]!), decodePath(m[2]!), decodePath(m[3]!)];
      if (!existsSync(repoDir(owner, repo))) throw new HttpError(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
      const role = roleOf(owner, repo, login);
      const permission = role === "maintain" ? "write" : role === "triage" ? "read" : role;
      return { status: 200, body: { permission, role_name: role, user: { login, type: "User" } } };
    }
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
        const comment: IssueComment = { id: nextId++, owner, repo, issue, body: body.body, author: LOGIN, createdAt: now, updatedAt: now };
        comments.push(comment);
        return { status: 201, body: commentJson(comment) };
      }
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path)) && method === "PATCH") {
      const comment = comments.find((c) => c.owner === m![1] && c.repo === m![2] && c.id === Number(m![3]));
      if (!comment) throw new HttpError(404, { message: "Not Found" });
      // Like GitHub for a token without admin rights on the repository: only one's own comments can be edited.
      if (comment.author !== LOGIN) throw new HttpError(403, { message: "Resource not accessible by personal access token" });
      if (typeof body.body !== "string" || body.body === "") throw new HttpError(422, { message: "Validation Failed" });
      comment.body = body.body;
      comment.updatedAt = new Date().toISOString();
      return { status: 200, body: commentJson(comment) };
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/git\/(.+)$/.exec(path))) {
      const result = gitData(method, decodePath(m[1]!), decodePath(m[2]!), m[3]!, body, token);
      if (result) return result;
    }
    throw new HttpError(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
  }

  /** Runs git plumbing in a bare repository, isolated from the user's and system's configuration. */
  const plumb = (dir: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): Buffer =>
    execFileSync("git", ["--git-dir", dir, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: options.gitRoot, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_LITERAL_PATHSPECS: "1", ...opts.env },
      input: opts.input ?? "",
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 512 * 1024 * 1024,
    });
  /** The type of object `sha` (a full hex id) in the repository, or null when it has none. */
  const objectType = (dir: string, sha: unknown): string | null => {
    if (typeof sha !== "string" || !/^[0-9a-f]{40}$/i.test(sha)) return null;
    try {
      return plumb(dir, ["cat-file", "-t", sha.toLowerCase()]).toString().trim();
    } catch {
      return null;
    }
  };
  /** The object a full ref name points at, or null when the ref does not exist. */
  const refTarget = (dir: string, ref: string): string | null => {
    try {
      return plumb(dir, ["show-ref", "--verify", "--", ref]).toString().split(" ")[0]!.trim();
    } catch {
      return null;
    }
  };
  const validRefName = (ref: string): boolean => {
    if (!/^refs\/[^/]+\/.+/.test(ref)) return false;
    try {
      execFileSync("git", ["check-ref-format", ref], { stdio: "pipe" });
      return true;
    } catch {
      return false;
    }
  };

  /** `Name <email> <seconds> <+hhmm>` → GitHub's `{name, email, date}` (date in UTC). */
  const personJson = (line: string) => {
    const p = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(line);
    if (!p) return { name: line, email: "", date: new Date(0).toISOString().replace(/\.\d{3}Z$/, "Z") };
    return { name: p[1]!, email: p[2]!, date: new Date(Number(p[3]) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") };
  };
  /** GitHub's ISO 8601 date (`2024-01-02T03:04:05Z`, `…+01:00`) → git's `@<seconds> <+hhmm>`, or null when not one. */
  const gitDate = (date: unknown): string | null => {
    if (typeof date !== "string") return null;
    const d = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|([+-])(\d{2}):?(\d{2}))$/i.exec(date);
    const ms = Date.parse(date);
    if (!d || Number.isNaN(ms)) return null;
    const tz = d[1]!.toUpperCase() === "Z" ? "+0000" : `${d[2]}${d[3]}${d[4]}`;
    return `@${Math.floor(ms / 1000)} ${tz}`;
  };

  /**
   * A repository's pre-receive hook (like GitHub Enterprise's) also guards ref writes through the
   * API: it reads `<old> <new> <ref>`; a non-zero exit refuses the write with 422 and its output.
   */
  function preReceive(dir: string, owner: string, repo: string, update: { ref: string; old: string; sha: string }, token: string, docs: string): void {
    const hook = join(dir, "hooks", "pre-receive");
    if (!existsSync(hook)) return;
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_DIR: dir };
    if (options.echoCredentialsFor?.includes(`${owner}/${repo}`)) env.FORKYARD_TEST_PUSHED_PASSWORD = token;
    try {
      execFileSync(hook, [], { input: `${update.old} ${update.sha} ${update.ref}\n`, env, stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      const output = String((err as { stderr?: unknown }).stderr ?? "").trim();
      throw new HttpError(422, { message: `pre-receive hook declined: ${output}`, documentation_url: `${GIT_DATA_DOCS}/${docs}` });
    }
  }

  function gitData(method: string, owner: string, repo: string, rest: string, body: Record<string, unknown>, token: string): { status: number; body: unknown } | null {
    const dir = repoDir(owner, repo);
    const base = `${url}/api/v3/repos/${owner}/${repo}`;
    const invalid = (message: string, docs: string): HttpError => new HttpError(422, { message, documentation_url: `${GIT_DATA_DOCS}/${docs}` });
    const notFound = (docs: string): HttpError => new HttpError(404, { message: "Not Found", documentation_url: `${GIT_DATA_DOCS}/${docs}` });
    if (!existsSync(dir)) throw new HttpError(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest/repos/repos#get-a-repository" });

    const commitJson = (sha: string) => {
      const raw = plumb(dir, ["cat-file", "commit", sha]).toString("utf8");
      const split = raw.indexOf("\n\n");
      const headers = (split === -1 ? raw : raw.slice(0, split)).split("\n");
      const header = (name: string) => headers.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
      const tree = header("tree")[0]!;
      return {
        sha,
        node_id: `C_${sha}`,
        url: `${base}/git/commits/${sha}`,
        html_url: `${url}/${owner}/${repo}/commit/${sha}`,
        author: personJson(header("author")[0] ?? ""),
        committer: personJson(header("committer")[0] ?? ""),
        tree: { sha: tree, url: `${base}/git/trees/${tree}` },
        message: split === -1 ? "" : raw.slice(split + 2),
        parents: header("parent").map((p) => ({ sha: p, url: `${base}/git/commits/${p}`, html_url: `${url}/${owner}/${repo}/commit/${p}` })),
        verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
      };
    };
    const refJson = (ref: string, sha: string) => ({
      ref,
      node_id: `REF_${Buffer.from(ref).toString("base64")}`,
      url: `${base}/git/${ref}`,
      object: { sha, type: objectType(dir, sha) ?? "commit", url: `${base}/git/${objectType(dir, sha) ?? "commit"}s/${sha}` },
    });

    let m: RegExpExecArray | null;
    if (rest === "blobs" && method === "POST") {
      const encoding = body.encoding ?? "utf-8";
      if (typeof body.content !== "string") throw invalid("Invalid request.\n\n\"content\" wasn't supplied.", "blobs#create-a-blob");
      if (encoding !== "utf-8" && encoding !== "utf8" && encoding !== "base64") throw invalid(`encoding must be one of utf-8, base64`, "blobs#create-a-blob");
      const bytes = encoding === "base64" ? Buffer.from(body.content, "base64") : Buffer.from(body.content, "utf8");
      const sha = plumb(dir, ["hash-object", "-w", "--stdin"], { input: bytes }).toString().trim();
      return { status: 201, body: { sha, url: `${base}/git/blobs/${sha}` } };
    }
    if ((m = /^blobs\/([^/]+)$/.exec(rest)) && method === "GET") {
      const sha = m[1]!.toLowerCase();
      if (objectType(dir, sha) !== "blob") throw notFound("blobs#get-a-blob");
      const bytes = plumb(dir, ["cat-file", "blob", sha]);
      // GitHub wraps the base64 at 60 characters.
      const content = bytes.toString("base64").replace(/.{1,60}/g, "$&\n");
      return { status: 200, body: { sha, node_id: `B_${sha}`, size: bytes.length, url: `${base}/git/blobs/${sha}`, content, encoding: "base64" } };
    }
    if ((m = /^commits\/([^/]+)$/.exec(rest)) && method === "GET") {
      const sha = m[1]!.toLowerCase();
      if (objectType(dir, sha) !== "commit") throw notFound("commits#get-a-commit-object");
      return { status: 200, body: commitJson(sha) };
    }
    if (rest === "trees" && method === "POST") return { status: 201, body: createTree(dir, base, body) };
    if (rest === "commits" && method === "POST") {
      const docs = "commits#create-a-commit";
      if (typeof body.message !== "string") throw invalid("Invalid request.\n\n\"message\" wasn't supplied.", docs);
      if (typeof body.tree !== "string") throw invalid("Invalid request.\n\n\"tree\" wasn't supplied.", docs);
      if (objectType(dir, body.tree) !== "tree") throw invalid("Tree SHA does not exist", docs);
      const parents = body.parents ?? [];
      if (!Array.isArray(parents)) throw invalid("Invalid request.\n\nFor 'properties/parents', is not an array.", docs);
      for (const p of parents) if (objectType(dir, p) !== "commit") throw invalid("Parent SHA does not exist or is not a commit object", docs);
      const person = (value: unknown, field: string): { name: string; email: string; date: string } | null => {
        if (value === undefined || value === null) return null;
        const v = value as Record<string, unknown>;
        if (typeof v !== "object" || typeof v.name !== "string" || typeof v.email !== "string" || !v.name || !v.email) throw invalid(`Invalid request.\n\n"name" and "email" are required in '${field}'.`, docs);
        const date = v.date === undefined ? gitDate(new Date().toISOString()) : gitDate(v.date);
        if (!date) throw invalid(`Invalid request.\n\n${JSON.stringify(v.date)} is not a valid date-time in '${field}'.`, docs);
        return { name: v.name, email: v.email, date };
      };
      const author = person(body.author, "author") ?? { name: LOGIN, email: BOT_EMAIL, date: gitDate(new Date().toISOString())! };
      const committer = person(body.committer, "committer") ?? author;
      const env = {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_AUTHOR_DATE: author.date,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
        GIT_COMMITTER_DATE: committer.date,
      };
      const args = ["commit-tree", body.tree.toLowerCase(), ...parents.flatMap((p: string) => ["-p", p.toLowerCase()])];
      const sha = plumb(dir, args, { input: body.message, env }).toString().trim();
      return { status: 201, body: commitJson(sha) };
    }
    if ((m = /^ref\/(.+)$/.exec(rest)) && method === "GET") {
      const ref = `refs/${decodePath(m[1]!)}`;
      const sha = validRefName(ref) ? refTarget(dir, ref) : null;
      if (!sha) throw notFound("refs#get-a-reference");
      return { status: 200, body: refJson(ref, sha) };
    }
    if (rest === "refs" && method === "POST") {
      const docs = "refs#create-a-reference";
      const ref = body.ref;
      if (typeof ref !== "string" || !validRefName(ref)) throw invalid(`${JSON.stringify(ref)} is not a valid ref name.`, docs);
      const type = objectType(dir, body.sha);
      if (!type || (ref.startsWith("refs/heads/") && type !== "commit")) throw invalid("Object does not exist", docs);
      if (refTarget(dir, ref)) throw invalid("Reference already exists", docs);
      const sha = (body.sha as string).toLowerCase();
      preReceive(dir, owner, repo, { ref, old: "0".repeat(40), sha }, token, docs);
      try {
        // The zero old value makes the update fail if the ref appeared meanwhile.
        plumb(dir, ["update-ref", "-m", "created via the Git Data API", ref, sha, "0".repeat(40)]);
      } catch (err) {
        throw invalid(`Reference cannot be created: ${String((err as { stderr?: unknown }).stderr ?? err).trim()}`, docs);
      }
      return { status: 201, body: refJson(ref, sha) };
    }
    if ((m = /^refs\/(.+)$/.exec(rest)) && method === "PATCH") {
      const docs = "refs#update-a-reference";
      const ref = `refs/${decodePath(m[1]!)}`;
      const current = validRefName(ref) ? refTarget(dir, ref) : null;
      if (!current) throw invalid("Reference does not exist", docs);
      const type = objectType(dir, body.sha);
      if (!type || (ref.startsWith("refs/heads/") && type !== "commit")) throw invalid("Object does not exist", docs);
      const sha = (body.sha as string).toLowerCase();
      if (body.force !== true && sha !== current) {
        try {
          plumb(dir, ["merge-base", "--is-ancestor", current, sha]);
        } catch {
          throw invalid("Update is not a fast forward", docs);
        }
      }
      preReceive(dir, owner, repo, { ref, old: current, sha }, token, docs);
      try {
        // Compare-and-swap against the value checked above.
        plumb(dir, ["update-ref", "-m", "updated via the Git Data API", ref, sha, current]);
      } catch {
        throw invalid("Reference cannot be updated", docs);
      }
      return { status: 200, body: refJson(ref, sha) };
    }
    return null;
  }

  /**
   * POST /git/trees: the entries of `base_tree` (recursively) as a path → object map, the request's
   * entries applied to it in order, written through a throw-away index with `git write-tree`.
   */
  function createTree(dir: string, base: string, body: Record<string, unknown>) {
    const docs = "trees#create-a-tree";
    const invalid = (message: string): HttpError => new HttpError(422, { message, documentation_url: `${GIT_DATA_DOCS}/${docs}` });
    if (!Array.isArray(body.tree)) throw invalid("Invalid request.\n\n\"tree\" wasn't supplied.");
    const files = new Map<string, { mode: string; sha: string }>();
    /** Reads the blobs and gitlinks of tree `sha` into `files`, under `prefix`. */
    const readTree = (sha: string, prefix: string) => {
      const out = plumb(dir, ["ls-tree", "-r", "-z", "--full-tree", sha]).toString("utf8");
      for (const line of out.split("\0")) {
        const e = /^(\d+) (\w+) ([0-9a-f]+)\t([\s\S]+)$/.exec(line);
        if (e) files.set(`${prefix}${e[4]}`, { mode: e[1]!, sha: e[3]! });
      }
    };
    if (body.base_tree !== undefined && body.base_tree !== null) {
      if (objectType(dir, body.base_tree) !== "tree") throw invalid("base_tree is not a valid tree oid");
      readTree((body.base_tree as string).toLowerCase(), "");
    }
    /** Removes `path` and everything under it; returns whether anything was there. */
    const remove = (path: string): boolean => {
      let found = false;
      for (const key of [...files.keys()]) {
        if (key === path || key.startsWith(`${path}/`)) {
          files.delete(key);
          found = true;
        }
      }
      return found;
    };
    const modes: Record<string, string> = { "100644": "blob", "100755": "blob", "120000": "blob", "160000": "commit", "040000": "tree", "40000": "tree" };
    for (const raw of body.tree as unknown[]) {
      const entry = (raw ?? {}) as Record<string, unknown>;
      const path = entry.path;
      if (typeof path !== "string" || path === "" || path.split("/").some((c) => c === "" || c === "." || c === ".." || c === ".git")) {
        throw invalid(`tree.path ${JSON.stringify(path)} is not a valid path`);
      }
      const mode = String(entry.mode ?? "");
      const type = entry.type ?? modes[mode];
      if (!modes[mode]) throw invalid(`tree.mode ${JSON.stringify(entry.mode)} is not a valid mode`);
      if (type !== modes[mode]) throw invalid(`tree.type ${JSON.stringify(entry.type)} does not match mode ${mode}`);
      const hasContent = entry.content !== undefined && entry.content !== null;
      const hasSha = "sha" in entry && entry.sha !== undefined;
      if (hasContent === hasSha) throw invalid("Must supply either tree.sha or tree.content. Request will be rejected if both are present.");
      if (entry.sha === null) {
        // GitHub: "Returns an error if you try to delete a file that does not exist."
        if (!remove(path)) throw invalid("GitRPC::BadObjectState");
        continue;
      }
      let sha: string;
      if (hasContent) {
        if (type !== "blob" || typeof entry.content !== "string") throw invalid("tree.content is only valid for blobs");
        sha = plumb(dir, ["hash-object", "-w", "--stdin"], { input: Buffer.from(entry.content, "utf8") }).toString().trim();
      } else {
        if (typeof entry.sha !== "string") throw invalid(`tree.sha ${JSON.stringify(entry.sha)} is not a valid ${type}`);
        sha = entry.sha.toLowerCase();
        // Gitlinks name commits of another repository: GitHub does not look for them.
        if (type === "commit" ? !/^[0-9a-f]{40}$/.test(sha) : objectType(dir, sha) !== type) throw invalid(`tree.sha ${entry.sha} is not a valid ${type}`);
      }
      // A file where a directory was, or a directory where a file was: the old one goes.
      remove(path);
      const parts = path.split("/");
      for (let i = 1; i < parts.length; i++) files.delete(parts.slice(0, i).join("/"));
      if (type === "tree") readTree(sha, `${path}/`);
      else files.set(path, { mode, sha });
    }
    const tmp = mkdtempSync(join(tmpdir(), "forkyard-github-index-"));
    try {
      const env = { GIT_INDEX_FILE: join(tmp, "index") };
      const info = [...files].map(([path, f]) => `${f.mode} ${f.sha}\t${path}\0`).join("");
      plumb(dir, ["read-tree", "--empty"], { env });
      if (info) plumb(dir, ["update-index", "-z", "--index-info"], { input: info, env });
      const sha = plumb(dir, ["write-tree"], { env }).toString().trim();
      const listing = plumb(dir, ["ls-tree", "-l", "-z", sha]).toString("utf8");
      const tree = listing
        .split("\0")
        .map((line) => /^(\d+) (\w+) ([0-9a-f]+) +(-|\d+)\t([\s\S]+)$/.exec(line))
        .filter((e) => e !== null)
        .map((e) => ({ path: e[5]!, mode: e[1]!, type: e[2]!, sha: e[3]!, ...(e[4] === "-" ? {} : { size: Number(e[4]) }), url: `${base}/git/${e[2]}s/${e[3]}` }));
      return { sha, url: `${base}/git/trees/${sha}`, tree, truncated: false };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
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
    // What sandbox code sends (attack tests): appended as text, read back whole, cleared.
    if (path === "/__loot") {
      if (req.method === "POST") loot.push((await readBody(req)).toString());
      if (req.method === "DELETE") loot.length = 0;
      res.writeHead(200, { "Content-Type": "text/plain" }).end(req.method === "GET" ? loot.join("\n") : "ok");
      return;
    }
    if (path === "/__reset") {
      calls.length = 0;
      pulls = [];
      comments = [];
      roles = new Map(Object.entries(options.roles ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      return send(res, 200, { ok: true });
    }
    if (path === "/__state") return send(res, 200, { pulls: pulls.map(pullJson), comments: comments.map(commentJson) });
    if (path === "/__seed/role" && req.method === "POST") {
      const body = JSON.parse((await readBody(req)).toString() || "{}") as { owner: string; repo: string; login: string; role: string };
      roles.set(`${body.owner}/${body.repo}/${body.login}`.toLowerCase(), body.role);
      return send(res, 200, { ok: true });
    }
    if (path === "/__seed/comment" && req.method === "POST") {
      const body = JSON.parse((await readBody(req)).toString() || "{}") as { owner: string; repo: string; issue: number; body: string; login: string };
      const now = new Date().toISOString();
      const comment: IssueComment = { id: nextId++, owner: body.owner, repo: body.repo, issue: body.issue, body: body.body, author: body.login, createdAt: now, updatedAt: now };
      comments.push(comment);
      return send(res, 201, commentJson(comment));
    }
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
        const token = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
        const result = api(record.method, path.slice("/api/v3".length), parsed.searchParams, (record.body ?? {}) as Record<string, unknown>, token);
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
  // Codertocat sends the @octokit/webhooks-examples payloads the tests deliver.
  return startGitHubServer({ token, gitRoot, echoCredentialsFor: ["octo/rejecting"], roles: { "octo/*/Codertocat": "write" } });
}
