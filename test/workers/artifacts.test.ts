// Artifacts and patches: files by glob and each fork's patch go to R2 (ARTIFACTS) before the
// sandbox is released, and download byte-identical to what was in the sandbox.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ArtifactStore } from "../../src/artifacts/store";
import type { Env } from "../../src/core/env";
import { api, createRun, waitForRunStatus } from "./helpers";

const sha256 = async (bytes: ArrayBuffer) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

const MAKE_FILES = [
  "mkdir -p dist/sub coverage",
  "printf 'console.log(1)\\n' > dist/app.js",
  "head -c 100000 /dev/urandom > dist/sub/blob.bin",
  // Over the per-file cap, yet small in the patch (zeros compress): the patch stays under the cap.
  "head -c 250000 /dev/zero > dist/huge.bin",
  "echo '<coverage/>' > coverage/report.xml && echo skip > coverage/report.txt",
  "echo 'a new line' >> README.md",
  "sha256sum dist/app.js dist/sub/blob.bin coverage/report.xml",
].join(" && ");

describe("artifacts and patches", () => {
  it("stores matching files within the caps, lists what it skipped, and serves them byte-identical with the fork's patch", async () => {
    const run = await createRun({ artifacts: ["dist/**", "coverage/*.xml"], task: { commands: [MAKE_FILES] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status, JSON.stringify(fork.error)).toBe("succeeded");
    expect(fork.artifacts).toMatchObject({ files: 3, skippedCount: 1, skipped: [{ path: "dist/huge.bin", reason: "file_too_large" }] });
    expect(fork.steps.map((s) => s.name)).toContain("artifacts");

    // What sha256sum printed inside the sandbox.
    const inSandbox = Object.fromEntries(fork.commands[0]!.stdoutTail.trim().split("\n").map((l) => l.split(/\s+/).reverse()));
    const list = (await (await api(`/v1/runs/${run.id}/forks/1/artifacts`)).json()) as { artifacts: { path: string; bytes: number; sha256: string }[]; skipped: unknown[] };
    expect(list.artifacts.map((a) => a.path)).toEqual(["coverage/report.xml", "dist/app.js", "dist/sub/blob.bin"]);
    expect(list.skipped).toEqual([{ path: "dist/huge.bin", reason: "file_too_large" }]);
    for (const artifact of list.artifacts) {
      const res = await api(`/v1/runs/${run.id}/forks/1/artifacts/${artifact.path}`);
      expect(res.status).toBe(200);
      const bytes = await res.arrayBuffer();
      expect(bytes.byteLength).toBe(artifact.bytes);
      expect(await sha256(bytes)).toBe(inSandbox[artifact.path]);
      expect(artifact.sha256).toBe(inSandbox[artifact.path]);
      expect(res.headers.get("X-Checksum-Sha256")).toBe(artifact.sha256);
    }

    const patch = await api(`/v1/runs/${run.id}/forks/1/patch`);
    expect(patch.status).toBe(200);
    expect(patch.headers.get("Content-Type")).toContain("text/x-diff");
    const text = await patch.text();
    expect(text).toContain("diff --git a/README.md b/README.md");
    expect(text).toContain("+a new line");
    expect(text).toContain("GIT binary patch");
    expect(await sha256(new TextEncoder().encode(text).buffer as ArrayBuffer)).toBe(fork.artifacts!.patch!.sha256);
  });

  it("a fork without changes has no patch; unknown artifacts and forks are 404s", async () => {
    const run = await createRun({ task: { commands: ["true"] } });
    await waitForRunStatus(run.id, ["completed", "failed"]);
    const patch = await api(`/v1/runs/${run.id}/forks/1/patch`);
    expect(patch.status).toBe(404);
    expect(((await patch.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await api(`/v1/runs/${run.id}/forks/1/artifacts/nope.txt`)).status).toBe(404);
    expect((await api(`/v1/runs/${run.id}/forks/2/artifacts`)).status).toBe(404);
    expect(((await (await api(`/v1/runs/${run.id}/forks/1/artifacts`)).json()) as { artifacts: unknown[] }).artifacts).toEqual([]);
  });

  it("a patch over the artifact size cap (ARTIFACT_MAX_BYTES) is not stored, and the fork says why; its diff stats stand", async () => {
    // About 300 KB of text against the tests' 200,000-byte cap.
    const run = await createRun({ task: { commands: ["head -c 225000 /dev/urandom | base64 > big.txt"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status, JSON.stringify(fork.error)).toBe("succeeded");
    expect(fork.diff).toMatchObject({ files: 1 });
    expect(fork.artifacts?.patch).toBeUndefined();
    expect(fork.artifacts?.patchOmitted).toMatchObject({ reason: "patch_too_large" });
    expect(fork.artifacts!.patchOmitted!.bytes).toBeGreaterThan(200_000);
    expect((await api(`/v1/runs/${run.id}/forks/1/patch`)).status).toBe(404);
    const compare = (await (await api(`/v1/runs/${run.id}/compare`)).json()) as { forks: { n: number; noPatch?: string }[] };
    expect(compare.forks[0]!.noPatch).toMatch(/over the artifact size cap \(ARTIFACT_MAX_BYTES\)/);
  });

  it("diffs fork A's work against fork B's file by file (GET …/compare/:a/:b), from the versions kept with the patches", async () => {
    const work = 'echo "fork $FORKYARD_FORK" >> README.md && echo same > same.txt && if [ "$FORKYARD_FORK" = 1 ]; then echo 1 > counter.txt; else echo two > only2.txt; fi';
    const run = await createRun({ forks: 2, task: { commands: [work] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
    const res = await api(`/v1/runs/${run.id}/compare/1/2`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { files: { path: string; a: string | null; b: string | null; status: string; missingIn?: string; hunks: { lines: string[] }[] | null }[] };
    const byPath = Object.fromEntries(body.files.map((f) => [f.path, f]));
    expect(Object.keys(byPath)).toEqual(["README.md", "counter.txt", "only2.txt", "same.txt"]);
    const lines = (path: string) => byPath[path]!.hunks!.flatMap((h) => h.lines).filter((l) => !l.startsWith(" "));
    expect(byPath["README.md"]).toMatchObject({ a: "modified", b: "modified", status: "differs" });
    expect(lines("README.md")).toEqual(["-fork 1", "+fork 2"]);
    // Fork 2 left counter.txt as in the base: its version comes from fork 1's kept file and patch.
    expect(byPath["counter.txt"]).toMatchObject({ a: "modified", b: null, status: "differs" });
    expect(lines("counter.txt")).toEqual(["-1", "+0"]);
    expect(byPath["only2.txt"]).toMatchObject({ a: null, b: "added", status: "differs", missingIn: "a" });
    expect(lines("only2.txt")).toEqual(["+two"]);
    expect(byPath["same.txt"]).toMatchObject({ a: "added", b: "added", status: "same", hunks: [] });
    expect((await api(`/v1/runs/${run.id}/compare/1/3`)).status).toBe(404);
  });

  it.each([["../secrets"], ["/etc/passwd"], ["a\nb"]])("rejects the glob %j naming the field", async (glob) => {
    const res = await api("/v1/runs", { method: "POST", json: { repo: "/x", artifacts: [glob], task: { commands: ["true"] } } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("artifacts.0");
  });

  it("retention: pruning deletes objects uploaded before the cut-off", async () => {
    const bucket = (env as unknown as Env).ARTIFACTS;
    await bucket.put("runs/rprune/1/files/x.txt", "x");
    const store = new ArtifactStore(bucket);
    expect(await store.prune(new Date(Date.now() - 60_000))).toBe(0);
    expect(await bucket.head("runs/rprune/1/files/x.txt")).not.toBeNull();
    expect(await store.prune(new Date(Date.now() + 60_000))).toBeGreaterThan(0);
    expect(await bucket.head("runs/rprune/1/files/x.txt")).toBeNull();
  });
});
