/** The operations (pool, profiles, template aliases, reaper), GitHub webhook and meta parts of the OpenAPI document. */
import { errors, json, ref, type Json } from "./openapi-common.ts";

type Paths = Record<string, Json>;

export const POOL_CONFIG_EXAMPLE = { templates: { base: { min: 5, max: 10, idleSeconds: 300, mode: "running" } } } as const;

const aliasParam = { name: "alias", in: "path", required: true, description: "a template alias", schema: { type: "string", pattern: "^[A-Za-z0-9._:-]+$" } };

/** GitHub's webhook deliveries: signed, no bearer token. */
export function githubPaths(): Paths {
  return {
    "/v1/webhooks/github": {
      post: {
        tags: ["github"],
        operationId: "githubWebhook",
        summary: "GitHub webhook deliveries",
        description:
          "Starts runs from GitHub events (an issue labelled, a `/fork N <prompt>` comment, …) and answers `/pick k` and `/refork k [prompt]` comments (200, `WebhookPick`, `WebhookRefork`). No bearer token: each delivery is authenticated by its " +
          "`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET), checked before anything else (401 `invalid_signature`). " +
          "A redelivery (same `X-GitHub-Delivery`) names the same run. Deliveries that start nothing are answered 202 with the reason.",
        security: [],
        parameters: [
          { name: "X-Hub-Signature-256", in: "header", required: true, description: "`sha256=<hex HMAC-SHA256 of the body>`", schema: { type: "string" } },
          { name: "X-GitHub-Event", in: "header", required: true, description: "the event: `issues`, `issue_comment`, `ping`, …", schema: { type: "string", pattern: "^[a-z_]{1,64}$" } },
          { name: "X-GitHub-Delivery", in: "header", required: true, description: "the delivery's id", schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,200}$" } },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: { type: "object", description: "the event's payload, as GitHub sends it" } },
            "application/x-www-form-urlencoded": { schema: { type: "object", properties: { payload: { type: "string", description: "the payload as JSON" } }, required: ["payload"] } },
          },
        },
        responses: {
          "200": json({ anyOf: [ref("WebhookPing"), ref("WebhookPick"), ref("WebhookRefork")] }, "A `ping` event (sent when the webhook is created), or a `/pick k` or `/refork k` comment answered (the pick or the new fork, or why not, and the reply comment)."),
          "202": json({ anyOf: [ref("WebhookRun"), ref("WebhookIgnored")] }, "The delivery started a run (or found the one a first delivery started), or was ignored, with the reason."),
          ...errors(["BadRequest", "Unauthorized", "Gone", "PayloadTooLarge", "GitHubUnavailable"]),
        },
      },
    },
  };
}

