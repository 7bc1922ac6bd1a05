// A session's work can leave it like a fork's: its patch against the base (GET …/patch), diff
// stats in its view, and POST …/pick's command that takes it into a clone.
import { beforeEach, describe, expect, it } from "vitest";
import { api, sandboxAdmin, scriptedModel } from "./helpers";
import { bash, createSession, getSession, say, send, setScript, turnEnded, waitForSession, writeFile } from "./session-helpers";

beforeEach(async () => {
  await scriptedModel.reset();
  await sandboxAdmin.reset();
});

describe("a session's work", () => {
  it("is its patch against the base (committed or not), with diff stats, and pick answers how to take it", async () => {
    const session = await createSession({ title: "work" });
    // Nothing to take before a turn has ended.
    const early = await api(`/v1/sessions/${session.id}/pick`, { method: "POST" });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe("no_work_yet");

    await setScript([writeFile("notes.txt", "hello"), bash("echo more >> README.md && git add README.md && git commit -qm edit && echo ok"), say("done")]);
    await send(session.id, "Write notes and edit the README");
    await waitForSession(session.id, "the turn", turnEnded(1));

    // Taken now (the sandbox runs idle): the untracked file and the committed edit, against the base.
    const res = await api(`/v1/sessions/${session.id}/patch`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/x-diff");
    const patch = await res.text();
    expect(patch).toContain("diff --git a/README.md b/README.md");
    expect(patch).toContain("+more");
    expect(patch).toContain("diff --git a/notes.txt b/notes.txt");
    expect(patch).toContain("+hello");
    const view = await getSession(session.id);
    expect(view.work).toMatchObject({ turn: 1, diff: { files: 2, insertions: 2, deletions: 0 }, patch: { href: `/v1/sessions/${session.id}/patch` } });
    expect(view.work!.patch!.bytes).toBe(new TextEncoder().encode(patch).byteLength);

    const pick = await api(`/v1/sessions/${session.id}/pick`, { method: "POST" });
    expect(pick.status).toBe(200);
    const picked = (await pick.json()) as { branch: string; fetch: string; patch: string; diff: { files: number } };
    expect(picked.branch).toBe(view.workBranch);
    expect(picked.diff.files).toBe(2);
    expect(picked.patch).toMatch(new RegExp(`/v1/sessions/${session.id}/patch$`));
    expect(picked.fetch).toContain(`git switch -c ${view.workBranch} FETCH_HEAD`);
    expect(picked.fetch).toContain("git apply --3way");

    // Paused, the work stands as the pause took it.
    expect((await api(`/v1/sessions/${session.id}/pause`, { method: "POST" })).status).toBe(200);
    expect((await api(`/v1/sessions/${session.id}/patch`)).status).toBe(200);
    expect((await api(`/v1/sessions/${session.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await api("/v1/sessions/saaaaaaaaaaaaaaaaaaaa/patch")).status).toBe(404);
  });
});
