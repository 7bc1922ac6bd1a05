import { Hono } from "hono";
import { forwardEvents } from "./event-stream";
import { branchRequest, forkPairParams, forkPathParams, judgeRequest, listRunsQuery, mergeRequest, raiseBudgetRequest, runViewQuery, type ForkView, type RunView } from "../api/runs";
import { resolveModel } from "../agent/models";
import { loadConfig } from "../core/env";
import { readJson, validJson, validParams, validQuery } from "../api/validation";
import type { AppEnv } from "../core/app-env";
import { AgentUnavailableError, InvalidInputError, NotFoundError, RunDeletedError, unwrap, type Result } from "../core/errors";
import { createRun, runLinks } from "../actions/create-run";
import { RUN_ID_PATTERN } from "../protocol/run-ids";
import { listRuns } from "../d1-index/run-index";
import { sessionFromFork } from "../actions/session-from-run";
import { compareRun } from "../runs/compare";
import { diffForks } from "../runs/fork-diff";
import { pickFork } from "../actions/pick";
import { ArtifactStore } from "../artifacts/store";
import { transcriptQuery } from "../api/sessions";
import { deleteRun } from "../actions/delete-run";
import { tombstoneOf } from "../d1-index/run-tombstones";

export const runs = new Hono<AppEnv>();

function orchestrator(env: AppEnv["Bindings"], id: string) {
  if (!RUN_ID_PATTERN.test(id)) throw new NotFoundError("run", id);
  return env.ORCHESTRATOR.getByName(id);
}

/**
 * The value of one call to a run's Orchestrator (one trip through its queue, no existence check
 * first); an Orchestrator that holds no run answers as the API's 404 for `id`.
 */
function runResult<T>(id: string, result: Result<T>): T {
  if (!result.ok && result.error.code === "not_found" && result.error.details?.run !== undefined) throw new NotFoundError("run", id);
  return unwrap(result);
}

runs.post("/", async (c) => {
  const body = await readJson(c.req.raw);
  const { view, created } = await createRun(c.env, body, { idempotencyKey: c.req.header("Idempotency-Key") ?? null });
  if (!created) c.header("Idempotent-Replayed", "true");
  return c.json({ id: view.id, status: view.status, forks: view.request.forks, createdAt: view.createdAt, links: runLinks(view.id) }, 202);
});

runs.get("/", validQuery(listRunsQuery), async (c) => c.json(await listRuns(c.env.DB, c.req.valid("query"))));

runs.get("/:id", validQuery(runViewQuery), async (c) => {
  const id = c.req.param("id");
  const view = await orchestrator(c.env, id).view();
  if (!view) throw (await tombstoneOf(c.env.DB, id)) ? new RunDeletedError(id) : new NotFoundError("run", id);
  const { forksAfter, forksLimit } = c.req.valid("query");
  if (forksAfter === undefined && forksLimit === undefined) return c.json(view as RunView);
  return c.json(forksPage(view as RunView, forksAfter ?? 0, forksLimit ?? DEFAULT_FORKS_PAGE));
});

const DEFAULT_FORKS_PAGE = 100;

/** One page of a run's forks: those numbered after `after`, `limit` of them. */
function forksPage(view: RunView, after: number, limit: number): RunView {
  const rest = view.forks.filter((f) => f.n > after);
  const forks = rest.slice(0, limit);
  const next = rest.length > limit ? forks.at(-1)!.n : null;
  return { ...view, forks, forksPage: { after, limit, total: view.forks.length, next } };
}

runs.delete("/:id", async (c) => c.json(await deleteRun(c.env, c.req.param("id"))));

for (const action of ["pause", "resume", "cancel"] as const) {
  runs.post(`/:id/${action}`, async (c) => {
    const id = c.req.param("id");
    return c.json(runResult(id, await orchestrator(c.env, id)[action]()));
  });
}

runs.post("/:id/budget", validJson(raiseBudgetRequest), async (c) => {
  const id = c.req.param("id");
  const { budgetUsd } = c.req.valid("json");
  const result = await orchestrator(c.env, id).raiseBudget(budgetUsd);
  // A deleted run cannot go on: a conflict, not a run that never was.
  if (!result.ok && result.error.code === "not_found" && (await tombstoneOf(c.env.DB, id))) throw new RunDeletedError(id, 409);
  return c.json(runResult(id, result));
});

