// Runs a user can find (issue 25 item 7): a title (given, else the task's first line) kept with the
// run and in the runs list beside the task, and GET /v1/runs filtered by repository and text.
import { describe, expect, it, vi } from "vitest";
import type { RunSummary } from "../../src/api/runs";
import { api, createRun, getRun, testEnv } from "./helpers";

async function list(query: string): Promise<{ runs: RunSummary[]; nextCursor: string | null }> {
  const res = await api(`/v1/runs?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { runs: RunSummary[]; nextCursor: string | null };
}

describe("finding runs", () => {
  it("titles a run (given, else the task's first line), lists it with its task, and filters by repo and text", async () => {
    const given = await createRun({ title: "Fix the flaky login test", task: { commands: ["true"] } });
    const derived = await createRun({ task: { commands: ["\n  echo 'upgrade 100%_deps'  \necho second line", "true"] } });
    const long = await createRun({ task: { commands: [`echo ${"x".repeat(300)}`] } });

    expect((await getRun(given.id)).request.title).toBe("Fix the flaky login test");
    expect((await getRun(derived.id)).request.title).toBe("echo 'upgrade 100%_deps'");
    const longTitle = (await getRun(long.id)).request.title!;
    expect(Array.from(longTitle)).toHaveLength(120);
    expect(longTitle.endsWith("…")).toBe(true);

    const all = await list("limit=100");
    const row = all.runs.find((r) => r.id === derived.id)!;
    expect(row).toMatchObject({ title: "echo 'upgrade 100%_deps'", task: "echo 'upgrade 100%_deps' echo second line; true" });

    // Text: a substring of the title or the task, case-insensitive; LIKE's wildcards are literal.
    expect((await list("q=FLAKY%20login")).runs.map((r) => r.id)).toEqual([given.id]);
    expect((await list("q=second%20line")).runs.map((r) => r.id)).toEqual([derived.id]);
    expect((await list(`q=${encodeURIComponent("100%_")}`)).runs.map((r) => r.id)).toEqual([derived.id]);
    expect((await list(`q=${encodeURIComponent("1%d")}`)).runs).toEqual([]);
    expect((await list("q=echo&limit=1")).nextCursor).toBeTruthy();
    const page1 = await list("q=echo&limit=1");
    const page2 = await list(`q=echo&limit=1&cursor=${page1.nextCursor}`);
    expect([page1.runs[0]!.id, page2.runs[0]!.id].sort()).toEqual([derived.id, long.id].sort());

    // Repository: as the run shows it; another one lists nothing; combined with the status and text.
    expect((await list(`repo=${encodeURIComponent(testEnv.TEST_REPO)}&limit=100`)).runs.map((r) => r.id).sort()).toEqual([given.id, derived.id, long.id].sort());
    expect((await list(`repo=${encodeURIComponent("https://github.com/acme/other")}`)).runs).toEqual([]);
    expect((await list(`repo=${encodeURIComponent(testEnv.TEST_REPO)}&q=flaky&status=cancelled`)).runs).toEqual([]);
    await api(`/v1/runs/${given.id}/cancel`, { method: "POST" });
    await vi.waitFor(async () => expect((await list(`repo=${encodeURIComponent(testEnv.TEST_REPO)}&q=flaky&status=cancelled`)).runs.map((r) => r.id)).toEqual([given.id]), { timeout: 15_000, interval: 100 });
  });

  it("refuses a title or a search text out of bounds", async () => {
    const res = await api("/v1/runs", { method: "POST", json: { repo: testEnv.TEST_REPO, title: "t".repeat(121), task: { commands: ["true"] } } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("title");
    expect((await api(`/v1/runs?q=${"q".repeat(201)}`)).status).toBe(400);
  });
});
