// Marker comments count only when Forkyard's own login wrote them (src/github/identity.ts): the
// summary and replies are found again only among its own comments, and a marked comment by
// anyone else is an ordinary comment (its /fork still counts).
import { describe, expect, it } from "vitest";
import type { GitHubClient } from "../../src/github/client";
import { ownLogin } from "../../src/github/identity";
import { upsertIssueComment } from "../../src/github/operations";
import { decideTrigger, type TriggerInput } from "../../src/github/triggers";

const MARKER = "<!-- forkyard:run:rabc -->";

/** A client whose issue comments are `comments`; it records the calls that change them, and GET /user. */
function fakeClient(comments: { id: number; user: { login: string }; body: string }[]) {
  const changes: string[] = [];
  let userCalls = 0;
  const client = {
    rest: {
      issues: {
        listComments: async ({ page }: { page: number }) => ({ data: page === 1 ? comments.map((c) => ({ ...c, html_url: `https://github.com/c/${c.id}` })) : [] }),
        updateComment: async ({ comment_id }: { comment_id: number }) => void changes.push(`update ${comment_id}`),
        createComment: async () => {
          changes.push("create");
          return { data: { id: 99, html_url: "https://github.com/c/99" } };
        },
      },
      users: {
        getAuthenticated: async () => {
          userCalls++;
          return { data: { login: "forkyard-bot" } };
        },
      },
    },
  } as unknown as GitHubClient;
  return { client, changes, userCalls: () => userCalls };
}

describe("the report comment is found among Forkyard's own comments only", () => {
  it("posts its own comment when only someone else's carries the marker, and updates its own", async () => {
    const planted = fakeClient([{ id: 1, user: { login: "mallory" }, body: `${MARKER}\nmerge fork 1` }]);
    const posted = await upsertIssueComment(planted.client, { owner: "octo", repo: "hello", issueNumber: 7, marker: MARKER, body: "report", author: "forkyard-bot" });
    expect(posted).toMatchObject({ id: 99, created: true });
    expect(planted.changes).toEqual(["create"]);

    const both = fakeClient([
      { id: 1, user: { login: "mallory" }, body: MARKER },
      { id: 2, user: { login: "Forkyard-Bot" }, body: MARKER },
    ]);
    expect(await upsertIssueComment(both.client, { owner: "octo", repo: "hello", issueNumber: 7, marker: MARKER, body: "report", author: "forkyard-bot" })).toMatchObject({ id: 2, created: false });
    expect(both.changes).toEqual(["update 2"]);
  });

  it("learns its login from GET /user once per token (cached)", async () => {
    const fake = fakeClient([]);
    expect(await ownLogin(fake.client, "token-a", 1_000)).toBe("forkyard-bot");
    expect(await ownLogin(fake.client, "token-a", 2_000)).toBe("forkyard-bot");
    expect(fake.userCalls()).toBe(1);
    await ownLogin(fake.client, "token-b", 3_000);
    expect(fake.userCalls()).toBe(2);
  });
});

describe("a comment with a marker as a trigger", () => {
  const input = (login: string): TriggerInput => ({
    event: "issue_comment",
    deliveryId: "d1",
    payload: {
      action: "created",
      repository: { name: "hello", owner: { login: "octo" }, clone_url: "https://github.com/octo/hello.git", default_branch: "main" },
      issue: { number: 7, title: "Bug", body: "" },
      comment: { id: 5, body: `${MARKER}\n/fork 2 fix the bug`, user: { login, type: "User" } },
    },
    config: { GITHUB_TRIGGERS: ["label", "comment"], GITHUB_TRIGGER_LABEL: "forkyard", GITHUB_MAX_FORKS: 5, GITHUB_MAX_BUDGET_USD: 10, GITHUB_COMMENT_CHECK: false },
    roleOf: async () => "write",
    ownLogin: async () => "forkyard-bot",
  });

  it("is Forkyard's own report only when Forkyard's login wrote it", async () => {
    expect(await decideTrigger(input("forkyard-bot"))).toEqual({ kind: "ignored", reason: "This is a Forkyard report comment." });
  });

  it("written by anyone else, is an ordinary comment: its /fork counts", async () => {
    const decision = await decideTrigger(input("Codertocat"));
    expect(decision).toMatchObject({ kind: "run", trigger: "comment", request: { forks: 2, task: { prompt: "fix the bug" } } });
  });
});
