import { randomBase32 } from "./run-ids.ts";

/** Session ids: `s` + 20 base32 characters. */
export function newSessionId(): string {
  return `s${randomBase32(20)}`;
}

export const SESSION_ID_PATTERN = /^s[a-z2-7]{20}$/;

/** One sandbox lease per session, for its whole life. */
export function sessionLeaseKey(id: string): string {
  return `${id}-sandbox`;
}

/** The Workflow instance that sets a session up (acquire, health, clone). */
export function setupInstanceId(id: string): string {
  return `${id}-setup`;
}

/** The Workflow instance of turn n. */
export function turnInstanceId(id: string, n: number): string {
  return `${id}-t${n}`;
}

export function sessionWorkBranch(id: string): string {
  return `forkyard/s/${id}`;
}
