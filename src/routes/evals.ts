import { Hono } from "hono";
import { z } from "zod";
import { createEval } from "../actions/create-eval";
import { deleteEval } from "../actions/delete-eval";
import { listEvalsQuery, type EvalResults, type EvalView } from "../api/evals";
import { readJson, validQuery } from "../api/validation";
import type { AppEnv } from "../core/app-env";
import { NotFoundError, unwrap } from "../core/errors";
import { listEvals } from "../d1-index/eval-index";
import { resultsCsv } from "../evals/results";
import { EVAL_ID_PATTERN } from "../protocol/eval-check";
import { forwardEvents } from "./event-stream";

export const evals = new Hono<AppEnv>();

function evaluation(env: AppEnv["Bindings"], id: string) {
  if (!EVAL_ID_PATTERN.test(id)) throw new NotFoundError("eval", id);
  return env.EVAL.getByName(id);
}

const resultsQuery = z.strictObject({ format: z.enum(["json", "csv"]).default("json") });

evals.post("/", async (c) => {
  const view = await createEval(c.env, await readJson(c.req.raw));
  return c.json(view, 202);
});

/** Evals, newest first (D1's index: each eval's object keeps its row current). */
evals.get("/", validQuery(listEvalsQuery), async (c) => c.json(await listEvals(c.env.DB, c.req.valid("query"))));

evals.get("/:id", async (c) => {
  const id = c.req.param("id");
  const view = await evaluation(c.env, id).view();
  if (!view) throw new NotFoundError("eval", id);
  return c.json(view as EvalView);
});

evals.get("/:id/results", validQuery(resultsQuery), async (c) => {
  const id = c.req.param("id");
  const results = (await evaluation(c.env, id).results()) as EvalResults | null;
  if (!results) throw new NotFoundError("eval", id);
  if (c.req.valid("query").format === "csv") return c.body(resultsCsv(results), 200, { "content-type": "text/csv; charset=utf-8" });
  return c.json(results);
});

evals.get("/:id/events", (c) => forwardEvents(c, evaluation(c.env, c.req.param("id")), "eval", c.req.param("id")));

evals.post("/:id/cancel", async (c) => {
  const id = c.req.param("id");
  const stub = evaluation(c.env, id);
  if (!(await stub.view())) throw new NotFoundError("eval", id);
  return c.json(unwrap(await stub.cancel()) as EvalView);
});

/** An ended eval, for good (409 while it runs: cancel it first). */
evals.delete("/:id", async (c) => c.json(await deleteEval(c.env, c.req.param("id"))));
