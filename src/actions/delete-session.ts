import type { z } from "zod";
import type { deletedSession } from "../api/session-responses";
import { ArtifactStore, sessionPrefix } from "../artifacts/store";
import type { Env } from "../core/env";
import { loadConfig } from "../core/env";
import { NotFoundError, unwrap } from "../core/errors";
import type { DeleteReason } from "../d1-index/run-tombstones";
import { deleteSessionRow, expiredSessions, sessionTombstoneOf } from "../d1-index/session-tombstones";
import { pruneOlderThan } from "./retention";
import { SESSION_ID_PATTERN } from "../protocol/session-ids";

/** DELETE /v1/sessions/:id?purge=true's answer (its schema: api/session-responses.ts). */
export type SessionDeletedView = z.infer<typeof deletedSession>;

/**
 * Deletes a session for good: destroys it when it was not (its sandbox's lease released), then its
 * object's storage and alarm behind a D1 tombstone (objects/session/session-deletion.ts), then every
 * R2 object under `sessions/<id>/` (its patch, its workspace snapshots) and its index row. A
 * repeated delete (a retry after a crash half-way) finds the tombstone and finishes what was left.
 * 409 `session_busy` while a turn runs or is queued; 404 for a session never made.
 */
export async function deleteSession(env: Env, id: string, reason: DeleteReason = "deleted"): Promise<SessionDeletedView> {
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError("session", id);
  const { tombstoned } = unwrap(await env.SESSION.getByName(id).deleteState(id, reason));
  if (!tombstoned) throw new NotFoundError("session", id);
  const objectsDeleted = await new ArtifactStore(env.ARTIFACTS).deletePrefix(sessionPrefix(id));
  await deleteSessionRow(env.DB, id);
  const tombstone = (await sessionTombstoneOf(env.DB, id))!;
  return { id, deleted: true, reason: tombstone.reason, deletedAt: tombstone.deletedAt, objectsDeleted };
}

/**
 * SESSION_RETENTION_DAYS (0: off): sessions idle, paused, destroyed or failed whose last change is
 * older are deleted like DELETE /v1/sessions/:id?purge=true (actions/retention.ts); never one with
 * a turn running or queued (its object refuses). `now` is for tests.
 */
export function pruneSessions(env: Env, now = Date.now()): Promise<{ deleted: string[] }> {
  return pruneOlderThan("sessions", loadConfig(env).SESSION_RETENTION_DAYS, now, (before, limit) => expiredSessions(env.DB, before, limit), (id) => deleteSession(env, id, "retention"));
}
