// /refork stays within the deployment's caps of GitHub-started work (src/webhooks/refork-reply.ts).
import { describe, expect, it } from "vitest";
import { reforkCapRefusal } from "../../src/webhooks/refork-reply";

const caps = { GITHUB_MAX_FORKS: 5, GITHUB_MAX_BUDGET_USD: 10 };

describe("/refork caps", () => {
  it("branches a run with room under GITHUB_MAX_FORKS and a budget within GITHUB_MAX_BUDGET_USD", () => {
    expect(reforkCapRefusal({ forks: 4, budgetUsd: 10 }, caps)).toBeNull();
  });

  it("refuses a fork past GITHUB_MAX_FORKS", () => {
    expect(reforkCapRefusal({ forks: 5, budgetUsd: 1 }, caps)).toMatch(/the run has 5 forks: .* at most 5 .*GITHUB_MAX_FORKS/);
  });

  it("refuses a run whose budget is above GITHUB_MAX_BUDGET_USD, or unlimited", () => {
    expect(reforkCapRefusal({ forks: 1, budgetUsd: 50 }, caps)).toMatch(/a budget of \$50: .* \$10 .*GITHUB_MAX_BUDGET_USD/);
    expect(reforkCapRefusal({ forks: 1, budgetUsd: undefined }, caps)).toMatch(/no budget limit/);
  });
});
