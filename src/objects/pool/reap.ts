import { errorFields, log } from "../../observability/log";
import { SANDBOX_TAG } from "../../sandbox/metadata";
import type { PoolCore } from "./core";
import { goneLeases, liveLeaseOf, reapReason, STALE_CREATING_MS, type ReapSubject } from "./reap-plan";
import type { FreedLease, ReapedSandbox, ReapReport } from "./types";

/**
 * Kills Forkyard-tagged sandboxes with no live lease, of finished runs, kept past their keep, or
 * older than the max age (reap-plan.ts decides which); retries failed kills; frees leases whose
 * sandbox no longer exists (expired, killed elsewhere), so no capacity is lost for good.
 */
export async function reap(core: PoolCore): Promise<ReapReport> {
  const now = core.now();
  core.leases.releaseStaleCreating(now - STALE_CREATING_MS, now);
  const freed = await core.retryKills();
  const sandboxes = await core.backend.listTagged();
  const listed = new Set(sandboxes.map((s) => s.sandboxId));
  freed.push(...freeGone(core, listed, now));

  const subjects: ReapSubject[] = sandboxes.map((sandbox) => {
    const tagKey = sandbox.metadata[SANDBOX_TAG.lease];
    // A warm sandbox handed to a fork keeps its warm tag: its lease is found by sandbox id.
    // A forked sandbox carries its source's tag: its own lease is found by sandbox id first.
    const lease = core.leases.ofSandbox(sandbox.sandboxId) ?? (tagKey ? core.leases.get(tagKey) : undefined);
    return { sandbox, lease, warm: !!tagKey && !!core.warm.row(tagKey), runId: lease?.run_id || sandbox.metadata[SANDBOX_TAG.run] || null };
  });
  const finished = await core.host.finishedRuns([...new Set(subjects.map((s) => s.runId).filter((id): id is string => !!id))]);
  const killed: ReapedSandbox[] = [];
  for (const subject of subjects) {
    const reason = reapReason(subject, finished, now, core.settings().reaperMaxAgeSeconds);
    if (reason && (await kill(core, subject, reason, now))) killed.push({ sandboxId: subject.sandbox.sandboxId, runId: subject.runId, reason });
  }
  if (freed.length > 0 || killed.length > 0) core.capacityFreed();
  return { killed, freed };
}

/** Frees leases (and drops warm sandboxes) the listing lacks, if held well before it began. */
function freeGone(core: PoolCore, listed: ReadonlySet<string>, now: number): FreedLease[] {
  const graceMs = core.settings().reaperGoneGraceMs;
  // Only leases acquired well before the listing began: a sandbox created meanwhile is not "gone".
  const freed = goneLeases(core.leases.heldSince(now - graceMs), listed).map((lease) => {
    core.leases.leave(lease.key, "released", now);
    log("warn", "reaper.lease_freed", { leaseKey: lease.key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, reason: "sandbox_gone" });
    return { key: lease.key, sandboxId: lease.sandbox_id, reason: "sandbox_gone" as const };
  });
  // Warm sandboxes the provider no longer lists are dropped from the pool (they are refilled).
  for (const row of core.warm.rows()) {
    if (row.sandbox_id && row.ready_at !== null && row.ready_at < now - graceMs && !listed.has(row.sandbox_id)) core.warm.remove(row, now);
  }
  return freed;
}

/** Kills one sandbox the plan gave up; false when the kill failed (tried again next time). */
async function kill(core: PoolCore, { sandbox, lease, warm, runId }: ReapSubject, reason: ReapedSandbox["reason"], now: number): Promise<boolean> {
  if (warm) {
    const row = core.warm.row(sandbox.metadata[SANDBOX_TAG.lease]!);
    if (row) core.warm.remove(row, now);
  }
  try {
    await core.backend.kill(sandbox.sandboxId);
  } catch (err) {
    // Tried again at the next run (and by the alarm for released leases).
    log("warn", "reaper.kill_failed", { sandboxId: sandbox.sandboxId, runId, reason, ...errorFields(err) });
    return false;
  }
  if (lease && liveLeaseOf({ lease, sandbox })) core.leases.markReleased(lease.key, now);
  core.leases.countReaped();
  log("info", "reaper.killed", { sandboxId: sandbox.sandboxId, runId, reason });
  return true;
}
