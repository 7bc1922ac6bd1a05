import { Hono } from "hono";
import { createRunRequest, forkNumberParam, listRunsQuery, raiseBudgetRequest, type RunView } from "../api/runs";
import { resolveModel } from "../agent/models";
import { validateRepo } from "../api/repo";
import { parseInput } from "../api/validation";
import type { AppEnv } from "../app-env";
import { loadConfig } from "../env";
import { AgentUnavailableError, InvalidInputError, NotFoundError, unwrap } from "../errors";
import { newRunId, RUN_ID_PATTERN, runIdForIdempotencyKey, sha256Hex, workBranch } from "../runs/ids";
import { listRuns } from "../runs/run-index";

export const runs = new Hono<AppEnv>();

function runLinks(id: string) {
  const self = `/v1/runs/${id}`;
  return { self, events: `${self}/events`, pause: `${self}/pause`, resume: `${self}/resume`, cancel: `${self}/cancel` };
}

function orchestrator(env: AppEnv["Bindings"], id: string) {
  if (!RUN_ID_PATTERN.test(id)) throw new NotFoundError("run", id);
  return env.ORCHESTRATOR.getByName(id);
}

async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.trim() === "") throw new InvalidInputError("body: a JSON body is required.", { field: "body" });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidInputError("body: not valid JSON.", { field: "body" });
  }
}

runs.post("/", async (c) => {
  const config = loadConfig(c.env);
  const request = parseInput(createRunRequest, await readJson(c.req.raw));
  request.repo = validateRepo(request.repo, config.ALLOW_LOCAL_REPOS);
  if ("prompt" in request.task) {
    request.task.model = resolveModel(request.task.model);
    if (!config.ANTHROPIC_API_KEY) throw new AgentUnavailableError();
  }

  const idempotencyKey = c.req.header("Idempotency-Key") ?? null;
  if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
    throw new InvalidInputError("Idempotency-Key: must be 1 to 255 characters.", { field: "Idempotency-Key" });
  }
  const id = idempotencyKey ? await runIdForIdempotencyKey(idempotencyKey) : newRunId();
  const branches = Array.from({ length: request.forks }, (_, i) => workBranch(id, i + 1, request.branchPrefix));
  const { view, created } = unwrap(
    await c.env.ORCHESTRATOR.getByName(id).create({ id, request, requestHash: await sha256Hex(JSON.stringify(request)), idempotencyKey, branches }),
  );
  if (!created) c.header("Idempotent-Replayed", "true");
  return c.json({ id: view.id, status: view.status, forks: view.request.forks, createdAt: view.createdAt, links: runLinks(view.id) }, 202);
});

runs.get("/", async (c) => {
  const query = parseInput(listRunsQuery, c.req.query(), "query");
  const page = await listRuns(c.env.DB, query);
  return c.json(page);
});

runs.get("/:id", async (c) => {
  const id = c.req.param("id");
  const view = await orchestrator(c.env, id).view();
  if (!view) throw new NotFoundError("run", id);
  return c.json(view as RunView);
});

for (const action of ["pause", "resume", "cancel"] as const) {
  runs.post(`/:id/${action}`, async (c) => {
    const id = c.req.param("id");
    const stub = orchestrator(c.env, id);
    if (!(await stub.view())) throw new NotFoundError("run", id);
    return c.json(unwrap(await stub[action]()));
  });
}

runs.post("/:id/budget", async (c) => {
  const id = c.req.param("id");
  const { budgetUsd } = parseInput(raiseBudgetRequest, await readJson(c.req.raw));
  const stub = orchestrator(c.env, id);
  if (!(await stub.view())) throw new NotFoundError("run", id);
  return c.json(unwrap(await stub.raiseBudget(budgetUsd)));
});

runs.post("/:id/forks/:n/cancel", async (c) => {
  const id = c.req.param("id");
  const n = parseInput(forkNumberParam, c.req.param("n"), "path");
  const stub = orchestrator(c.env, id);
  if (!(await stub.view())) throw new NotFoundError("run", id);
  return c.json(unwrap(await stub.cancelFork(n)));
});

runs.get("/:id/events", async (c) => {
  const id = c.req.param("id");
  const stub = orchestrator(c.env, id);
  if (!(await stub.view())) throw new NotFoundError("run", id);
  const headers = new Headers();
  const lastEventId = c.req.header("Last-Event-ID") ?? c.req.query("after");
  if (lastEventId) headers.set("Last-Event-ID", lastEventId);
  return stub.fetch(new Request("https://orchestrator/events", { headers }));
});
