import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGitHub, type GitHubServer } from "../support/github-server.ts";
import { createTestRepo } from "../support/test-repo.ts";

const TOKEN = "ghs_node-test-git-data-0000";
const BRANCH = "forkyard/run_x/1";

type Json = Record<string, any>;

describe("test GitHub: the Git Data API, on the real bare repository", () => {
  let root: string;
  let bare: string;
  let server: GitHubServer;
  const gitCli = (...args: string[]) => execFileSync("git", ["--git-dir", bare, ...args], { stdio: "pipe" });

  /** A REST call to `/repos/octo/hello/<path>`, as a client holding the token makes it. */
  async function call(method: string, path: string, body?: unknown, auth: string | null = `token ${TOKEN}`): Promise<{ status: number; json: Json }> {
    const headers: Record<string, string> = { Accept: "application/vnd.github+json" };
    if (auth) headers.Authorization = auth;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${server.apiUrl}/repos/octo/hello/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Json };
  }
  const blobSha = (bytes: Buffer) => createHash("sha1").update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes])).digest("hex");

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "forkyard-github-git-data-"));
    const source = createTestRepo(join(root, "source"));
    server = await startTestGitHub(join(root, "github"), source, TOKEN);
    bare = join(root, "github", "octo", "hello.git");
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("builds a tree, commits it and moves a branch the way GitHub does, and git sees exactly that", async () => {
    // The base: main, seeded by createTestRepo (README.md, counter.txt).
    const main = await call("GET", "git/ref/heads/main");
    expect(main.status).toBe(200);
    expect(main.json).toMatchObject({ ref: "refs/heads/main", object: { type: "commit" } });
    const baseSha = main.json.object.sha as string;
    expect(baseSha).toBe(gitCli("rev-parse", "main").toString().trim());
    const baseCommit = await call("GET", `git/commits/${baseSha}`);
    expect(baseCommit.status).toBe(200);
    expect(baseCommit.json).toMatchObject({ sha: baseSha, message: "initial\n", parents: [], author: { name: "Test", email: "test@example.com" } });
    const baseTree = baseCommit.json.tree.sha as string;
    expect(baseTree).toBe(gitCli("rev-parse", "main^{tree}").toString().trim());
    expect((await call("GET", `git/commits/${"0".repeat(40)}`)).status).toBe(404);

    // Blobs: text, and binary through base64.
    const script = "#!/bin/sh\necho hi\n";
    const text = await call("POST", "git/blobs", { content: script, encoding: "utf-8" });
    expect(text.status).toBe(201);
    expect(text.json.sha).toBe(blobSha(Buffer.from(script)));
    expect(text.json.url).toBe(`${server.apiUrl}/repos/octo/hello/git/blobs/${text.json.sha}`);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const binary = await call("POST", "git/blobs", { content: bytes.toString("base64"), encoding: "base64" });
    expect(binary.status).toBe(201);
    expect(binary.json.sha).toBe(blobSha(bytes));
    const fetched = await call("GET", `git/blobs/${binary.json.sha}`);
    expect(fetched.status).toBe(200);
    expect(fetched.json).toMatchObject({ sha: binary.json.sha, size: 256, encoding: "base64" });
    expect(Buffer.from(fetched.json.content as string, "base64").equals(bytes)).toBe(true);
    expect((await call("GET", `git/blobs/${"1".repeat(40)}`)).status).toBe(404);

    // A tree on top of main's: a nested new file, a modified file, a deletion, an executable, a symlink, a binary file and a submodule.
    const treeBody = {
      base_tree: baseTree,
      tree: [
        { path: "docs/nested/deep/new.txt", mode: "100644", type: "blob", content: "nested\n" },
        { path: "counter.txt", mode: "100644", type: "blob", content: "1\n" },
        { path: "README.md", mode: "100644", type: "blob", sha: null },
        { path: "bin/run.sh", mode: "100755", type: "blob", sha: text.json.sha },
        { path: "link", mode: "120000", type: "blob", content: "counter.txt" },
        { path: "data.bin", mode: "100644", type: "blob", sha: binary.json.sha },
        { path: "vendor/sub", mode: "160000", type: "commit", sha: baseSha },
      ],
    };
    const tree = await call("POST", "git/trees", treeBody);
    expect(tree.status).toBe(201);
    expect(tree.json.truncated).toBe(false);
    expect((tree.json.tree as Json[]).map((e) => [e.path, e.mode, e.type])).toEqual([
      ["bin", "040000", "tree"],
      ["counter.txt", "100644", "blob"],
      ["data.bin", "100644", "blob"],
      ["docs", "040000", "tree"],
      ["link", "120000", "blob"],
      ["vendor", "040000", "tree"],
    ]);
    expect((tree.json.tree as Json[]).find((e) => e.path === "data.bin")).toMatchObject({ sha: binary.json.sha, size: 256 });
    expect((await call("POST", "git/trees", treeBody)).json.sha).toBe(tree.json.sha);

    // What GitHub refuses.
    const refused = async (body: unknown, message: string | RegExp) => {
      const res = await call("POST", "git/trees", body);
      expect(res.status).toBe(422);
      expect(res.json.message).toMatch(message);
      expect(res.json.documentation_url).toMatch(/^https:\/\/docs\.github\.com\//);
    };
    await refused({ base_tree: "2".repeat(40), tree: [{ path: "a", mode: "100644", type: "blob", content: "a" }] }, /base_tree is not a valid tree oid/);
    await refused({ base_tree: baseSha, tree: [{ path: "a", mode: "100644", type: "blob", content: "a" }] }, /base_tree is not a valid tree oid/);
    await refused({ base_tree: baseTree, tree: [{ path: "a", mode: "100644", type: "blob", sha: "3".repeat(40) }] }, /is not a valid blob/);
    await refused({ base_tree: baseTree, tree: [{ path: "missing.txt", mode: "100644", type: "blob", sha: null }] }, /BadObjectState/);
    await refused({ base_tree: baseTree, tree: [{ path: "a", mode: "100644", type: "blob", sha: text.json.sha, content: "x" }] }, /Must supply either tree.sha or tree.content/);

    // A commit with a fixed date: posting it twice gives the same commit.
    const author = { name: "A U Thor", email: "author@example.com", date: "2024-05-06T07:08:09+02:00" };
    const commitBody = { message: "Apply attempt 1\n\nBody.", tree: tree.json.sha, parents: [baseSha], author };
    const first = await call("POST", "git/commits", commitBody);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({
      tree: { sha: tree.json.sha },
      parents: [{ sha: baseSha }],
      message: "Apply attempt 1\n\nBody.",
      author: { name: author.name, email: author.email, date: "2024-05-06T05:08:09Z" },
      committer: { name: author.name, email: author.email, date: "2024-05-06T05:08:09Z" },
    });
    const again = await call("POST", "git/commits", commitBody);
    expect(again.status).toBe(201);
    expect(again.json.sha).toBe(first.json.sha);
    expect((await call("GET", `git/commits/${first.json.sha}`)).json).toEqual(first.json);
    expect((await call("POST", "git/commits", { ...commitBody, tree: "4".repeat(40) })).status).toBe(422);
    expect((await call("POST", "git/commits", { ...commitBody, parents: [tree.json.sha] })).status).toBe(422);
    const bot = await call("POST", "git/commits", { message: "by the bot", tree: baseTree, parents: [baseSha] });
    expect(bot.status).toBe(201);
    expect(bot.json.author).toMatchObject({ name: "forkyard-bot" });
    expect(bot.json.committer).toEqual(bot.json.author);

    // The branch: create it, refuse to create it twice, read it back (also with the slashes encoded, as Octokit sends them).
    const created = await call("POST", "git/refs", { ref: `refs/heads/${BRANCH}`, sha: first.json.sha });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ ref: `refs/heads/${BRANCH}`, object: { sha: first.json.sha, type: "commit" } });
    const twice = await call("POST", "git/refs", { ref: `refs/heads/${BRANCH}`, sha: baseSha });
    expect(twice.status).toBe(422);
    expect(twice.json.message).toBe("Reference already exists");
    expect((await call("POST", "git/refs", { ref: "refs/heads/other", sha: "5".repeat(40) })).status).toBe(422);
    expect((await call("GET", `git/ref/heads/${BRANCH}`)).json.object.sha).toBe(first.json.sha);
    expect((await call("GET", `git/ref/${encodeURIComponent(`heads/${BRANCH}`)}`)).json.object.sha).toBe(first.json.sha);
    expect((await call("GET", "git/ref/heads/forkyard/run_x")).status).toBe(404);

    // Moving it: a commit that does not descend from the branch is refused unless forced; a fast-forward is not.
    const sideways = await call("POST", "git/commits", { message: "elsewhere", tree: baseTree, parents: [baseSha], author });
    const notFf = await call("PATCH", `git/refs/heads/${BRANCH}`, { sha: sideways.json.sha });
    expect(notFf.status).toBe(422);
    expect(notFf.json.message).toBe("Update is not a fast forward");
    expect(gitCli("rev-parse", `refs/heads/${BRANCH}`).toString().trim()).toBe(first.json.sha);
    const forced = await call("PATCH", `git/refs/heads/${BRANCH}`, { sha: sideways.json.sha, force: true });
    expect(forced.status).toBe(200);
    expect(forced.json.object.sha).toBe(sideways.json.sha);
    const onTop = await call("POST", "git/commits", { message: "again", tree: tree.json.sha, parents: [sideways.json.sha], author });
    const ff = await call("PATCH", `git/refs/heads/${BRANCH}`, { sha: onTop.json.sha });
    expect(ff.status).toBe(200);
    expect(ff.json).toMatchObject({ ref: `refs/heads/${BRANCH}`, object: { sha: onTop.json.sha } });
    const missing = await call("PATCH", "git/refs/heads/no-such-branch", { sha: onTop.json.sha, force: true });
    expect(missing.status).toBe(422);
    expect(missing.json.message).toBe("Reference does not exist");

    // What git itself sees on the branch.
    expect(gitCli("rev-parse", `refs/heads/${BRANCH}`).toString().trim()).toBe(onTop.json.sha);
    expect(gitCli("cat-file", "commit", first.json.sha).toString()).toBe(
      `tree ${tree.json.sha}\nparent ${baseSha}\nauthor A U Thor <author@example.com> 1714972089 +0200\ncommitter A U Thor <author@example.com> 1714972089 +0200\n\nApply attempt 1\n\nBody.`,
    );
    const show = (path: string) => gitCli("show", `${BRANCH}:${path}`);
    expect(show("docs/nested/deep/new.txt").toString()).toBe("nested\n");
    expect(show("counter.txt").toString()).toBe("1\n");
    expect(show("bin/run.sh").toString()).toBe(script);
    expect(show("data.bin").equals(bytes)).toBe(true);
    expect(() => show("README.md")).toThrow();
    const sha = (path: string) => gitCli("rev-parse", `${BRANCH}:${path}`).toString().trim();
    expect(gitCli("ls-tree", "-r", BRANCH).toString()).toBe(
      [
        `100755 blob ${text.json.sha}\tbin/run.sh`,
        `100644 blob ${blobSha(Buffer.from("1\n"))}\tcounter.txt`,
        `100644 blob ${binary.json.sha}\tdata.bin`,
        `100644 blob ${blobSha(Buffer.from("nested\n"))}\tdocs/nested/deep/new.txt`,
        `120000 blob ${blobSha(Buffer.from("counter.txt"))}\tlink`,
        `160000 commit ${baseSha}\tvendor/sub`,
        "",
      ].join("\n"),
    );
    expect(sha("link")).toBe(blobSha(Buffer.from("counter.txt")));
    gitCli("fsck", "--no-progress", "--strict", onTop.json.sha);
  });

  it("wants the token, as the rest of the REST API does, and answers 404 for an unknown repository", async () => {
    const before = server.calls().length;
    const marker = `not stored ${Date.now()}\n`;
    const anonymous = await call("POST", "git/blobs", { content: marker, encoding: "utf-8" }, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.message).toBe("Bad credentials");
    expect((await call("GET", "git/ref/heads/main", undefined, "token wrong-token")).status).toBe(401);
    expect((await call("PATCH", "git/refs/heads/main", { sha: "6".repeat(40), force: true }, "Bearer nope")).status).toBe(401);
    expect(() => gitCli("cat-file", "-e", blobSha(Buffer.from(marker)))).toThrow();
    expect((await call("GET", "git/ref/heads/main", undefined, `Bearer ${TOKEN}`)).status).toBe(200);
    const calls = server.calls().slice(before);
    expect(calls.map((c) => [c.method, c.status, c.authMatched])).toEqual([
      ["POST", 401, null],
      ["GET", 401, false],
      ["PATCH", 401, false],
      ["GET", 200, true],
    ]);
    expect(JSON.stringify(calls)).not.toContain(TOKEN);

    const res = await fetch(`${server.apiUrl}/repos/octo/no-such-repo/git/ref/heads/main`, { headers: { Authorization: `token ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ message: "Not Found", documentation_url: expect.stringMatching(/^https:\/\/docs\.github\.com\//) });
  });
});
