import { Hono } from "hono";
import { forkNumberParam, listRunsQuery, raiseBudgetRequest, type ForkView, type RunView } from "../api/runs";
import { parseInput } from "../api/validation";
import type { AppEnv } from "../app-env";
import { InvalidInputError, NotFoundError, unwrap } from "../errors";
import { createRun, runLinks } from "../runs/create-run";
import { RUN_ID_PATTERN } from "../runs/ids";
import { listRuns } from "../runs/run-index";

export const runs = new Hono<AppEnv>();

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
  const body = await readJson(c.req.raw);
  const { view, created } = await createRun(c.env, body, { idempotencyKey: c.req.header("Idempotency-Key") ?? null });
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
    if (!(await stub.exists())) throw new NotFoundError("run", id);
    return c.json(unwrap(await stub[action]()));
  });
}

runs.post("/:id/budget", async (c) => {
  const id = c.req.param("id");
  const { budgetUsd } = parseInput(raiseBudgetRequest, await readJson(c.req.raw));
  const stub = orchestrator(c.env, id);
  if (!(await stub.exists())) throw new NotFoundError("run", id);
  return c.json(unwrap(await stub.raiseBudget(budgetUsd)));
});

runs.get("/:id/forks/:n", async (c) => {
  const id = c.req.param("id");
  const n = parseInput(forkNumberParam, c.req.param("n"), "path");
  const stub = orchestrator(c.env, id);
  if (!(await stub.exists())) throw new NotFoundError("run", id);
  const fork = await stub.forkView(n);
  if (!fork) throw new NotFoundError("fork", `${id}/${n}`);
  return c.json(fork as ForkView);
});

runs.post("/:id/forks/:n/cancel", async (c) => {
  const id = c.req.param("id");
  const n = parseInput(forkNumberParam, c.req.param("n"), "path");
  const stub = orchestrator(c.env, id);
  if (!(await stub.exists())) throw new NotFoundError("run", id);
  return c.json(unwrap(await stub.cancelFork(n)));
});

runs.get("/:id/events", async (c) => {
  const id = c.req.param("id");
  const stub = orchestrator(c.env, id);
  if (!(await stub.exists())) throw new NotFoundError("run", id);
  const headers = new Headers();
  const lastEventId = c.req.header("Last-Event-ID") ?? c.req.query("after");
  if (lastEventId) headers.set("Last-Event-ID", lastEventId);
  return stub.fetch(new Request("https://orchestrator/events", { headers }));
});
