import type { Env } from "../core/env";
import { unwrap } from "../core/errors";
import type { FreedLease, ReapedSandbox } from "../objects/pool/pool";
import { log } from "../observability/log";
import { POOL_NAME } from "../protocol/events";

/** Kills orphaned Forkyard sandboxes and settles leaked leases (cron trigger and POST /v1/reaper/run). */
export async function runReaper(env: Env): Promise<{ killed: ReapedSandbox[]; count: number; freed: FreedLease[] }> {
  const { killed, freed } = unwrap(await env.POOL.getByName(POOL_NAME).reap());
  log("info", "reaper.finished", { killed: killed.length, freed: freed.length });
  return { killed, count: killed.length, freed };
}
