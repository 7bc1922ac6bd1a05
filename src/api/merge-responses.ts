/**
 * zod schemas of a merge's responses (POST /v1/runs/:id/merge, a merge fork's `merge` in its view):
 * beside responses.ts, which they are part of. Imports carry their `.ts` extension (the Node-side
 * OpenAPI test imports this module too).
 */
import { z } from "zod";

const hunkProvenance = z.object({
  file: z.string().describe("the file's path after the source fork's change (before it, for a deleted file)"),
  oldFile: z.string().optional().describe("its path before a rename"),
  change: z.enum(["added", "deleted", "modified", "renamed", "binary"]),
  header: z.string().nullable().describe("the hunk's `@@ … @@` line; null for a file changed without hunks (a pure rename, a mode change, a binary file)"),
  basis: z.enum(["added", "removed", "file"]).describe("what it was judged by: its added lines; its removed lines when it adds none; for a change without hunks, whether the merge made the same change to that file"),
  lines: z.number().int().describe("its lines of that kind"),
  found: z.number().int().describe("how many of them the merged patch holds in the same file"),
  survived: z.boolean().describe("found ≥ 80 % of lines"),
});

export const mergeView = z.object({
  forks: z.array(z.number().int().min(1)).describe("the forks combined, in the order asked"),
  prompt: z.string().optional().describe("the merge's own instructions"),
  model: z.string().optional().describe("its model, when not the run's"),
  provenance: z
    .object({
      forks: z.array(
        z.object({
          n: z.number().int(),
          hunks: z.array(hunkProvenance).describe("its patch's hunks in order (the first 100)"),
          total: z.number().int(),
          survived: z.number().int(),
          share: z.number().describe("survived / total, to 3 decimals"),
          unlisted: z.number().int().optional().describe("hunks past the first 100, counted but not listed"),
        }),
      ),
    })
    .optional()
    .describe("computed by Forkyard from the verified patches once the merge fork ended with one (never the agent's claim): which hunks of each source survive in the merged patch"),
  provenanceOmitted: z.object({ reason: z.string() }).optional().describe("why no provenance was computed (the merged patch was not stored, or a patch is over the 4 MiB provenance reads)"),
});

export const mergeResponse = z.object({
  runId: z.string(),
  fork: z.number().int().min(1).describe("the merge fork's number"),
  forks: z.array(z.number().int().min(1)).describe("the forks it combines"),
});
