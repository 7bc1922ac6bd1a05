import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { putTemplateRequest, templateAliasParams } from "../api/templates";
import { validJson, validParams } from "../api/validation";
import { loadConfig } from "../core/env";
import { resolveProfiles } from "../core/sandbox-profiles";
import { TemplateAliases } from "../sandbox/template-aliases";

/** What runs' sandboxes are made from: size profiles and pinned template aliases. */
export const templates = new Hono<AppEnv>();

templates.get("/profiles", (c) => c.json({ profiles: resolveProfiles(loadConfig(c.env).PROFILES) }));

const aliasPath = validParams(templateAliasParams);

templates.put("/templates/:alias", aliasPath, validJson(putTemplateRequest), async (c) => {
  const { view, created } = await new TemplateAliases(c.env.DB).put(c.req.valid("param").alias, c.req.valid("json").templateId);
  return c.json(view, created ? 201 : 200);
});

templates.post("/templates/:alias/rollback", aliasPath, async (c) => c.json(await new TemplateAliases(c.env.DB).rollback(c.req.valid("param").alias)));

templates.get("/templates/:alias", aliasPath, async (c) => c.json(await new TemplateAliases(c.env.DB).view(c.req.valid("param").alias)));
