import type { z } from "zod";
import type { compareView } from "../api/responses";
import type { ForkView, RunView } from "../api/runs";
import { ArtifactStore, patchKey } from "../artifacts/store";
import { rankForks } from "./ranking";

export type CompareView = z.infer<typeof compareView>;

/** How much of each fork's patch GET …/compare carries (the rest is a link away). */
export const COMPARE_PATCH_BYTES = 64 * 1024;

/** Every fork side by side: status, check, diff stats, rank and score, cost, and its patch (bounded). */
export async function compareRun(view: RunView, store: ArtifactStore): Promise<CompareView> {
  const ranking = view.ranking ?? rankForks(view.forks);
  const rankOf = new Map(ranking.map((r) => [r.n, r]));
  const forks = await Promise.all(
    view.forks.map(async (f) => {
      const meta = f.artifacts?.patch;
      const head = meta ? await store.head(patchKey(view.id, f.n), COMPARE_PATCH_BYTES) : null;
      const entry = rankOf.get(f.n);
      return {
        n: f.n,
        status: f.status,
        branch: f.branch,
        rank: entry?.rank ?? null,
        ...(entry?.score !== undefined ? { score: entry.score } : {}),
        ...(f.check ? { check: f.check } : {}),
        ...(f.diff ? { diff: f.diff } : {}),
        costUsd: f.costUsd,
        ...(f.error ? { error: f.error } : {}),
        ...(meta && head !== null ? {} : { noPatch: noPatchReason(f) }),
        patch:
          meta && head !== null
            ? { bytes: meta.bytes, sha256: meta.sha256, text: head, truncated: meta.bytes > COMPARE_PATCH_BYTES, href: `/v1/runs/${view.id}/forks/${f.n}/patch` }
            : null,
      };
    }),
  );
  return { runId: view.id, status: view.status, winner: view.winner ?? null, ranking, forks };
}

/** Why a fork has no patch, in a sentence. */
export function noPatchReason(f: Pick<ForkView, "n" | "status" | "diff" | "error"> & { artifacts?: ForkView["artifacts"] }): string {
  const omitted = f.artifacts?.patchOmitted;
  if (omitted) return `Fork ${f.n}'s patch (${omitted.bytes} bytes) is over the artifact size cap (ARTIFACT_MAX_BYTES): it was not stored.`;
  if (f.status === "queued") return `Fork ${f.n} has not started yet.`;
  if (f.status === "running") return `Fork ${f.n} is still running: its patch is made when its work is collected, at its end.`;
  if (f.diff?.files === 0) return `Fork ${f.n} changed no file.`;
  const ended = { failed: "failed", cancelled: "was cancelled", timed_out: "timed out", budget_exceeded: "ran out of budget", succeeded: "succeeded" }[f.status];
  if (f.status !== "succeeded") return `Fork ${f.n} ${ended} before its work was collected${f.error ? ` (${f.error.code}: ${f.error.message})` : ""}.`;
  return f.diff ? `Fork ${f.n}'s patch is no longer stored.` : `Fork ${f.n} stored no patch.`;
}
