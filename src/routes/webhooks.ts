import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { loadConfig } from "../core/env";
import { ForkyardError, InvalidInputError, PayloadTooLargeError } from "../core/errors";
import { GitHubUnavailableError, githubClient, githubError } from "../github/client";
import { ownLogin } from "../github/identity";
import { repositoryRole } from "../github/permissions";
import { pullRequestHead } from "../github/operations";
import { answerPickCommand } from "../webhooks/pick-reply";
import { answerReforkCommand } from "../webhooks/refork-reply";
import { decideTrigger } from "../github/triggers";
import { verifyGitHubSignature } from "../github/verify";
import { log } from "../observability/log";
import { createRun, runLinks } from "../actions/create-run";
import { runIdForIdempotencyKey } from "../protocol/run-ids";

/** GitHub webhooks (no bearer token: each delivery is authenticated by its HMAC signature). */
export const webhooks = new Hono<AppEnv>();

/** 401 for a delivery whose X-Hub-Signature-256 is missing or wrong. */
export class InvalidSignatureError extends ForkyardError {
  constructor() {
    super("invalid_signature", "X-Hub-Signature-256 is missing or does not match the body (HMAC-SHA256 with the webhook secret).", { status: 401 });
  }
}

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * The delivery's run key: the signed body's SHA-256. A redelivery (GitHub resends the same bytes)
 * and a replay of a captured body under new X-GitHub-Delivery values (the delivery id is not
 * signed) both name the run the first delivery created; distinct events always differ in body.
 */
export async function deliveryKey(raw: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return `github-body:${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Reads the body, refusing it as soon as it passes `limit` bytes (whatever Content-Length says). */
async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const length = Number(req.headers.get("Content-Length") ?? "0");
  if (length > limit) throw new PayloadTooLargeError(limit);
  const body = new Uint8Array(Math.min(Number.isFinite(length) && length > 0 ? length : 64 * 1024, limit));
  let buffer = body;
  let size = 0;
  const reader = req.body?.getReader();
  if (!reader) return new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      await reader.cancel();
      throw new PayloadTooLargeError(limit);
    }
    if (size + value.byteLength > buffer.byteLength) {
      const grown = new Uint8Array(Math.min(limit, Math.max(buffer.byteLength * 2, size + value.byteLength)));
      grown.set(buffer.subarray(0, size));
      buffer = grown;
    }
    buffer.set(value, size);
    size += value.byteLength;
  }
  return buffer.subarray(0, size);
}

function parsePayload(raw: string, contentType: string): unknown {
  let json = raw;
  if (contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    const form = new URLSearchParams(raw).get("payload");
    if (form === null) throw new InvalidInputError("body: a form-encoded delivery needs a payload field.", { field: "body" });
    json = form;
  }
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new InvalidInputError("body: not valid JSON.", { field: "body" });
  }
}

webhooks.post("/github", async (c) => {
  const config = loadConfig(c.env);
  const secret = config.GITHUB_WEBHOOK_SECRET;
  if (!secret) throw new GitHubUnavailableError("GitHub webhooks are not configured: this deployment has no GITHUB_WEBHOOK_SECRET.");

  // The signature is checked over the raw bytes before anything of the body is looked at.
  const bytes = await readBody(c.req.raw, config.MAX_BODY_BYTES);
  const raw = new TextDecoder().decode(bytes);
  if (!(await verifyGitHubSignature(secret, raw, c.req.header("X-Hub-Signature-256")))) {
    log("warn", "github.webhook_rejected", { requestId: c.get("requestId"), githubEvent: c.req.header("X-GitHub-Event") ?? null });
    throw new InvalidSignatureError();
  }

  const event = c.req.header("X-GitHub-Event") ?? "";
  const deliveryId = c.req.header("X-GitHub-Delivery") ?? "";
  if (!/^[a-z_]{1,64}$/.test(event)) throw new InvalidInputError("X-GitHub-Event: missing or invalid.", { field: "X-GitHub-Event" });
  if (!DELIVERY_ID.test(deliveryId)) throw new InvalidInputError("X-GitHub-Delivery: missing or invalid.", { field: "X-GitHub-Delivery" });
  const payload = parsePayload(raw, c.req.header("Content-Type") ?? "application/json");

  const gh = config.GITHUB_TOKEN ? githubClient(config) : undefined;
  const decision = await decideTrigger({
    event,
    deliveryId,
    payload,
    config,
    roleOf: gh ? (owner, repo, login) => repositoryRole(gh, { owner, repo, login }).catch((err: unknown) => Promise.reject(githubError(err, "permission check", config.GITHUB_TOKEN))) : undefined,
    ownLogin: gh ? () => ownLogin(gh, config.GITHUB_TOKEN ?? "").catch((err: unknown) => Promise.reject(githubError(err, "reading its own login", config.GITHUB_TOKEN))) : undefined,
    pullRequestHead: gh ? (owner, repo, number) => pullRequestHead(gh, { owner, repo, number }) : undefined,
  });
  if (decision.kind === "ping") {
    return c.json({ ok: true, event: "ping", ...(decision.zen !== null ? { zen: decision.zen } : {}), ...(decision.hookId !== null ? { hookId: decision.hookId } : {}) }, 200);
  }
  if (decision.kind === "ignored") {
    log("info", "github.webhook_ignored", { githubEvent: event, deliveryId, reason: decision.reason });
    return c.json({ ignored: true, reason: decision.reason, event, deliveryId }, 202);
  }
  if (decision.kind === "pick") return c.json(await answerPickCommand(c.env, config, decision.pick, { apiOrigin: new URL(c.req.url).origin, event, deliveryId }), 200);
  if (decision.kind === "refork") return c.json(await answerReforkCommand(c.env, config, decision.refork, { event, deliveryId }), 200);

  const runKey = await deliveryKey(bytes);
  const extra = {
    trigger: decision.trigger,
    deliveryId,
    ...(decision.ignoredFlags.length > 0 ? { ignoredFlags: decision.ignoredFlags } : {}),
    ...(decision.notes.length > 0 ? { notes: decision.notes } : {}),
  };
  try {
    const { view, created } = await createRun(c.env, decision.request, { idempotencyKey: runKey });
    log("info", "github.webhook_run", { githubEvent: event, deliveryId, runId: view.id, duplicate: !created, trigger: decision.trigger });
    return c.json({ id: view.id, status: view.status, forks: view.request.forks, duplicate: !created, ...extra, links: runLinks(view.id) }, 202);
  } catch (err) {
    // A redelivery whose request came out different (the config or a pull request's head changed
    // in between) is still the same delivery: it names the run the first one created.
    if (err instanceof ForkyardError && err.code === "idempotency_key_reused") {
      const id = await runIdForIdempotencyKey(runKey);
      return c.json({ id, duplicate: true, ...extra, links: runLinks(id) }, 202);
    }
    // A request the event cannot make (an invalid flag value, a repo this deployment refuses) is
    // the sender's problem, not a failed delivery: answered 202 with the reason.
    if (err instanceof ForkyardError && err.code === "invalid_input") return c.json({ ignored: true, reason: err.message, event, ...extra }, 202);
    throw err;
  }
});
