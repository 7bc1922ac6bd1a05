// A fork whose Workflow instance makes no progress is restarted by its Orchestrator (not just
// poked), while a fork inside a long, quiet step is left alone: a running step sends heartbeats.
// STALE_FORK_SECONDS is 6 in tests: silence is noticed after 6 s, a restart follows 6 s later.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, createRun, getRun, waitFor, waitForRunStatus } from "./helpers";

/** The event types of an ended run (its stream ends after the log). */
async function eventTypes(runId: string): Promise<string[]> {
  const text = await (await api(`/v1/runs/${runId}/events`)).text();
  return text.split("\n").filter((l) => l.startsWith("event: ")).map((l) => l.slice(7));
}

const workflows = env as unknown as { FORK_WORKFLOW: Workflow };

describe("stuck forks", () => {
  // Both at once: each waits out two stale periods.
  it("restarts a fork whose instance stopped making progress, and leaves a long, quiet step alone", async () => {
    const quiet = await createRun({ task: { commands: ["sleep 15"] } });
    const stuck = await createRun({ task: { commands: ["sleep 2", "echo after > after.txt"] } });
    await waitFor("the fork's first command", async () => (await getRun(stuck.id)).forks[0]!.steps.some((s) => s.name === "command-1"));
    // Stopped behind Forkyard's back: paused, the instance makes no progress and no event moves it.
    await (await workflows.FORK_WORKFLOW.get(`${stuck.id}-1`)).pause();

    const restarted = await waitForRunStatus(stuck.id, ["completed", "failed"], 110_000);
    expect(restarted.forks[0]!.status).toBe("succeeded");
    expect((await eventTypes(stuck.id)).filter((t) => t === "fork.restarted")).toHaveLength(1);

    // The quiet one sent heartbeats through its 15 s step: never poked into a restart.
    const view = await waitForRunStatus(quiet.id, ["completed", "failed"], 90_000);
    expect(view.forks[0]!.status).toBe("succeeded");
    expect(view.forks[0]!.steps.find((s) => s.name === "command-1")?.attempts).toBe(1);
    expect(await eventTypes(quiet.id)).not.toContain("fork.restarted");
  }, 150_000);
});
