/**
 * The per-fork token an agent runtime inside a sandbox presents to the Worker's model proxy
 * instead of a model key: `fyp1.<payload>.<mac>`, the payload (base64url JSON) naming the run, the
 * fork, the sandbox lease it was minted for and its expiry, the MAC an HMAC-SHA256 over the payload
 * with a Worker secret (MODEL_PROXY_SECRET, else a key derived from ANTHROPIC_API_KEY). A valid MAC
 * and a future expiry are necessary, not sufficient: the proxy also asks the Pool whether that
 * lease is still held (a released lease revokes its token) and bills only the run the token names.
 */
import { UnauthorizedError } from "../core/errors";

export interface ProxyGrant {
  run: string;
  fork: number;
  lease: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

export interface ProxySecrets {
  MODEL_PROXY_SECRET?: string;
  ANTHROPIC_API_KEY?: string;
}

const PREFIX = "fyp1";
/** What a derived secret is derived with (so the MAC key is never the model key itself). */
const DERIVATION_LABEL = "forkyard model proxy token v1";
const encoder = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

async function hmacKey(raw: Uint8Array | string): Promise<CryptoKey> {
  const bytes = typeof raw === "string" ? encoder.encode(raw) : raw;
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** The MAC key: MODEL_PROXY_SECRET, else HMAC(ANTHROPIC_API_KEY, label). Null: no secret at all. */
async function macKey(secrets: ProxySecrets): Promise<CryptoKey | null> {
  if (secrets.MODEL_PROXY_SECRET) return hmacKey(secrets.MODEL_PROXY_SECRET);
  if (!secrets.ANTHROPIC_API_KEY) return null;
  const derived = await crypto.subtle.sign("HMAC", await hmacKey(secrets.ANTHROPIC_API_KEY), encoder.encode(DERIVATION_LABEL));
  return hmacKey(new Uint8Array(derived));
}

/** A token for `grant`. */
export async function mintProxyToken(secrets: ProxySecrets, grant: ProxyGrant): Promise<string> {
  const key = await macKey(secrets);
  if (!key) throw new UnauthorizedError("The model proxy has no secret (MODEL_PROXY_SECRET or ANTHROPIC_API_KEY).");
  const payload = b64url(encoder.encode(JSON.stringify({ r: grant.run, f: grant.fork, l: grant.lease, e: grant.exp })));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${PREFIX}.${payload}`)));
  return `${PREFIX}.${payload}.${b64url(mac)}`;
}

function grantOf(payload: Uint8Array): ProxyGrant | null {
  try {
    const p = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    if (typeof p.r !== "string" || typeof p.l !== "string" || !Number.isInteger(p.f) || !Number.isInteger(p.e)) return null;
    return { run: p.r, fork: p.f as number, lease: p.l, exp: p.e as number };
  } catch {
    return null;
  }
}

/**
 * The grant a token carries, when its MAC is right (compared in constant time by WebCrypto) and it
 * has not expired at `nowMs`; otherwise UnauthorizedError (401), whose message never echoes the token.
 */
export async function verifyProxyToken(secrets: ProxySecrets, token: string, nowMs: number): Promise<ProxyGrant> {
  const invalid = () => new UnauthorizedError("The model proxy token is invalid.");
  const [prefix, payload, mac, extra] = token.split(".");
  if (prefix !== PREFIX || payload === undefined || mac === undefined || extra !== undefined || token.length > 4096) throw invalid();
  const macBytes = fromB64url(mac);
  const payloadBytes = fromB64url(payload);
  const key = await macKey(secrets);
  if (!key || !macBytes || !payloadBytes) throw invalid();
  if (!(await crypto.subtle.verify("HMAC", key, macBytes, encoder.encode(`${PREFIX}.${payload}`)))) throw invalid();
  const grant = grantOf(payloadBytes);
  if (!grant) throw invalid();
  if (grant.exp * 1000 <= nowMs) throw new UnauthorizedError("The model proxy token has expired.");
  return grant;
}
