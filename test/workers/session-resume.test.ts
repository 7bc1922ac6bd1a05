import { beforeEach, describe, expect, it } from "vitest";
import type { TranscriptEntry } from "../../src/api/sessions";
import { Sandbox } from "e2b";
import { api, e2bOptions, sandboxAdmin, scriptedModel } from "./helpers";
import { bash, createSession, modelCalls, say, send, sessionEvents as events, setScript, transcript, turnEnded, waitForSession, writeFile } from "./session-helpers";

const lastToolOutput = (entries: TranscriptEntry[]) => entries.flatMap((e) => (e.role === "tool" ? [e.content] : [])).at(-1);

async function pause(id: string): Promise<void> {
  const res = await api(`/v1/sessions/${id}/pause`, { method: "POST" });
  expect(res.status).toBe(200);
  await waitForSession(id, "paused", (v) => v.sandbox.state === "paused");
}

/** The next resume of a paused sandbox loses these files (paths under /home/user). */
const loseOnResume = (paths: string[]) => sandboxAdmin.faults([{ op: "resume.files", lose: paths, firstK: 1 }]);

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("session resume is verified", () => {
  it("files lost by a resume are back before the turn's first model call (from git, and from R2), and session.repaired says what was wrong", async () => {
    const session = await createSession();
    await waitForSession(session.id, "setup", (v) => v.status === "idle");

    // 1. A tracked file, unchanged against HEAD, lost: git has it.
    await pause(session.id);
    await loseOnResume(["repo/counter.txt"]);
    await setScript([bash("cat counter.txt"), writeFile("notes.txt", "kept across the pause"), bash("printf 'edited\\n' > README.md && printf '1\\n' > counter.txt && git add counter.txt"), say("Done.")]);
    await send(session.id, "Read counter.txt, write notes.txt, edit README.md, stage counter.txt");
    const one = await waitForSession(session.id, "turn 1", turnEnded(1));
    expect(one.turns[0], JSON.stringify(one.turns[0])).toMatchObject({ status: "succeeded", toolCalls: 3 });
    expect((await transcript(session.id)).find((e) => e.role === "tool")?.content).toMatch(/^0$/m);

    // 2. A new file, an edited one and the index (a staged change) lost: their copies in R2 have them.
    await pause(session.id);
    await loseOnResume(["repo/notes.txt", "repo/README.md", "repo/.git/index"]);
    await setScript([bash("cat notes.txt README.md && git diff --cached --name-only"), say("All there.")]);
    await send(session.id, "Is everything there?");
    expect((await waitForSession(session.id, "turn 2", turnEnded(2))).turns[1]!.status).toBe("succeeded");
    const output = lastToolOutput(await transcript(session.id))!;
    expect(output).toContain("kept across the pause\nedited\ncounter.txt\n");
    expect(await modelCalls()).toHaveLength(6);

    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
    const log = await events(session.id);
    const repaired = log.filter((e) => e.type === "session.repaired");
    expect(repaired).toEqual([
      expect.objectContaining({ missing: { count: 1, paths: ["counter.txt"] }, changed: { count: 0, paths: [] }, restored: { fromSnapshot: 0, fromHead: 1, git: ["index"] } }),
      expect.objectContaining({ index: "changed", missing: { count: 2, paths: ["README.md", "notes.txt"] }, changed: { count: 0, paths: [] }, restored: { fromSnapshot: 2, fromHead: 0, git: ["index"] } }),
    ]);
    // Each repair came before its turn started (its first step resumes, verifies, then the turn goes on).
    const at = (type: string, k: number) => log.map((e, i) => (e.type === type ? i : -1)).filter((i) => i >= 0)[k]!;
    expect(at("session.repaired", 0)).toBeLessThan(at("turn.started", 0));
    expect(at("session.repaired", 1)).toBeLessThan(at("turn.started", 1));
    expect(log.some((e) => e.type === "session.repair_failed")).toBe(false);
  });

  it("a sandbox lost between turns, or a resume that cannot be repaired, is rebuilt by the next turn from the last snapshot (nothing to replay), no model call repeated", async () => {
    const session = await createSession();
    await waitForSession(session.id, "setup", (v) => v.status === "idle");
    await setScript([writeFile("notes.txt", "from turn one"), bash("printf 'b\\n' > b.txt && git add b.txt"), say("Done.")]);
    await send(session.id, "Write notes.txt and stage b.txt");
    await waitForSession(session.id, "turn 1", turnEnded(1));
    await pause(session.id);
    const lost = (await waitForSession(session.id, "paused", (v) => v.sandbox.state === "paused")).sandbox.id!;
    await Sandbox.kill(lost, e2bOptions());

    await setScript([bash("cat notes.txt b.txt && git diff --cached --name-only"), say("Both there.")]);
    await send(session.id, "Still there?");
    const view = await waitForSession(session.id, "turn 2", turnEnded(2));
    expect(view.turns[1], JSON.stringify(view)).toMatchObject({ status: "succeeded" });
    expect(view.sandbox.id).not.toBe(lost);
    expect(view.status).not.toBe("failed");
    expect(lastToolOutput(await transcript(session.id))).toContain("from turn one\nb\nb.txt\n");
    expect(await modelCalls()).toHaveLength(5);

    // A resume that loses the whole of .git cannot be repaired: the workspace is rebuilt from the snapshot too.
    await pause(session.id);
    await loseOnResume(["repo/.git"]);
    await setScript([bash("cat notes.txt b.txt && git diff --cached --name-only && git log --format=%s"), say("Still there.")]);
    await send(session.id, "And now?");
    const three = await waitForSession(session.id, "turn 3", turnEnded(3));
    expect(three.turns[2], JSON.stringify(three)).toMatchObject({ status: "succeeded" });
    expect(lastToolOutput(await transcript(session.id))).toContain("from turn one\nb\nb.txt\ninitial\n");
    expect(await modelCalls()).toHaveLength(7);

    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
    const log = await events(session.id);
    expect(log.filter((e) => e.type === "session.repair_failed")).toHaveLength(1);
    expect(log.filter((e) => e.type === "sandbox.lost")).toEqual([expect.objectContaining({ rebuildFrom: "snapshot", replay: 0 }), expect.objectContaining({ rebuildFrom: "snapshot", replay: 0 })]);
    expect(log.filter((e) => e.type === "session.rebuilt")).toEqual([
      expect.objectContaining({ from: "snapshot", replayed: 0, sandboxId: view.sandbox.id, differences: { count: 0, calls: [] } }),
      expect.objectContaining({ from: "snapshot", replayed: 0, sandboxId: three.sandbox.id }),
    ]);
  });

  it("without a snapshot, a plain session is rebuilt from its origin: earlier turns' tool calls replayed, a command whose output changed reported", async () => {
    const session = await createSession();
    await waitForSession(session.id, "setup", (v) => v.status === "idle");
    await setScript([writeFile("notes.txt", "from turn one"), bash("echo -n run-; date +%s%N"), say("Done.")]);
    await send(session.id, "Write notes.txt and tell the time");
    const one = await waitForSession(session.id, "turn 1", turnEnded(1));
    // Lost while idle (running, never paused): no snapshot.
    await Sandbox.kill(one.sandbox.id!, e2bOptions());

    await setScript([bash("cat notes.txt"), say("There.")]);
    await send(session.id, "Still there?");
    const view = await waitForSession(session.id, "turn 2", turnEnded(2));
    expect(view.turns[1], JSON.stringify(view)).toMatchObject({ status: "succeeded" });
    expect(lastToolOutput(await transcript(session.id))).toContain("from turn one");
    expect(await modelCalls()).toHaveLength(5);

    await api(`/v1/sessions/${session.id}`, { method: "DELETE" });
    const rebuilt = (await events(session.id)).filter((e) => e.type === "session.rebuilt");
    expect(rebuilt).toEqual([expect.objectContaining({ from: "origin", replayed: 2, differences: { count: 1, calls: [{ turn: 1, name: "bash", command: "echo -n run-; date +%s%N" }] } })]);
  });
});
