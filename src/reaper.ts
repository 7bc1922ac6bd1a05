import type { Env } from "./env";
import { unwrap } from "./errors";
import { POOL_NAME, type FreedLease, type ReapedSandbox } from "./durable-objects/pool";
import { log } from "./observability/log";

/** Kills orphaned Forkyard sandboxes and settles leaked leases (cron trigger and POST /v1/reaper/run). */
export async function runReaper(env: Env): Promise<{ killed: ReapedSandbox[]; count: number; freed: FreedLease[] }> {
  const { killed, freed } = unwrap(await env.POOL.getByName(POOL_NAME).reap());
  log("info", "reaper.finished", { killed: killed.length, freed: freed.length });
  return { killed, count: killed.length, freed };
}
