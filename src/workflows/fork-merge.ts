import { patchKey } from "../artifacts/store";
import type { ForkOutcome } from "../runs/fork-outcome";
import { judgeBoundary, judgePatch, type JudgePatch } from "../runs/judging";
import { mergePatchBytes, mergePrompt, type MergeSpec } from "../runs/merge-prompt";
import { forkProvenance, mergedLines, type ForkProvenance, type Provenance } from "../runs/provenance";
import type { ForkContext } from "./fork-context";
import { stepConfig } from "./step-policies";
import { STEP } from "./steps";

/**
 * A merge fork's own steps (POST /v1/runs/:id/merge; the Orchestrator's side is
 * objects/orchestrator/merging.ts). `merge-input`, before its agent starts: the chosen forks'
 * patches read from R2 and fenced with a boundary drawn inside the step (a replay reuses its
 * prompt, never a second boundary). `provenance`, after verification: which of their hunks survive
 * in its verified patch, computed here from the stored patches (src/runs/provenance.ts).
 */
export async function mergeTaskPrompt(ctx: ForkContext, spec: MergeSpec, taskPrompt: string): Promise<string> {
  const { params: p, config, steps, store } = ctx;
  const limit = mergePatchBytes(spec.forks.length);
  const result = await steps.run(
    STEP.mergeInput,
    stepConfig("collect", config.RETRY_POLICIES),
    async () => {
      const patches = new Map<number, JudgePatch>();
      for (const fork of spec.forks) {
        const head = await store.head(patchKey(p.runId, fork.n), limit + 1);
        if (head !== null) patches.set(fork.n, judgePatch(head, limit));
      }
      return { prompt: mergePrompt(taskPrompt, spec, patches, judgeBoundary()) };
    },
    { gated: true },
  );
  return result.prompt;
}

/** The most of each patch provenance reads (a Worker's memory holds the merged patch and one source at a time). */
export const PROVENANCE_PATCH_BYTES = 4 * 1024 * 1024;

/** The merge fork's provenance, into its outcome: from its stored (verified) patch, or why there is none. */
export async function recordProvenance(ctx: ForkContext, spec: MergeSpec, outcome: ForkOutcome): Promise<void> {
  const { params: p, config, steps, store } = ctx;
  if (outcome.artifacts?.patchOmitted) {
    outcome.provenanceOmitted = { reason: "The merged patch is over ARTIFACT_MAX_BYTES and was not stored." };
    return;
  }
  const result = await steps.run(
    STEP.provenance,
    stepConfig("collect", config.RETRY_POLICIES),
    async (): Promise<{ provenance: Provenance } | { omitted: string }> => {
      const read = async (n: number) => (await store.head(patchKey(p.runId, n), PROVENANCE_PATCH_BYTES + 1)) ?? "";
      const tooLarge = (n: number) => ({ omitted: `${n === p.n ? "The merged patch" : `Fork ${n}'s patch`} is over ${PROVENANCE_PATCH_BYTES / 1024 / 1024} MiB, more than provenance reads.` });
      // Read as PROVENANCE_PATCH_BYTES + 1 bytes: a longer patch is not cut (a cut would look like hunks lost).
      const over = (text: string) => new TextEncoder().encode(text).length > PROVENANCE_PATCH_BYTES;
      const mergedPatch = outcome.artifacts?.patch ? await read(p.n) : "";
      if (over(mergedPatch)) return tooLarge(p.n);
      const merged = mergedLines(mergedPatch);
      const forks: ForkProvenance[] = [];
      for (const fork of spec.forks) {
        const patch = await read(fork.n);
        if (over(patch)) return tooLarge(fork.n);
        forks.push(forkProvenance(fork.n, patch, merged));
      }
      return { provenance: { forks } };
    },
    { gated: false },
  );
  if ("omitted" in result) outcome.provenanceOmitted = { reason: result.omitted };
  else outcome.provenance = result.provenance;
}
