import { z } from "zod";

export const WARM_MODES = ["running", "paused"] as const;
export type WarmMode = (typeof WARM_MODES)[number];

/** Longest a warm sandbox may wait for a fork before it is recycled. */
const MAX_IDLE_SECONDS = 86_400;

const templateName = z.string().min(1).max(200).regex(/^[A-Za-z0-9._:\/-]+$/, "may contain only letters, digits and . _ : / -");

export const poolTemplateConfig = z
  .strictObject({
    /** Warm sandboxes kept ready at all times (the Pool's alarm refills to this). */
    min: z.number().int().min(0).max(1000),
    /** The most warm sandboxes: the target grows from min by recent cold acquires, up to this. Default: min. */
    max: z.number().int().min(0).max(1000).optional(),
    /** A warm sandbox unused this long is killed (and replaced while below min): they stay fresh. */
    idleSeconds: z.number().int().min(1).max(MAX_IDLE_SECONDS).default(300),
    /** `running`: instant hand-out, counts against MAX_LIVE_SANDBOXES and is billed while idle. `paused`: resumed on hand-out, not billed, not counted. */
    mode: z.enum(WARM_MODES).default("running"),
  })
  .transform((c) => ({ ...c, max: c.max ?? c.min }))
  .refine((c) => c.max >= c.min, { message: "must be at least min", path: ["max"] });

export type PoolTemplateConfig = z.output<typeof poolTemplateConfig>;

/** PUT /v1/pool: the whole warm-pool configuration, by template id, alias or profile (entries not listed have no warm sandboxes). */
export const poolConfigRequest = z.strictObject({
  templates: z.record(templateName, poolTemplateConfig),
});

export interface LatencyStats {
  count: number;
  p50: number | null;
  p95: number | null;
}

export interface PoolTemplateStatus extends PoolTemplateConfig {
  warm: { running: number; paused: number; creating: number };
  hits: number;
  misses: number;
  hitRate: number | null;
  /** Time from a fork asking to its sandbox being ready: handed out warm vs created. */
  acquireMs: { warm: LatencyStats; cold: LatencyStats };
  /** Time warm sandboxes ran before a fork took them (or were trimmed): the pool's own cost. */
  overhead: { sandboxSeconds: number; usd: number };
}
