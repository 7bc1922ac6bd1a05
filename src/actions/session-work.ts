/**
 * A session's work leaving it (issue 25 item 9): GET /v1/sessions/:id/patch and POST …/pick. The
 * Session object takes the work (src/objects/session/session-work.ts): its diff against the base
 * commit and the patch in R2. Pick answers the command that takes it into a clone (the patch
 * applied on a new branch named after the session's work branch), like a fork's pick without a
 * pushed branch. Opening a pull request from a session is not done: its work is never pushed.
 */
import type { z } from "zod";
import type { sessionPickResult } from "../api/pick-responses";
import type { SessionView } from "../api/sessions";
import { ArtifactStore, sessionPatchKey } from "../artifacts/store";
import type { Env } from "../core/env";
import { ConflictError, NotFoundError, unwrap } from "../core/errors";
import { SESSION_ID_PATTERN } from "../protocol/session-ids";
import { fetchCommand } from "../runs/fetch-command";

export type SessionPickResult = z.infer<typeof sessionPickResult>;

async function sessionWork(env: Env, id: string) {
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError("session", id);
  const result = await env.SESSION.getByName(id).work();
  if (!result.ok && result.error.code === "not_found") throw new NotFoundError("session", id);
  const { session, work } = unwrap(result) as { session: SessionView; work: SessionView["work"] | null };
  if (!work) throw new ConflictError("no_work_yet", `Session ${id} has no work to take yet: its work is taken once a turn has ended.`, { session: id });
  return { session, work };
}

/** The session's patch as R2 keeps it; 404 when its work changed nothing. */
export async function sessionPatch(env: Env, id: string): Promise<R2ObjectBody> {
  const { work } = await sessionWork(env, id);
  if (!work.patch) throw new NotFoundError("patch", id);
  return new ArtifactStore(env.ARTIFACTS).get(sessionPatchKey(id), "patch", id);
}

/** How to take the session's work: the fetch command and the patch's URL. */
export async function pickSession(env: Env, id: string, apiOrigin: string): Promise<SessionPickResult> {
  const { session, work } = await sessionWork(env, id);
  if (!work.patch) throw new ConflictError("nothing_to_pick", `Session ${id} changed nothing against its base branch: there is nothing to take.`, { session: id });
  const patch = `${apiOrigin}/v1/sessions/${id}/patch`;
  const fetch = fetchCommand({ repo: session.repo, branch: session.workBranch, pushed: false, baseBranch: session.branch, patchUrl: patch, message: `forkyard: session ${id} (${session.title})` });
  return { sessionId: id, branch: session.workBranch, turn: work.turn, diff: work.diff, fetch, patch };
}
