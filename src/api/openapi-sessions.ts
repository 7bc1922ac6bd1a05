/** The sessions part of the OpenAPI document: its operations and the schemas they use. */
import type { z } from "zod";
import { errors, json, ref, type Json } from "./openapi-common.ts";
import { createSessionRequest, forkSessionRequest, patchSessionRequest, sendMessageRequest } from "./sessions.ts";
import * as res from "./session-responses.ts";

export const CREATE_SESSION_EXAMPLE = { repo: "https://github.com/acme/app.git", branch: "main", model: "sonnet", title: "Speed up the test suite", idleSeconds: 300, budgetUsd: 20 } as const;

export const SESSION_REQUEST_SCHEMAS: [string, z.core.$ZodType][] = [
  ["CreateSessionRequest", createSessionRequest],
  ["SendMessageRequest", sendMessageRequest],
  ["PatchSessionRequest", patchSessionRequest],
  ["ForkSessionRequest", forkSessionRequest],
];

export const SESSION_RESPONSE_SCHEMAS: [string, z.core.$ZodType][] = [
  ["SessionView", res.sessionView],
  ["TurnView", res.turnView],
  ["SessionLinks", res.sessionLinks],
  ["CreatedSession", res.createdSession],
  ["MessageAccepted", res.messageAccepted],
  ["ForkedSessions", res.forkedSessions],
  ["TranscriptEntry", res.transcriptEntry],
  ["TranscriptPage", res.transcriptPage],
  ["SessionSummary", res.sessionSummary],
  ["SessionPage", res.sessionPage],
  ["DeletedSession", res.deletedSession],
];

const sessionIdParam = { $ref: "#/components/parameters/SessionId" };

function sessionOp(operationId: string, summary: string, description: string, responses: Json, body?: { schema: string; example?: Json }): Json {
  return {
    tags: ["sessions"],
    operationId,
    summary,
    description,
    parameters: [sessionIdParam],
    ...(body ? { requestBody: { required: true, content: { "application/json": { schema: ref(body.schema), ...(body.example ? { example: body.example } : {}) } } } } : {}),
    responses,
  };
}

const viewResponse = (description: string, extra: ("BadRequest" | "Conflict" | "PayloadTooLarge")[] = []) => ({ "200": json(ref("SessionView"), description), ...errors(["Unauthorized", "NotFound", ...extra]) });

