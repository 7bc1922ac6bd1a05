// Which push and github targets a run may name (src/github/targets.ts).
import { describe, expect, it } from "vitest";
import type { CreateRunRequest } from "../../src/api/runs";
import type { Config } from "../../src/core/env";
import { InvalidInputError } from "../../src/core/errors";
import { validateGitHubTarget } from "../../src/github/targets";

const config = { GITHUB_TOKEN: "t", GITHUB_API_URL: "https://api.github.com" } as Config;
const request = (repo: string, extra: Partial<CreateRunRequest> = {}) => ({ repo, task: { commands: ["true"] }, ...extra }) as CreateRunRequest;
const thread = { owner: "octo", repo: "hello", issueNumber: 1, pullRequests: "best", comment: true } as const;

function fieldAtFault(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as InvalidInputError).details?.field as string;
  }
  return undefined;
}

describe("a run's github thread", () => {
  it("cannot be named by a run on a local path (400 on github), with or without push", () => {
    expect(fieldAtFault(() => validateGitHubTarget(request("/srv/repos/app", { github: thread }), config))).toBe("github");
    expect(fieldAtFault(() => validateGitHubTarget(request("/srv/repos/app", { github: thread, push: true }), config))).toBe("github");
    expect(fieldAtFault(() => validateGitHubTarget(request("/srv/repos/app", { github: thread }), { ...config, GITHUB_TOKEN: undefined }))).toBe("github");
  });

  it("is accepted on its own repository's URL", () => {
    expect(fieldAtFault(() => validateGitHubTarget(request("https://github.com/octo/hello.git", { github: thread, push: true }), config))).toBeUndefined();
    expect(fieldAtFault(() => validateGitHubTarget(request("/srv/repos/app"), config))).toBeUndefined();
  });
});
