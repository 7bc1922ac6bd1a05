/**
 * Cloudflare Workflows' limits on what one call carries, honoured here for every Workflow binding
 * (the local engine enforces none of them): a step result, an event and a createBatch call's
 * payload at most 1 MiB; createBatch and deleteBatch at most 100 instances.
 */
import type { Pacer } from "./creation-pacer";

/** The most a step result, an event or one createBatch call's payload may weigh. */
export const MAX_WORKFLOW_PAYLOAD_BYTES = 1024 * 1024;
/** The most instances one createBatch (or deleteBatch) call takes. */
export const MAX_BATCH_INSTANCES = 100;
/** The most steps one instance makes: every Workflow's `limits.steps` (wrangler.toml; Cloudflare's default, 25,000 at most). */
export const MAX_INSTANCE_STEPS = 10_000;

const encoder = new TextEncoder();

/** What `value` weighs as the engine stores it (its JSON, UTF-8); 0 for undefined. */
export function serializedBytes(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : encoder.encode(json).byteLength;
}

/** The bytes of `json` as UTF-8, or 0 when it is surely within `limitBytes` (at most 3 bytes per UTF-16 unit). */
export function bytesIfOver(json: string, limitBytes: number): number {
  if (json.length * 3 <= limitBytes) return 0;
  const bytes = encoder.encode(json).byteLength;
  return bytes > limitBytes ? bytes : 0;
}

export interface BatchLimits {
  count: number;
  bytes: number;
}

const LIMITS: BatchLimits = { count: MAX_BATCH_INSTANCES, bytes: MAX_WORKFLOW_PAYLOAD_BYTES };
/** The envelope of a createBatch payload (`{"instances":[…]}`) and a separator per instance. */
const ENVELOPE_BYTES = 16;

/**
 * Instances split, in order, into createBatch calls within the limits: at most `count` each and
 * under `bytes` of payload. An instance over `bytes` by itself is alone in its chunk (`tooLarge`).
 */
export function chunkInstances<T>(instances: T[], limits: BatchLimits = LIMITS): { chunk: T[]; tooLarge: boolean }[] {
  const chunks: { chunk: T[]; tooLarge: boolean }[] = [];
  let current: T[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const instance of instances) {
    const size = serializedBytes(instance) + 1;
    const alone = ENVELOPE_BYTES + size > limits.bytes;
    if (current.length > 0 && (alone || current.length === limits.count || bytes + size > limits.bytes)) {
      chunks.push({ chunk: current, tooLarge: false });
      current = [];
      bytes = ENVELOPE_BYTES;
    }
    if (alone) {
      chunks.push({ chunk: [instance], tooLarge: true });
      continue;
    }
    current.push(instance);
    bytes += size;
  }
  if (current.length > 0) chunks.push({ chunk: current, tooLarge: false });
  return chunks;
}

/** What createInBatches needs of a Workflow binding. */
export interface BatchCreator<P> {
  createBatch(options: { instances: { id: string; params: P }[] }): Promise<{ errors: { index: number; message: string }[] }>;
}

/**
 * Creates instances with as many createBatch calls as the limits need, each let through by
 * `pacer` when there is one (at most its rate of creations a second: creation-pacer.ts). Errors
 * come back as one createBatch would answer them (index into `instances`); an instance too large to
 * create is one of them, without a call. A call that throws throws (the instances of earlier calls exist).
 */
export async function createInBatches<P>(
  workflow: BatchCreator<P>,
  instances: { id: string; params: P }[],
  options: { limits?: BatchLimits; pacer?: Pacer } = {},
): Promise<{ errors: { index: number; message: string }[]; calls: number }> {
  const { pacer } = options;
  const limits = { ...(options.limits ?? LIMITS) };
  if (pacer) limits.count = Math.min(limits.count, pacer.maxBatch);
  const errors: { index: number; message: string }[] = [];
  let offset = 0;
  let calls = 0;
  for (const { chunk, tooLarge } of chunkInstances(instances, limits)) {
    if (tooLarge) {
      errors.push({ index: offset, message: `payload_too_large: instance ${chunk[0]!.id}'s params are over the ${limits.bytes} bytes a createBatch call may carry.` });
    } else {
      await pacer?.take(chunk.length);
      const result = await workflow.createBatch({ instances: chunk });
      calls++;
      for (const error of result.errors) errors.push({ index: offset + error.index, message: error.message });
    }
    offset += chunk.length;
  }
  return { errors, calls };
}