export const SESSION_PATHS: Record<string, Record<string, Json>> = {
  "/v1/sessions": {
    post: {
      tags: ["sessions"],
      operationId: "createSession",
      summary: "Start a session",
      description:
        "A durable multi-turn agent on a repository. Its setup (a sandbox, a health check, a clone onto `forkyard/s/<id>`) starts at once; " +
        "messages sent meanwhile are queued. After `idleSeconds` with nothing to do the sandbox is paused (not billed, files kept).",
      requestBody: { required: true, content: { "application/json": { schema: ref("CreateSessionRequest"), example: CREATE_SESSION_EXAMPLE } } },
      responses: { "201": json(ref("CreatedSession"), "The session (status `setting_up`)."), ...errors(["BadRequest", "Unauthorized", "PayloadTooLarge", "AgentUnavailable"]) },
    },
    get: {
      tags: ["sessions"],
      operationId: "listSessions",
      summary: "List sessions, newest first",
      parameters: [
        { name: "status", in: "query", required: false, description: "only sessions with this status", schema: { type: "string", enum: [...res.SESSION_STATUSES] } },
        { name: "limit", in: "query", required: false, description: "sessions per page (1-100, default 20)", schema: { type: "integer", minimum: 1, maximum: 100 } },
        { name: "cursor", in: "query", required: false, description: "`nextCursor` of the previous page", schema: { type: "string" } },
      ],
      responses: { "200": json(ref("SessionPage"), "A page of sessions."), ...errors(["BadRequest", "Unauthorized"]) },
    },
  },
  "/v1/sessions/{id}": {
    get: sessionOp("getSession", "A session with its turns and costs", "Its status, sandbox (running, paused or gone), every turn, the queue and the spend.", viewResponse("The session.")),
    patch: sessionOp("updateSession", "Rename a session or change its budget", "A turn waiting for budget continues once `budgetUsd` covers its next model call.", viewResponse("The session.", ["BadRequest", "PayloadTooLarge"]), {
      schema: "PatchSessionRequest",
      example: { title: "Faster tests", budgetUsd: 40 },
    }),
    delete: {
      ...sessionOp(
        "destroySession",
        "Destroy a session, or delete it for good (?purge=true)",
        "Without `purge`: stops the running turn, drops queued ones and kills the sandbox; the transcript stays readable; status `destroyed`. " +
          "With `purge=true`: deletes the session for good (destroyed first when it was not): its object's state (record, turns, transcript, ledger, event log) and alarm, every R2 object " +
          "under `sessions/<id>/` (its patch, its workspace snapshots) and its row in GET /v1/sessions; a tombstone stays, so GET answers 404 `session_deleted`. Sessions forked from it keep " +
          "their own copies (history, sandbox, snapshots); a run it continued is unchanged (its kept sandbox, taken over by the session, is gone). Repeating it answers 200 again. " +
          "409 `session_busy` while a turn runs or is queued, or while it is set up (cancel the turn first).",
        { "200": { description: "The destroyed session (SessionView), or with `purge=true` what was deleted (DeletedSession).", content: { "application/json": { schema: { oneOf: [ref("SessionView"), ref("DeletedSession")] } } } }, ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]) },
      ),
      parameters: [sessionIdParam, { name: "purge", in: "query", required: false, description: "`true`: delete the session for good instead of only destroying it", schema: { type: "string", enum: ["true", "false"] } }],
    },
  },
  "/v1/sessions/{id}/messages": {
    post: sessionOp(
      "sendMessage",
      "Send a message (a turn)",
      "Queued behind a running turn; turns run in order, also after a turn that failed, was cancelled or ran out of budget (each with the earlier turns' recorded exchanges, " +
        "a failed one's included, in its history). `model` switches the model from this turn on. 409 for a failed or destroyed session (its queued messages are dropped); " +
        "429 `queue_full` (with Retry-After) when SESSION_QUEUE_LIMIT messages (default 20) are queued already.",
      { "202": json(ref("MessageAccepted"), "The turn the message runs as."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict", "PayloadTooLarge", "RateLimited"]) },
      { schema: "SendMessageRequest", example: { prompt: "Now add a test for the empty case." } },
    ),
  },
  "/v1/sessions/{id}/messages/{n}": {
    delete: {
      ...sessionOp(
        "removeMessage",
        "Remove a queued message",
        "Message n (the `turn` its POST answered) leaves the queue without running: its turn ends `cancelled` with error `removed`, and is never in any history. " +
          "409 `turn_not_queued` once it started or ended; 404 for an unknown turn.",
        viewResponse("The session.", ["BadRequest", "Conflict"]),
      ),
      parameters: [sessionIdParam, { name: "n", in: "path", required: true, description: "the turn the message was queued as", schema: { type: "integer", minimum: 1 } }],
    },
  },
  "/v1/sessions/{id}/transcript": {
    get: {
      tags: ["sessions"],
      operationId: "getTranscript",
      summary: "The conversation so far",
      description: "User prompts, the agent's messages with their tool calls, and tool results (bounded as the agent saw them), in order, paginated by `seq`.",
      parameters: [
        sessionIdParam,
        { name: "after", in: "query", required: false, description: "entries after this seq (`next` of the previous page)", schema: { type: "integer", minimum: 0 } },
        { name: "limit", in: "query", required: false, description: "entries per page (1-500, default 100)", schema: { type: "integer", minimum: 1, maximum: 500 } },
      ],
      responses: { "200": json(ref("TranscriptPage"), "A page of the transcript."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
    },
  },
  "/v1/sessions/{id}/pause": {
    post: sessionOp("pauseSession", "Pause the sandbox now", "Instead of waiting for `idleSeconds`. 409 while a turn runs; the next message resumes it.", viewResponse("The session.", ["Conflict"])),
  },
  "/v1/sessions/{id}/cancel": {
    post: sessionOp(
      "cancelTurn",
      "Stop the running turn",
      "The turn stops at its next step (status `cancelled`; a model or tool call in flight ends first and is recorded); a turn waiting for budget stops at once. " +
        "While the session is set up (no turn runs yet), the first queued message, the turn the session gets ready for, ends `cancelled` without running (no model call; in no history) and the setup goes on. " +
        "Queued messages behind the stopped turn stay queued and run next. 409 `nothing_to_cancel` when no turn runs or is queued (`details.status`: the session's status).",
      viewResponse("The session.", ["Conflict"]),
    ),
  },
  "/v1/sessions/{id}/fork": {
    post: sessionOp(
      "forkSession",
      "Fork a session",
      "New sessions with the history up to the last ended turn and a copy of the workspace (E2B's sandbox fork), independent afterwards (201). " +
        "While a turn runs: 202 with the pending ids, made at the turn's next step boundary (before its next model or tool call, or when it ends) with the turn as far as it got and the workspace of that moment. " +
        "Each has its own work branch `forkyard/s/<id>` (checked out by its first turn, changes kept) and a distinct title (`… (fork i of n)`). " +
        "`budgetUsd` is each one's budget (one number, or one per new session); by default the parent's remaining budget is split evenly (none if it has none).",
      {
        "201": json(ref("ForkedSessions"), "The new sessions."),
        "202": json(ref("ForkedSessions"), "A turn runs: `pending` new sessions, made at its next step boundary."),
        ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict", "RateLimited"]),
      },
      { schema: "ForkSessionRequest", example: { count: 2, title: "Try another approach", budgetUsd: [2, 3] } },
    ),
  },
  "/v1/runs/{id}/forks/{n}/session": {
    post: {
      tags: ["sessions"],
      operationId: "sessionFromFork",
      summary: "Continue a run's fork as a session",
      description:
        "A session that takes over fork n's kept sandbox (the run needs `keepSandboxes: true`; kept for KEEP_SANDBOX_SECONDS) and, for an agent fork, " +
        "its conversation as turn 1. Its budget is what the run had left of its own. The session starts paused; the first message resumes it. 409 `sandbox_not_kept` when there is no kept sandbox (or it was taken over already), `fork_running` before the fork ends.",
      parameters: [{ $ref: "#/components/parameters/RunId" }, { name: "n", in: "path", required: true, description: "fork number (1..N)", schema: { type: "integer", minimum: 1, maximum: 1000 } }],
      responses: { "201": json(ref("CreatedSession"), "The new session (status `paused`)."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]) },
    },
  },
  "/v1/sessions/{id}/events": {
    get: {
      tags: ["events"],
      operationId: "sessionEvents",
      summary: "A session's live events (Server-Sent Events)",
      description:
        "session.created, session.ready, session.status, turn.queued, turn.started, step.started, step.finished, tool.output, cost.recorded, turn.finished, " +
        "turn.removed, turn.restarted (a stuck turn's instance restarted from its running step, or resumed: step, resumed), sandbox.paused, sandbox.resumed, session.repaired, session.repair_failed, sandbox.lost (rebuildFrom, replay; step: the tool step it was lost in, when during a turn), session.rebuilt, session.fork_pending, session.forked, session.fork_failed, session.destroyed. `fork` in the data is the turn. Reconnect with Last-Event-ID.",
      parameters: [
        sessionIdParam,
        { name: "Last-Event-ID", in: "header", required: false, description: "replay events after this seq", schema: { type: "string", pattern: "^[0-9]+$" } },
        { name: "after", in: "query", required: false, description: "same as Last-Event-ID", schema: { type: "string", pattern: "^[0-9]+$" } },
      ],
      responses: {
        "200": { description: "The event stream.", content: { "text/event-stream": { schema: { type: "string" } } } },
        ...errors(["Unauthorized", "NotFound", "RateLimited"]),
      },
    },
  },
};
