import { Buffer } from "node:buffer";

export const REDACTED = "[REDACTED]";

/** Shortest piece of a secret cut by a truncated output that is still scrubbed. */
const MIN_PARTIAL = 6;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The printable forms of a secret: itself, URL-encoded, and as `x-access-token:<secret>` Basic credentials. */
function formsOf(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  try {
    const basic = btoa(`x-access-token:${secret}`);
    forms.add(basic).add(basic.replace(/=+$/, ""));
  } catch {
    // not Latin-1: no HTTP client prints it base64-encoded either
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * Removes a secret from text before it is stored, logged or returned: every printable form of it,
 * and the piece of one that a truncated output tail starts or ends with. Secrets shorter than 8
 * characters are not scrubbed (they would match everywhere).
 */
export function scrubSecret(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 8) return text;
  let out = text;
  for (const form of formsOf(secret)) {
    out = out.replace(new RegExp(escapeRegExp(form), "g"), REDACTED);
    // A tail cut inside the secret starts with its end; a cut head ends with its start.
    for (let k = form.length - 1; k >= MIN_PARTIAL; k--) {
      const suffix = form.slice(form.length - k);
      const at = out.indexOf(suffix);
      if (at !== -1 && at <= 32 && /^(?:\[…truncated\]\s*)?$/.test(out.slice(0, at).replace(/^\s+/, ""))) {
        out = `${out.slice(0, at)}${REDACTED}${out.slice(at + k)}`;
        break;
      }
    }
    for (let k = form.length - 1; k >= MIN_PARTIAL; k--) {
      if (out.endsWith(form.slice(0, k))) {
        out = `${out.slice(0, out.length - k)}${REDACTED}`;
        break;
      }
    }
  }
  return out;
}

/** Removes every one of `secrets` (see scrubSecret). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.length > 0) out = scrubSecret(out, secret);
  return out;
}

/**
 * Scrubs a stream piece by piece (live output): complete secrets in each piece are removed, and an
 * end of a piece that could be the start of a secret (any printable form) is held back until the
 * next piece shows whether it is one, so a secret split across two pieces never leaves in parts.
 */
export class StreamScrubber {
  readonly #secrets: readonly string[];
  readonly #forms: string[];
  #carry = "";

  constructor(secrets: readonly string[]) {
    this.#secrets = secrets.filter((s) => s.length >= 8);
    this.#forms = this.#secrets.flatMap(formsOf);
  }

  /** What of `data` may be shown now, scrubbed. */
  push(data: string): string {
    const text = this.#carry + data;
    const hold = this.#heldLength(text);
    this.#carry = text.slice(text.length - hold);
    return scrubSecrets(text.slice(0, text.length - hold), this.#secrets);
  }

  /** The stream ended: what was held back, scrubbed. */
  end(): string {
    const rest = this.#carry;
    this.#carry = "";
    return scrubSecrets(rest, this.#secrets);
  }

  /** The longest end of `text` that is the start (not the whole) of a secret's form. */
  #heldLength(text: string): number {
    let hold = 0;
    for (const form of this.#forms) {
      for (let k = Math.min(form.length - 1, text.length); k > hold; k--) {
        if (text.endsWith(form.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }
}

/** Whether `bytes` hold one of `secrets` verbatim (e.g. a file about to leave a sandbox). */
export function containsSecret(bytes: Uint8Array, secrets: readonly string[]): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return secrets.some((secret) => secret.length >= 8 && buffer.includes(secret));
}
