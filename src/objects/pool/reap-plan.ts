import type { ListedSandbox } from "../../sandbox/backend";
import type { LeaseRow, ReapedSandbox } from "./types";

/** A lease stuck in `creating` this long without a sandbox is given up (its capacity freed). */
export const STALE_CREATING_MS = 15 * 60_000;

export interface ReapSubject {
  sandbox: ListedSandbox;
  /** The lease found for it: by sandbox id first, then by its lease tag. */
  lease: LeaseRow | undefined;
  /** It carries the tag of a warm sandbox the pool still keeps. */
  warm: boolean;
  runId: string | null;
}

/**
 * Whether the reaper kills a listed Forkyard sandbox, and why (pure; null: it lives on). Warm ones
 * only past the max age; sandboxes of no live lease; kept ones once their keep expired (never
 * before); those of finished runs; others past the max age, except a session's (it lives as long
 * as the session).
 */
export function reapReason(subject: ReapSubject, finishedRuns: ReadonlySet<string>, now: number, maxAgeSeconds: number): ReapedSandbox["reason"] | null {
  const { sandbox, lease, runId } = subject;
  const old = now - sandbox.startedAt.getTime() > maxAgeSeconds * 1000;
  if (subject.warm) return old ? "max_age" : null;
  if (!liveLeaseOf(subject)) return "no_lease";
  if (lease!.kept_until !== null) return lease!.kept_until > now ? null : "keep_expired";
  if (runId && finishedRuns.has(runId)) return "run_finished";
  if (lease!.holder !== "session" && old) return "max_age";
  return null;
}

/** The lease is not released and holds this sandbox (or none yet). */
export function liveLeaseOf({ lease, sandbox }: Pick<ReapSubject, "lease" | "sandbox">): boolean {
  return !!lease && lease.state !== "released" && (lease.sandbox_id === null || lease.sandbox_id === sandbox.sandboxId);
}

/** Held leases whose sandbox the listing lacks (pure); only leases acquired well before it are passed in. */
export function goneLeases(held: LeaseRow[], listed: ReadonlySet<string>): LeaseRow[] {
  return held.filter((lease) => !listed.has(lease.sandbox_id!));
}
