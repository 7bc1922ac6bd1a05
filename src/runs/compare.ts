import type { z } from "zod";
import type { compareView } from "../api/responses";
import type { RunView } from "../api/runs";
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
        patch:
          meta && head !== null
            ? { bytes: meta.bytes, sha256: meta.sha256, text: head, truncated: meta.bytes > COMPARE_PATCH_BYTES, href: `/v1/runs/${view.id}/forks/${f.n}/patch` }
            : null,
      };
    }),
  );
  return { runId: view.id, status: view.status, winner: view.winner ?? null, ranking, forks };
}
