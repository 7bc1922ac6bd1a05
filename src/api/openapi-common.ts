/** Building blocks of the OpenAPI document shared by its parts (openapi.ts, openapi-runs.ts, openapi-sessions.ts, …). */
export type Json = Record<string, unknown>;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export type ErrorName = "BadRequest" | "Unauthorized" | "BudgetExceeded" | "ModelProxyUnavailable" | "NotFound" | "Conflict" | "Gone" | "PayloadTooLarge" | "RateLimited" | "InternalError" | "AgentUnavailable" | "GitHubUnavailable";
const ERROR_STATUS: Record<ErrorName, string> = {
  BadRequest: "400",
  Unauthorized: "401",
  BudgetExceeded: "402",
  NotFound: "404",
  Conflict: "409",
  Gone: "410",
  PayloadTooLarge: "413",
  RateLimited: "429",
  InternalError: "500",
  AgentUnavailable: "503",
  GitHubUnavailable: "503",
  ModelProxyUnavailable: "503",
};

export function errors(names: ErrorName[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const name of [...names, "InternalError" as const]) out[ERROR_STATUS[name]] = { $ref: `#/components/responses/${name}` };
  return out;
}

export const json = (schema: Json, description: string, extra: Json = {}): Json => ({ description, ...extra, content: { "application/json": { schema } } });

const errorResponse = (description: string, example: { code: string; message: string; details?: Json }, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema: ref("Error"), example: { error: example } } },
});

/** The error responses every operation names (`errors([...])`), each with an example body. */
export const ERROR_RESPONSES: Record<ErrorName, Json> = {
  BadRequest: errorResponse("Invalid input: `details.field` names the field at fault (dotted, e.g. `task.commands`).", {
    code: "invalid_input",
    message: "forks: Too big: expected number to be <=100",
    details: { field: "forks", issues: [{ field: "forks", message: "Too big: expected number to be <=100" }] },
  }),
  Unauthorized: errorResponse("Missing or wrong bearer token.", { code: "unauthorized", message: "A valid bearer token is required (Authorization: Bearer <token>)." }),
  BudgetExceeded: errorResponse("The run's budget cannot cover this model call's worst case (its prompt and full `max_tokens`) beside what is spent and reserved.", {
    code: "budget_exceeded",
    message: "The next model call would reserve about $0.1605 ($0.16) for a call of up to 16,000 output tokens (and about 2,000 input tokens) at list price; spent $0.91 of the run's budget of $1.00. …",
  }),
  NotFound: errorResponse("No such run (or fork) or session; `run_deleted` (GET /v1/runs/:id) for a run that was deleted.", { code: "not_found", message: 'run "rabc…" does not exist.', details: { run: "rabc…" } }),
  Conflict: errorResponse("The run, fork or session is not in a state that allows this: run_not_running, run_not_paused, run_finished, run_cancelled, run_deleted (a budget raise of a deleted run), run_not_ended (a delete before the run ended, or while its sandboxes are still being stopped or it is judged), fork_finished, idempotency_key_reused, session_failed, session_destroyed, session_not_forkable, turn_running, nothing_to_cancel (a session's cancel with no turn running or queued).", {
    code: "run_finished",
    message: "The run already ended (completed).",
  }),
  Gone: errorResponse("The run this request (its Idempotency-Key, or a webhook delivery) created was deleted: it is not created again.", {
    code: "run_deleted",
    message: 'Run "rabc…" was deleted: the request that created it cannot create it again.',
    details: { run: "rabc…" },
  }),
  PayloadTooLarge: errorResponse("The body is larger than MAX_BODY_BYTES.", { code: "payload_too_large", message: "Request body exceeds 1048576 bytes.", details: { limitBytes: 1048576 } }),
  RateLimited: errorResponse(
    "Too many requests; retry after the delay in Retry-After.",
    { code: "rate_limited", message: "Too many requests.", details: { retryAfterSeconds: 1 } },
    { "Retry-After": { description: "seconds to wait", schema: { type: "integer" } } },
  ),
  InternalError: errorResponse("Unexpected failure (`details.requestId` to quote), or `config_invalid`.", {
    code: "internal_error",
    message: "Internal error.",
    details: { requestId: "8e6c…" },
  }),
  AgentUnavailable: errorResponse("Agent tasks need a model API key this deployment does not have.", {
    code: "agent_unavailable",
    message: "Agent tasks are not available: this deployment has no ANTHROPIC_API_KEY.",
  }),
  ModelProxyUnavailable: errorResponse("The model API key (ANTHROPIC_API_KEY) is not configured, or, for a claude-code run, PUBLIC_URL is not.", {
    code: "model_proxy_unavailable",
    message: "The claude-code runtime needs PUBLIC_URL (the Worker's address as sandboxes reach it): it reaches the model only through the Worker's model proxy, never with a key of its own.",
  }),
  GitHubUnavailable: errorResponse("GitHub webhooks are not configured (no GITHUB_WEBHOOK_SECRET), or GitHub could not be reached.", {
    code: "github_unavailable",
    message: "GitHub webhooks are not configured: this deployment has no GITHUB_WEBHOOK_SECRET.",
  }),
};