/** The sandbox pool, size profiles, template aliases and the reaper. */
export function operationPaths(): Paths {
  return {
    "/v1/pool": {
      get: {
        tags: ["operations"],
        operationId: "getPool",
        summary: "The sandbox pool: cap, creation rate, live sandboxes, leases and the warm pool per template",
        responses: { "200": json(ref("PoolStatus"), "The pool's state."), ...errors(["Unauthorized"]) },
      },
      put: {
        tags: ["operations"],
        operationId: "configurePool",
        summary: "Configure the warm pool",
        description:
          "Replaces the warm-pool configuration: per template, `min` sandboxes kept ready (the target grows by recent cold acquires up to `max`), each recycled after `idleSeconds` unused. `running` warm sandboxes are handed out at once and count against MAX_LIVE_SANDBOXES (their minimums together must fit under it: 400 otherwise); `paused` ones are resumed on hand-out and neither count nor bill. A warm sandbox goes to exactly one fork. The configuration persists; the Pool refills and trims on its alarm.",
        requestBody: { required: true, content: { "application/json": { schema: ref("PoolConfigRequest"), example: POOL_CONFIG_EXAMPLE } } },
        responses: { "200": json({ type: "object", properties: { templates: { type: "object", additionalProperties: ref("PoolTemplateStatus") } }, required: ["templates"] }, "The warm pool per template."), ...errors(["BadRequest", "Unauthorized", "PayloadTooLarge"]) },
      },
    },
    "/v1/profiles": {
      get: {
        tags: ["operations"],
        operationId: "listProfiles",
        summary: "Sandbox size profiles",
        description: "`light`, `medium`, `heavy`, `ml`: each a template, its vCPU and GiB (what its sandbox time is costed at) and a default timeout; the PROFILES variable overrides any field. A run's `profile` takes its template and timeout unless the run sets them.",
        responses: { "200": json(ref("Profiles"), "Every profile."), ...errors(["Unauthorized"]) },
      },
    },
    "/v1/templates/{alias}": {
      get: {
        tags: ["operations"],
        operationId: "getTemplateAlias",
        parameters: [aliasParam],
        summary: "A template alias: its active version and every version",
        responses: { "200": json(ref("TemplateAlias"), "The alias."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
      },
      put: {
        tags: ["operations"],
        operationId: "putTemplateAlias",
        parameters: [aliasParam],
        summary: "Point a template alias at a template id (a new version)",
        description: "Records a new version and makes it active (201); the id the alias already points at changes nothing (200). A run naming the alias as its `template` resolves it when created and keeps that id for every fork, retry and relaunch.",
        requestBody: { required: true, content: { "application/json": { schema: ref("PutTemplateRequest"), example: { templateId: "my-env-v2" } } } },
        responses: {
          "200": json(ref("TemplateAlias"), "Unchanged: already this id."),
          "201": json(ref("TemplateAlias"), "A new version, now active."),
          ...errors(["BadRequest", "Unauthorized", "PayloadTooLarge"]),
        },
      },
    },
    "/v1/templates/{alias}/rollback": {
      post: {
        tags: ["operations"],
        operationId: "rollbackTemplateAlias",
        parameters: [aliasParam],
        summary: "Make the version before the active one active again",
        description: "409 `no_previous_version` when the active version is the first. Runs already created keep the id they resolved.",
        responses: { "200": json(ref("TemplateAlias"), "The alias after the rollback."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]) },
      },
    },
    "/v1/reaper/run": {
      post: {
        tags: ["operations"],
        operationId: "runReaper",
        summary: "Kill orphaned sandboxes now",
        description: "The reaper the cron trigger runs: kills Forkyard sandboxes with no lease, of finished runs, or older than REAPER_MAX_AGE_SECONDS.",
        responses: { "200": json(ref("ReaperReport"), "What was killed."), ...errors(["Unauthorized"]) },
      },
    },
  };
}

/** Health, metrics, this document and its page. */
export function metaPaths(): Paths {
  return {
    "/healthz": {
      get: {
        tags: ["meta"],
        operationId: "health",
        summary: "The Worker is up, and which sandbox backend it reaches",
        security: [],
        responses: { "200": json(ref("Health"), "Health.") },
      },
    },
    "/metrics": {
      get: {
        tags: ["meta"],
        operationId: "metrics",
        summary: "Prometheus metrics",
        description: "Prometheus text exposition (runs, forks, fork durations, step attempts, costs, sandboxes). Behind a bearer METRICS_TOKEN when the deployment sets one, public otherwise.",
        security: [{}, { metricsToken: [] }],
        responses: {
          "200": { description: "Prometheus text format 0.0.4.", content: { "text/plain": { schema: { type: "string" }, example: 'forkyard_runs_total{status="completed"} 12\n' } } },
          ...errors(["Unauthorized"]),
        },
      },
    },
    "/openapi.json": {
      get: {
        tags: ["meta"],
        operationId: "openapi",
        summary: "This document",
        security: [],
        responses: { "200": { description: "The OpenAPI 3.1 document.", content: { "application/json": { schema: { type: "object" } } } } },
      },
    },
    "/docs": {
      get: {
        tags: ["meta"],
        operationId: "docs",
        summary: "Interactive API reference (this document, rendered)",
        security: [],
        responses: { "200": { description: "An HTML page.", content: { "text/html": { schema: { type: "string" } } } } },
      },
    },
  };
}
