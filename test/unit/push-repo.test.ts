// GITHUB_PUSH_REPO (src/github/push-repo.ts): branches go to a fork of the repository, synced with
// its upstream before the tree is built, or the push fails with a clear error; pull requests come
// from that fork (`owner:branch`).
import { describe, expect, it } from "vitest";
import type { GitHubClient } from "../../src/github/client";
import { ensurePullRequest } from "../../src/github/operations";
import { headOwner, preparePushRepo, pushRepoUrl, PushRepoError } from "../../src/github/push-repo";

const upstream = { owner: "octo", repo: "hello" };
const config = { GITHUB_PUSH_REPO: "forkyard-bot/hello" };

/** A client answering GET /repos and merge-upstream as told, recording the calls. */
function fakeClient(repoAnswer: () => unknown, mergeStatus = 200) {
  const calls: string[] = [];
  const failure = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });
  const client = {
    rest: {
      repos: {
        get: async ({ owner, repo }: { owner: string; repo: string }) => {
          calls.push(`get ${owner}/${repo}`);
          return { data: repoAnswer() };
        },
        mergeUpstream: async ({ owner, repo, branch }: { owner: string; repo: string; branch: string }) => {
          calls.push(`merge-upstream ${owner}/${repo} ${branch}`);
          if (mergeStatus !== 200) throw failure(mergeStatus);
          return { data: { merge_type: "fast-forward" } };
        },
      },
      pulls: {
        list: async ({ head }: { head: string }) => {
          calls.push(`list ${head}`);
          return { data: [] };
        },
        create: async ({ head }: { head: string }) => {
          calls.push(`create ${head}`);
          return { data: { number: 7, html_url: "https://github.com/octo/hello/pull/7" } };
        },
      },
    },
  } as unknown as GitHubClient;
  return { client, calls, failure };
}

describe("GITHUB_PUSH_REPO", () => {
  it("unset: branches go to the repository itself, nothing asked", async () => {
    const fake = fakeClient(() => ({}));
    expect(await preparePushRepo(fake.client, upstream, "main", {})).toEqual(upstream);
    expect(fake.calls).toEqual([]);
    expect(headOwner(upstream, {})).toBe("octo");
    expect(pushRepoUrl({})).toBeNull();
  });

  it("a fork of the repository: synced with its upstream's base branch, then the push target", async () => {
    const fake = fakeClient(() => ({ fork: true, parent: { full_name: "Octo/Hello" } }));
    expect(await preparePushRepo(fake.client, upstream, "main", config)).toEqual({ owner: "forkyard-bot", repo: "hello" });
    expect(fake.calls).toEqual(["get forkyard-bot/hello", "merge-upstream forkyard-bot/hello main"]);
    expect(headOwner(upstream, config)).toBe("forkyard-bot");
    expect(pushRepoUrl({ ...config, GITHUB_API_URL: "https://api.github.com" })).toBe("https://github.com/forkyard-bot/hello.git");
  });

  it("refuses, clearly, a repository that is not a fork of the run's, one that does not exist, and a fork that cannot be synced", async () => {
    const other = fakeClient(() => ({ fork: true, parent: { full_name: "someone/else" } }));
    await expect(preparePushRepo(other.client, upstream, "main", config)).rejects.toThrow(/forkyard-bot\/hello is not a fork of octo\/hello \(it forks someone\/else\)/);
    expect(other.calls).toEqual(["get forkyard-bot/hello"]);
    const notFork = fakeClient(() => ({ fork: false }));
    await expect(preparePushRepo(notFork.client, upstream, "main", config)).rejects.toBeInstanceOf(PushRepoError);
    const missing = fakeClient(() => {
      throw Object.assign(new Error("Not Found"), { status: 404 });
    });
    await expect(preparePushRepo(missing.client, upstream, "main", config)).rejects.toThrow(/does not exist, or the token cannot see it/);
    const diverged = fakeClient(() => ({ fork: true, parent: { full_name: "octo/hello" } }), 409);
    const error = await preparePushRepo(diverged.client, upstream, "main", config).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PushRepoError);
    expect((error as PushRepoError).code).toBe("push_repo_invalid");
    expect((error as PushRepoError).message).toMatch(/could not be synced with octo\/hello's main \(GitHub 409\)/);
  });

  it("pull requests come from the fork: owner:branch, looked up the same way", async () => {
    const fake = fakeClient(() => ({}));
    await ensurePullRequest(fake.client, { ...upstream, head: "forkyard/r1/2", headOwner: "forkyard-bot", base: "main", title: "t", body: "b" });
    expect(fake.calls).toEqual(["list forkyard-bot:forkyard/r1/2", "create forkyard-bot:forkyard/r1/2"]);
    const same = fakeClient(() => ({}));
    await ensurePullRequest(same.client, { ...upstream, head: "forkyard/r1/2", base: "main", title: "t", body: "b" });
    expect(same.calls).toEqual(["list octo:forkyard/r1/2", "create forkyard/r1/2"]);
  });
});
