import { verify } from "@octokit/webhooks-methods";

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

/**
 * Checks `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the webhook secret) with
 * @octokit/webhooks-methods, whose comparison is constant-time (WebCrypto `verify` in workerd,
 * `timingSafeEqual` under Node). A missing or malformed header is simply not valid.
 */
export async function verifyGitHubSignature(secret: string, rawBody: string, header: string | undefined | null): Promise<boolean> {
  if (!header || !SIGNATURE.test(header.trim().toLowerCase()) || rawBody.length === 0) return false;
  try {
    return await verify(secret, rawBody, header.trim().toLowerCase());
  } catch {
    return false;
  }
}
