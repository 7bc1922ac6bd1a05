import { z } from "zod";
import { templateName } from "../core/sandbox-profiles.ts";

/** PUT /v1/templates/:alias: point the alias at a template id (a new version). */
export const putTemplateRequest = z.strictObject({ templateId: templateName });

/** An alias is one path segment: a template name without `/`. */
export const templateAliasParam = z.string().min(1).max(200).regex(/^[A-Za-z0-9._:-]+$/, "may contain only letters, digits and . _ : -");

/** The path of /v1/templates/:alias. */
export const templateAliasParams = z.object({ alias: templateAliasParam });
