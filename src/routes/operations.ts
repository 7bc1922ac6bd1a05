import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { POOL_NAME } from "../protocol/events";
import { runReaper } from "../actions/reaper";
import { poolConfigRequest } from "../api/pool";
import { validJson } from "../api/validation";
import { unwrap } from "../core/errors";

/** Fleet operations: the sandbox pool's state and the orphan reaper. */
export const operations = new Hono<AppEnv>();

operations.get("/pool", async (c) => c.json(await c.env.POOL.getByName(POOL_NAME).status()));

operations.put("/pool", validJson(poolConfigRequest), async (c) => {
  const { templates } = c.req.valid("json");
  return c.json({ templates: unwrap(await c.env.POOL.getByName(POOL_NAME).configure(templates)) });
});

operations.post("/reaper/run", async (c) => c.json(await runReaper(c.env)));
