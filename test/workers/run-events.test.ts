import { describe, expect, it } from "vitest";
import { api, createRun, gateCommand, getRun, newGate, sandboxAdmin, waitFor, waitForRunStatus } from "./helpers";

interface StreamedEvent {
  id: number;
  type: string;
  data: { seq: number; type: string; fork: number | null; step?: string; stdoutTail?: string; status?: string; index?: number; exitCode?: number };
}

/** Reads a whole SSE response (it ends when the run ends). */
async function readEvents(res: Response): Promise<StreamedEvent[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.includes("data: "))
    .map((block) => {
      const field = (name: string) => block.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? "";
      return { id: Number(field("id")), type: field("event"), data: JSON.parse(field("data")) as StreamedEvent["data"] };
    });
}

describe("GET /v1/runs/:id/events", () => {
  it("streams the run's events live as SSE and ends when the run ends", async () => {
    const run = await createRun({ forks: 2, task: { commands: ["echo hello-$FORKYARD_FORK"] } });
    const res = await api(`/v1/runs/${run.id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/event-stream");
    const events = await readEvents(res);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("run.created");
    expect(types.at(-1)).toBe("run.finished");
    expect(events.at(-1)?.data.status).toBe("completed");
    expect(types.filter((t) => t === "fork.started")).toHaveLength(2);
    expect(types.filter((t) => t === "fork.finished")).toHaveLength(2);
    // Each fork's sandbox time, and its verification sandbox's.
    expect(types.filter((t) => t === "cost.recorded")).toHaveLength(4);
    expect(events.filter((e) => e.type === "step.finished").map((e) => e.data.step)).toContain("acquire-sandbox");
    // Every step's start is in the log before its end, the ungated ones' (budget, release-sandbox,
    // report: their start is reported with their end) included, and before the run's end.
    const stepKey = (e: (typeof events)[number]) => `${e.data.fork}/${e.data.step}`;
    const startedAt = new Map(events.filter((e) => e.type === "step.started").map((e) => [stepKey(e), e.id]));
    const ends = events.filter((e) => e.type === "step.finished");
    expect(ends.map((e) => e.data.step)).toEqual(expect.arrayContaining(["budget", "release-sandbox", "report"]));
    for (const end of ends) expect(startedAt.get(stepKey(end)) ?? Infinity).toBeLessThan(end.id);
    // Output is stored once, with the fork: the event says which command ended and how.
    const finished = events.filter((e) => e.type === "command.finished").map((e) => e.data);
    expect(finished.map((d) => [d.index, d.exitCode])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(finished.every((d) => d.stdoutTail === undefined)).toBe(true);
    // Live output (command.output) has no id: it is not in the log.
    const ids = events.filter((e) => e.type !== "command.output").map((e) => e.id);
    expect(events.filter((e) => e.type === "command.output").every((e) => e.id === 0)).toBe(true);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("resumes after Last-Event-ID from the event log", async () => {
    const run = await createRun({ task: { commands: ["true"] } });
    await waitForRunStatus(run.id, ["completed"]);
    const all = await readEvents(await api(`/v1/runs/${run.id}/events`));
    const middle = all[Math.floor(all.length / 2)]!;
    const rest = await readEvents(await api(`/v1/runs/${run.id}/events`, { headers: { "Last-Event-ID": String(middle.id) } }));
    expect(rest.map((e) => e.id)).toEqual(all.filter((e) => e.id > middle.id).map((e) => e.id));
    expect((await api("/v1/runs/rnosuchrun00000000000/events")).status).toBe(404);
  });

  it("shows a long step as running, in the run's view and to a live watcher, while it runs", async () => {
    const gate = newGate();
    const run = await createRun({ task: { commands: [gateCommand(gate)] } });
    const reader = (await api(`/v1/runs/${run.id}/events`)).body!.pipeThrough(new TextDecoderStream()).getReader();
    let streamed = "";
    while (!streamed.includes('"step":"command-1"')) {
      const { value, done } = await reader.read();
      if (done) break;
      streamed += value;
    }
    // The start reached the watcher live: the command waits for the gate, still closed.
    expect(streamed).toMatch(/"type":"step\.started","fork":1,"step":"command-1"/);
    expect(streamed).not.toContain('"type":"step.finished","fork":1,"step":"command-1"');
    const fork = (await getRun(run.id)).forks[0]!;
    expect(fork.steps.find((s) => s.name === "command-1")?.status).toBe("running");
    await reader.cancel();
    expect(await sandboxAdmin.openGate(gate)).toBeGreaterThan(0);
    expect((await waitForRunStatus(run.id, ["completed", "failed"])).status).toBe("completed");
  });
});

describe("many watchers", () => {
  it("never hold up a run, even when they do not read", async () => {
    const run = await createRun({ forks: 2, task: { commands: ["echo one", "echo two"] } });
    const stalled = await Promise.all(Array.from({ length: 25 }, () => api(`/v1/runs/${run.id}/events`)));
    expect(stalled.every((res) => res.status === 200)).toBe(true);
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    // A watcher that starts reading late still gets everything, ending with run.finished.
    const late = await readEvents(stalled[0]!);
    expect(late.at(-1)?.type).toBe("run.finished");
    await Promise.all(stalled.slice(1).map((res) => res.body?.cancel()));
  });
});

describe("bounded watchers", () => {
  it("a run takes at most 100 event watchers at once; the next is told to come back (429, Retry-After)", async () => {
    const run = await createRun({ task: { commands: ["sleep 15"] } });
    const open: Response[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await api(`/v1/runs/${run.id}/events`);
      expect(res.status).toBe(200);
      open.push(res);
    }
    const refused = await api(`/v1/runs/${run.id}/events`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("5");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    for (const res of open) await res.body?.cancel();
    await api(`/v1/runs/${run.id}/cancel`, { method: "POST" });
    // Gone watchers free their places.
    await waitFor("a watcher place to free up", async () => {
      const res = await api(`/v1/runs/${run.id}/events`);
      await res.body?.cancel();
      return res.status === 200 ? true : undefined;
    });
  });
});
