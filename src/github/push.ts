/**
 * Pushing a fork's work to GitHub without the token ever entering a sandbox. The sandbox ran task
 * code, so anything in it (shell profiles, git config and hooks, a fake `git` on PATH,
 * LD_PRELOAD, a background process reading other processes' environments) may be hostile: it is
 * only ever asked, with no secret in its environment, to export the fork's changes as files. The
 * Worker reads them and builds the commit itself with the Git Data API:
 *
 *   1. in the sandbox: `git diff --raw -z base HEAD`, every new blob's bytes and their sizes, into
 *      EXPORT_DIR;
 *   2. blobs: POST git/blobs for each (base64; content-addressed, so GitHub's sha must equal git's);
 *   3. tree: POST git/trees on the base commit's tree (new, changed, deleted paths; modes; symlinks;
 *      submodule pointers);
 *   4. commit: POST git/commits with the base commit as its only parent, dated with the fork's
 *      HEAD, so a re-run builds the very same commit;
 *   5. ref: create `refs/heads/<branch>`, or move it (Forkyard's own `forkyard/<run>/<n>` branches
 *      are forced; others must fast-forward).
 *
 * What the sandbox can still influence is only the content of the fork's own commit, as it always
 * could. A file larger than MAX_PUSH_FILE_BYTES, or holding one of the deployment's secrets (a
 * claude-code session has the model key), is refused with a clear error.
 */
import { Buffer } from "node:buffer";
import { REPO_DIR } from "../sandbox/git";
import { containsSecret } from "../observability/scrub";
import type { GitHubClient } from "./client";

/** Where the export step writes inside the sandbox. */
export const EXPORT_DIR = "/tmp/forkyard-push";
/** The largest file pushed through the API (it travels base64-encoded through a Worker's memory). */
export const MAX_PUSH_FILE_BYTES = 20 * 1024 * 1024;
const SMALL_BLOB_BYTES = 1024 * 1024;
const BLOB_CONCURRENCY = 6;

const BLOB_MODES = ["100644", "100755", "120000"];

/** Exports the fork's changes against the base; prints HEAD's committer date (ISO 8601) last. */
export const EXPORT_SCRIPT = [
  "set -eu",
  "export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0",
  'cd "$FORKYARD_DIR"',
  'rm -rf "$FORKYARD_EXPORT_DIR" && mkdir -p "$FORKYARD_EXPORT_DIR/blobs"',
  'git diff --raw -z --no-renames --no-abbrev --no-ext-diff "$FORKYARD_BASE_SHA" HEAD > "$FORKYARD_EXPORT_DIR/changes"',
  `git diff --raw --no-renames --no-abbrev --no-ext-diff "$FORKYARD_BASE_SHA" HEAD | awk '$2 ~ /^(${BLOB_MODES.join("|")})$/ { print $4 }' | sort -u |`,
  '  while read -r sha; do git cat-file blob "$sha" > "$FORKYARD_EXPORT_DIR/blobs/$sha"; echo "$sha $(git cat-file -s "$sha")"; done > "$FORKYARD_EXPORT_DIR/sizes"',
  "git log -1 --format=%cI HEAD",
].join("\n");

export function exportEnv(baseSha: string): Record<string, string> {
  return { FORKYARD_DIR: REPO_DIR, FORKYARD_EXPORT_DIR: EXPORT_DIR, FORKYARD_BASE_SHA: baseSha };
}

export interface ChangedPath {
  path: string;
  /** The new mode ("000000" when deleted). */
  mode: string;
  /** The new object: a blob, a submodule's commit, or null when the path is deleted. */
  sha: string | null;
}

/** Parses `git diff --raw -z --no-abbrev`: `:<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0`. */
export function parseRawDiff(raw: string): ChangedPath[] {
  const parts = raw.split("\0");
  const changes: ChangedPath[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = /^:(\d{6}) (\d{6}) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*$/.exec(parts[i]!);
    if (!meta) throw new Error(`unexpected diff line: ${JSON.stringify(parts[i]!.slice(0, 100))}`);
    const [, , newMode, , newSha, status] = meta;
    changes.push(status === "D" ? { path: parts[i + 1]!, mode: "000000", sha: null } : { path: parts[i + 1]!, mode: newMode!, sha: newSha! });
  }
  return changes;
}

/** Parses the export's `sizes` file: `<sha> <bytes>` lines. */
export function parseSizes(text: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+) (\d+)$/.exec(line.trim());
    if (m) sizes.set(m[1]!, Number(m[2]));
  }
  return sizes;
}

/** Reads an exported file out of the sandbox (bytes). */
export type ReadExported = (path: string) => Promise<Uint8Array>;

