/** Metadata Forkyard puts on every sandbox it creates; the reaper and idempotent acquire find them by it. */
export const SANDBOX_TAG = {
  app: "forkyard",
  run: "forkyard_run",
  fork: "forkyard_fork",
  lease: "forkyard_lease",
} as const;

export const SANDBOX_APP_VALUE = "1";

export function sandboxMetadata(lease: { key: string; runId: string; fork: number }): Record<string, string> {
  return {
    [SANDBOX_TAG.app]: SANDBOX_APP_VALUE,
    [SANDBOX_TAG.run]: lease.runId,
    [SANDBOX_TAG.fork]: String(lease.fork),
    [SANDBOX_TAG.lease]: lease.key,
  };
}