runs.get("/:id/forks/:n", validParams(forkPathParams), async (c) => {
  const { id, n } = c.req.valid("param");
  return c.json(runResult(id, await orchestrator(c.env, id).forkView(n)) as ForkView);
});

runs.get("/:id/forks/:n/transcript", validParams(forkPathParams), validQuery(transcriptQuery), async (c) => {
  const { id, n } = c.req.valid("param");
  const { after, limit } = c.req.valid("query");
  return c.json(runResult(id, await orchestrator(c.env, id).forkTranscript(n, after, limit)));
});

runs.post("/:id/forks/:n/cancel", validParams(forkPathParams), async (c) => {
  const { id, n } = c.req.valid("param");
  return c.json(runResult(id, await orchestrator(c.env, id).cancelFork(n)));
});

/** A request's Idempotency-Key (branch, merge): absent, or 1 to 255 characters. */
function idempotencyKey(header: string | undefined): string | undefined {
  if (header !== undefined && (header.length === 0 || header.length > 255)) throw new InvalidInputError("Idempotency-Key: must be 1 to 255 characters.", { field: "Idempotency-Key" });
  return header;
}

runs.post("/:id/forks/:n/branch", validParams(forkPathParams), validJson(branchRequest), async (c) => {
  const { id, n } = c.req.valid("param");
  const body = c.req.valid("json");
  return c.json(runResult(id, await orchestrator(c.env, id).branch(n, body, idempotencyKey(c.req.header("Idempotency-Key")))), 202);
});

runs.post("/:id/merge", validJson(mergeRequest), async (c) => {
  const id = c.req.param("id");
  const body = c.req.valid("json");
  if (body.model !== undefined) body.model = resolveModel(body.model, "model");
  if (!loadConfig(c.env).ANTHROPIC_API_KEY) throw new AgentUnavailableError();
  return c.json(runResult(id, await orchestrator(c.env, id).merge(body, idempotencyKey(c.req.header("Idempotency-Key")))), 202);
});

runs.post("/:id/judge", validJson(judgeRequest, { optional: true }), async (c) => {
  const id = c.req.param("id");
  const body = c.req.valid("json");
  if (body.llm?.model) body.llm.model = resolveModel(body.llm.model);
  if (!loadConfig(c.env).ANTHROPIC_API_KEY) throw new AgentUnavailableError();
  return c.json(runResult(id, await orchestrator(c.env, id).judge(body.llm || body.mode ? body : undefined)), 202);
});

runs.get("/:id/compare", async (c) => {
  const id = c.req.param("id");
  const view = await orchestrator(c.env, id).view();
  if (!view) throw new NotFoundError("run", id);
  return c.json(await compareRun(view as RunView, new ArtifactStore(c.env.ARTIFACTS)));
});

runs.get("/:id/compare/:a/:b", validParams(forkPairParams), async (c) => {
  const { id, a, b } = c.req.valid("param");
  const view = await orchestrator(c.env, id).view();
  if (!view) throw new NotFoundError("run", id);
  return c.json(await diffForks(view as RunView, a, b, new ArtifactStore(c.env.ARTIFACTS)));
});

runs.post("/:id/forks/:n/pick", validParams(forkPathParams), async (c) => {
  const { id, n } = c.req.valid("param");
  return c.json(await pickFork(c.env, { runId: id, n, apiOrigin: new URL(c.req.url).origin }));
});

runs.post("/:id/forks/:n/session", validParams(forkPathParams), async (c) => {
  const { id, n } = c.req.valid("param");
  const run = await orchestrator(c.env, id).view();
  if (!run) throw new NotFoundError("run", id);
  const view = await sessionFromFork(c.env, run as RunView, n);
  return c.json({ id: view.id, status: view.status, title: view.title, links: view.links }, 201);
});

runs.get("/:id/events", (c) => forwardEvents(c, orchestrator(c.env, c.req.param("id")), "run", c.req.param("id")));