export interface PushCommitInput {
  owner: string;
  repo: string;
  branch: string;
  /** The commit the fork started from: the new commit's only parent. */
  baseSha: string;
  changes: ChangedPath[];
  /** Each new blob's size, from the export. */
  sizes: Map<string, number>;
  readExported: ReadExported;
  message: string;
  /** HEAD's date in the sandbox: the commit's date, so re-running builds the same commit. */
  date: string;
  /** Move the branch even when the new commit does not descend from it. */
  force: boolean;
  /** The deployment's secrets: a file holding one is never pushed. */
  secrets: readonly string[];
}

/** A push the remote refused or a file too large: not worth retrying. */
export class PushRefusedError extends Error {}

/** Uploads the changed blobs, builds tree and commit on the base, and points the branch at it. */
export async function pushCommit(gh: GitHubClient, input: PushCommitInput): Promise<string> {
  const { owner, repo } = input;
  const blobs = [...new Set(input.changes.filter((c) => c.sha && BLOB_MODES.includes(c.mode)).map((c) => c.sha!))];
  const sizeOf = (sha: string) => input.sizes.get(sha) ?? Number.POSITIVE_INFINITY;
  const tooLarge = blobs.find((sha) => sizeOf(sha) > MAX_PUSH_FILE_BYTES);
  if (tooLarge) {
    const path = input.changes.find((c) => c.sha === tooLarge)?.path ?? tooLarge;
    const size = sizeOf(tooLarge);
    throw new PushRefusedError(`${path} is ${Number.isFinite(size) ? `${(size / 1048576).toFixed(1)} MiB` : "of unknown size"}; files up to ${MAX_PUSH_FILE_BYTES / 1048576} MiB can be pushed.`);
  }
  const upload = async (sha: string) => {
    const bytes = await input.readExported(`${EXPORT_DIR}/blobs/${sha}`);
    if (containsSecret(bytes, input.secrets)) {
      const path = input.changes.find((c) => c.sha === sha)?.path ?? sha;
      throw new PushRefusedError(`${path} contains one of this deployment's secrets: the fork's changes are not pushed.`);
    }
    const created = await gh.rest.git.createBlob({ owner, repo, content: Buffer.from(bytes).toString("base64"), encoding: "base64" });
    if (created.data.sha !== sha) throw new Error(`GitHub stored blob ${created.data.sha} for ${sha}: the exported file does not match its object.`);
  };
  // Small files a few at a time; large ones one by one, so memory stays bounded.
  const small = blobs.filter((sha) => sizeOf(sha) <= SMALL_BLOB_BYTES);
  for (let i = 0; i < small.length; i += BLOB_CONCURRENCY) await Promise.all(small.slice(i, i + BLOB_CONCURRENCY).map(upload));
  for (const sha of blobs.filter((sha) => sizeOf(sha) > SMALL_BLOB_BYTES)) await upload(sha);

  const base = await gh.rest.git.getCommit({ owner, repo, commit_sha: input.baseSha });
  const tree = await gh.rest.git.createTree({
    owner,
    repo,
    base_tree: base.data.tree.sha,
    tree: input.changes.map((c) =>
      c.sha === null
        ? { path: c.path, mode: "100644" as const, type: "blob" as const, sha: null }
        : { path: c.path, mode: c.mode as "100644", type: c.mode === "160000" ? ("commit" as const) : ("blob" as const), sha: c.sha },
    ),
  });
  const identity = { name: "Forkyard", email: "forkyard@users.noreply.github.com", date: input.date };
  const commit = await gh.rest.git.createCommit({ owner, repo, message: input.message, tree: tree.data.sha, parents: [input.baseSha], author: identity, committer: identity });
  await pointBranch(gh, { owner, repo, branch: input.branch, sha: commit.data.sha, force: input.force });
  return commit.data.sha;
}

const status = (err: unknown) => (err as { status?: number })?.status;

/** Creates the branch at `sha`, or moves it there (a no-op when it already is). */
async function pointBranch(gh: GitHubClient, r: { owner: string; repo: string; branch: string; sha: string; force: boolean }): Promise<void> {
  const current = await gh.rest.git.getRef({ owner: r.owner, repo: r.repo, ref: `heads/${r.branch}` }).then(
    (res) => res.data.object.sha,
    (err: unknown) => {
      if (status(err) === 404) return null;
      throw err;
    },
  );
  if (current === r.sha) return;
  try {
    if (current === null) await gh.rest.git.createRef({ owner: r.owner, repo: r.repo, ref: `refs/heads/${r.branch}`, sha: r.sha });
    else await gh.rest.git.updateRef({ owner: r.owner, repo: r.repo, ref: `heads/${r.branch}`, sha: r.sha, force: r.force });
  } catch (err) {
    // 422: not a fast-forward, a ref created meanwhile, or a policy (pre-receive hook) refusal.
    if (status(err) === 422) throw new PushRefusedError(`GitHub refused to point ${r.branch} at ${r.sha}: ${(err as Error).message}`);
    throw err;
  }
}
