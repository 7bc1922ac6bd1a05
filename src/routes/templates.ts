import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { putTemplateRequest, templateAliasParam } from "../api/templates";
import { parseInput, readJson } from "../api/validation";
import { loadConfig } from "../core/env";
import { resolveProfiles } from "../core/sandbox-profiles";
import { TemplateAliases } from "../sandbox/template-aliases";

/** What runs' sandboxes are made from: size profiles and pinned template aliases. */
export const templates = new Hono<AppEnv>();

templates.get("/profiles", (c) => c.json({ profiles: resolveProfiles(loadConfig(c.env).PROFILES) }));

const aliasOf = (raw: string) => parseInput(templateAliasParam, raw, "path");

templates.put("/templates/:alias", async (c) => {
  const alias = aliasOf(c.req.param("alias"));
  const { templateId } = parseInput(putTemplateRequest, await readJson(c.req.raw));
  const { view, created } = await new TemplateAliases(c.env.DB).put(alias, templateId);
  return c.json(view, created ? 201 : 200);
});

templates.post("/templates/:alias/rollback", async (c) => c.json(await new TemplateAliases(c.env.DB).rollback(aliasOf(c.req.param("alias")))));

templates.get("/templates/:alias", async (c) => c.json(await new TemplateAliases(c.env.DB).view(aliasOf(c.req.param("alias")))));
