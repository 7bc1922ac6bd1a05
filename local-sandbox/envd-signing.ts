// Signed file URLs (`sandbox.downloadUrl` / `uploadUrl` with `useSignature`): a `GET`/`POST /files`
// that carries `signature` (and maybe `signature_expiration`) instead of the access token. With
// `E2B_SANDBOX_URL` set, the SDK builds such URLs on that bare URL, without the `E2b-Sandbox-Id`
// header (a URL is meant to be handed to someone else): the sandbox is the running one whose
// access token the signature was made with. As envd: `v1_` + base64 (no padding) of
// sha256(`path:operation:user:token[:expiration]`), operation `read` (GET) or `write` (POST).
import { createHash, timingSafeEqual } from "node:crypto";
import { json, type Reply } from "./http-util.ts";
import type { Sandbox } from "./sandbox-store.ts";

export function fileSignature(path: string, operation: "read" | "write", user: string, token: string, expiration?: string): string {
  const raw = [path, operation, user, token, ...(expiration ? [expiration] : [])].join(":");
  return `v1_${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const unauthorized = (message: string): { reply: Reply } => ({ reply: json(401, { code: 401, message }) });

/**
 * The sandbox a signed `/files` request is for, or the 401 envd answers; `undefined` when the
 * request is not a signed file request (it then goes to the control plane, which wants the API key).
 */
export function signedFileTarget(method: string, url: URL, running: Iterable<Sandbox>, nowSec = Date.now() / 1000): { sandbox: Sandbox } | { reply: Reply } | undefined {
  const signature = url.searchParams.get("signature");
  if (url.pathname !== "/files" || signature === null || (method !== "GET" && method !== "POST")) return undefined;
  const expiration = url.searchParams.get("signature_expiration") ?? undefined;
  const path = url.searchParams.get("path") ?? "";
  const user = url.searchParams.get("username") ?? "";
  const operation = method === "GET" ? "read" : "write";
  for (const sb of running) {
    if (!same(signature, fileSignature(path, operation, user, sb.record.envdAccessToken, expiration))) continue;
    if (expiration !== undefined && !(Number(expiration) > nowSec)) return unauthorized("signature is already expired");
    return { sandbox: sb };
  }
  return unauthorized("invalid signature");
}
