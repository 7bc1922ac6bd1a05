import { Hono } from "hono";
import { forwardEvents } from "./event-stream";
import { resolveModel } from "../agent/models";
import { validateRepo } from "../api/repo";
import { resolveBaseBranch } from "../runs/default-branch";
import { DEFAULT_TEMPLATE } from "../api/runs";
import { createSessionRequest, deleteSessionQuery, forkSessionRequest, listSessionsQuery, messagePathParams, patchSessionRequest, sendMessageRequest, sessionLinks, transcriptQuery, type SessionView } from "../api/sessions";
import { validJson, validParams, validQuery } from "../api/validation";
import type { AppEnv } from "../core/app-env";
import { loadConfig } from "../core/env";
import { AgentUnavailableError, NotFoundError, SessionDeletedError, unwrap, type Result } from "../core/errors";
import { resolveRunSandbox } from "../runs/run-sandbox";
import { resolveProfiles } from "../core/sandbox-profiles";
import { TemplateAliases } from "../sandbox/template-aliases";
import { newSessionId, SESSION_ID_PATTERN, sessionWorkBranch } from "../protocol/session-ids";
import { listSessions } from "../d1-index/session-index";
import { sessionTombstoneOf } from "../d1-index/session-tombstones";
import { deleteSession } from "../actions/delete-session";
import { pickSession, sessionPatch } from "../actions/session-work";
import { objectResponse } from "./artifacts";

export const sessions = new Hono<AppEnv>();

function sessionObject(env: AppEnv["Bindings"], id: string) {
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError("session", id);
  return env.SESSION.getByName(id);
}

/** A Session object's answer; one that holds no session answers as the API's 404 for `id`. */
function sessionResult<T>(id: string, result: Result<T>): T {
  if (!result.ok && result.error.code === "not_found" && result.error.details?.session !== undefined) throw new NotFoundError("session", id);
  return unwrap(result);
}

sessions.post("/", validJson(createSessionRequest), async (c) => {
  const config = loadConfig(c.env);
  const parsed = c.req.valid("json");
  const repo = validateRepo(parsed.repo, config.ALLOW_LOCAL_REPOS);
  if (!config.ANTHROPIC_API_KEY) throw new AgentUnavailableError();
  const request = { ...parsed, repo, branch: await resolveBaseBranch(config, repo, parsed.branch) };
  const model = resolveModel(request.model);
  const template = request.template ?? (request.profile ? resolveProfiles(config.PROFILES)[request.profile].template : DEFAULT_TEMPLATE);
  const sandbox = await resolveRunSandbox({ template, profile: request.profile }, config, new TemplateAliases(c.env.DB));
  const id = newSessionId();
  const view = unwrap(await c.env.SESSION.getByName(id).create({ id, request: { ...request, model }, sandbox, workBranch: sessionWorkBranch(id) }));
  return c.json({ id: view.id, status: view.status, title: view.title, links: view.links }, 201);
});

sessions.get("/", validQuery(listSessionsQuery), async (c) => c.json(await listSessions(c.env.DB, c.req.valid("query"))));

sessions.get("/:id", async (c) => {
  const id = c.req.param("id");
  const view = await sessionObject(c.env, id).view();
  if (!view) throw (await sessionTombstoneOf(c.env.DB, id)) ? new SessionDeletedError(id) : new NotFoundError("session", id);
  return c.json(view as SessionView);
});

sessions.patch("/:id", validJson(patchSessionRequest), async (c) => {
  const id = c.req.param("id");
  return c.json(sessionResult(id, await sessionObject(c.env, id).update(c.req.valid("json"))));
});

/** Destroys the session (its sandbox killed, its transcript kept); `?purge=true` deletes it for good (delete-session.ts). */
sessions.delete("/:id", validQuery(deleteSessionQuery), async (c) => {
  const id = c.req.param("id");
  if (c.req.valid("query").purge) return c.json(await deleteSession(c.env, id));
  return c.json(sessionResult(id, await sessionObject(c.env, id).destroy()));
});

sessions.post("/:id/messages", validJson(sendMessageRequest), async (c) => {
  const id = c.req.param("id");
  const { prompt, model } = c.req.valid("json");
  const { turn } = sessionResult(id, await sessionObject(c.env, id).send(prompt, model ? resolveModel(model) : undefined));
  return c.json({ turn, links: sessionLinks(id) }, 202);
});

sessions.delete("/:id/messages/:n", validParams(messagePathParams), async (c) => {
  const { id, n } = c.req.valid("param");
  return c.json(sessionResult(id, await sessionObject(c.env, id).removeMessage(n)));
});

for (const action of ["pause", "cancel"] as const) {
  sessions.post(`/:id/${action}`, async (c) => {
    const id = c.req.param("id");
    return c.json(sessionResult(id, await sessionObject(c.env, id)[action]()));
  });
}

sessions.post("/:id/fork", validJson(forkSessionRequest, { optional: true }), async (c) => {
  const id = c.req.param("id");
  const { count, title, budgetUsd } = c.req.valid("json");
  const answer = sessionResult(id, await sessionObject(c.env, id).fork(count, { title, budgetUsd }));
  // While a turn runs, the new sessions are made at its next step boundary: 202 with their ids.
  return c.json(answer, "pending" in answer ? 202 : 201);
});

sessions.get("/:id/transcript", validQuery(transcriptQuery), async (c) => {
  const id = c.req.param("id");
  const { after, limit } = c.req.valid("query");
  const entries = sessionResult(id, await sessionObject(c.env, id).transcript(after, limit + 1));
  const page = entries.slice(0, limit);
  return c.json({ entries: page, next: entries.length > limit ? page[page.length - 1]!.seq : null });
});

sessions.get("/:id/events", (c) => forwardEvents(c, sessionObject(c.env, c.req.param("id")), "session", c.req.param("id")));

sessions.get("/:id/patch", async (c) => objectResponse(c, await sessionPatch(c.env, c.req.param("id")), "text/x-diff; charset=utf-8"));

sessions.post("/:id/pick", async (c) => c.json(await pickSession(c.env, c.req.param("id"), new URL(c.req.url).origin)));
