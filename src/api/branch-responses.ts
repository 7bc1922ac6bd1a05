/** A branched fork's `parent` in its view (POST …/forks/:n/branch), as the API answers it. */
import { z } from "zod";

export const forkParentView = z.object({
  n: z.number().int().min(1),
  turn: z.number().int().min(0).nullable().describe("the parent's model calls (or commands) done when it was forked; null until then"),
  atStep: z.string().optional().describe("a branch at an earlier step (`atStep`): the step it started before"),
  rebuiltFrom: z.enum(["snapshots", "journal"]).optional().describe("how that step's workspace was rebuilt: from the parent's step snapshots, or by replaying its journal"),
  rerun: z.array(z.string()).optional().describe("the commands (and tool calls) re-run in the new sandbox to rebuild it, in order"),
});
