const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes: Uint8Array, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i % bytes.length]! % 32];
  return out;
}

/** `length` random base32 characters. */
export function randomBase32(length: number): string {
  return base32(crypto.getRandomValues(new Uint8Array(length)), length);
}

/** Run ids: `r` + 20 base32 characters; short enough for Workflow instance ids with a fork suffix. */
export function newRunId(): string {
  return `r${randomBase32(20)}`;
}

/** The run id an Idempotency-Key maps to: the same key always names the same run. */
export async function runIdForIdempotencyKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`idempotency:${key}`)));
  return `r${base32(digest, 20)}`;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const RUN_ID_PATTERN = /^r[a-z2-7]{20}$/;

/** Workflow instance id of a fork launch; relaunches (after a lost instance) get a suffix. */
export function forkInstanceId(runId: string, n: number, launch: number): string {
  return launch <= 1 ? `${runId}-${n}` : `${runId}-${n}-l${launch}`;
}

/** One sandbox lease per fork, whatever the number of launches or step attempts. */
export function forkLeaseKey(runId: string, n: number): string {
  return `${runId}-${n}`;
}

export function workBranch(runId: string, n: number, prefix?: string): string {
  return prefix ? `${prefix}${n}` : `forkyard/${runId}/${n}`;
}
