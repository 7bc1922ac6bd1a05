import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { runReaper } from "../actions/reaper";
import { poolConfigRequest } from "../api/pool";
import { parseInput, readJson } from "../api/validation";
import { unwrap } from "../core/errors";
import { POOL_NAME } from "../protocol/events";

/** Fleet operations: the sandbox pool's state and the orphan reaper. */
export const operations = new Hono<AppEnv>();

operations.get("/pool", async (c) => c.json(await c.env.POOL.getByName(POOL_NAME).status()));

operations.put("/pool", async (c) => {
  const { templates } = parseInput(poolConfigRequest, await readJson(c.req.raw));
  return c.json({ templates: unwrap(await c.env.POOL.getByName(POOL_NAME).configure(templates)) });
});

operations.post("/reaper/run", async (c) => c.json(await runReaper(c.env)));
