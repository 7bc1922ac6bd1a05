import { patchKey } from "../artifacts/store";
import type { ForkOutcome } from "../runs/fork-outcome";
import { judgeBoundary, judgePatch, type JudgePatch } from "../runs/judging";
import { mergePatchBytes, mergePrompt, type MergeSpec } from "../runs/merge-prompt";
import { computeProvenance } from "../runs/provenance";
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

/** The merge fork's provenance, into its outcome: from its stored (verified) patch, or why there is none. */
export async function recordProvenance(ctx: ForkContext, spec: MergeSpec, outcome: ForkOutcome): Promise<void> {
  const { params: p, config, steps, store } = ctx;
  if (outcome.artifacts?.patchOmitted) {
    outcome.provenanceOmitted = { reason: "The merged patch is over ARTIFACT_MAX_BYTES and was not stored." };
    return;
  }
  const text = async (n: number) => {
    const bytes = await store.getBytes(patchKey(p.runId, n));
    return bytes ? new TextDecoder().decode(bytes) : "";
  };
  outcome.provenance = await steps.run(
    STEP.provenance,
    stepConfig("collect", config.RETRY_POLICIES),
    async () => {
      const merged = outcome.artifacts?.patch ? await text(p.n) : "";
      const sources = [];
      for (const fork of spec.forks) sources.push({ n: fork.n, patch: await text(fork.n) });
      return computeProvenance(sources, merged);
    },
    { gated: false },
  );
}
