import { zValidator } from "@hono/zod-validator";
import type { Context, ValidationTargets } from "hono";
import type { z } from "zod";
import { InvalidInputError } from "../core/errors";

/** The part of a request an issue without a path of its own is about. */
type Where = "body" | "query" | "path";

const WHERE: Partial<Record<keyof ValidationTargets, Where>> = { json: "body", query: "query", param: "path" };

/** A failed parse as a 400 naming the field at fault (the first issue's) and listing up to ten issues. */
function invalidInput(issues: readonly z.core.$ZodIssue[], where: Where): InvalidInputError {
  const issue = issues[0];
  const field = issue ? fieldOf(issue, where) : where;
  return new InvalidInputError(`${field}: ${issue?.message ?? "invalid"}`, { field, issues: issues.slice(0, 10).map((i) => ({ field: fieldOf(i, where), message: i.message })) });
}

/**
 * The dotted path of the field an issue is about (an unknown key names that key). A path parameter
 * is named `path`, as the API always has: its issue's path is just the parameter's name.
 */
function fieldOf(issue: z.core.$ZodIssue, where: Where): string {
  const path = where === "path" ? [] : issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys[0]) path.push(issue.keys[0]);
  return path.length > 0 ? path.join(".") : where;
}

/** Parses input with a zod schema; the first issue becomes a 400 naming the field at fault. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: Where = "body"): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw invalidInput(parsed.error.issues, where);
}

/** The hook every validator shares: a failure is the typed InvalidInputError (src/errors.ts: a 400 in the API's envelope). */
function rejectInvalid(result: ({ success: true } | { success: false; error: z.core.$ZodError }) & { target: keyof ValidationTargets }): void {
  if (!result.success) throw invalidInput(result.error.issues, WHERE[result.target] ?? "body");
}

/** Validates the query string (`c.req.valid("query")`). */
export const validQuery = <S extends z.ZodType>(schema: S) => zValidator("query", schema, rejectInvalid);

/** Validates the path parameters (`c.req.valid("param")`); a bad one is a 400 naming `path`. */
export const validParams = <S extends z.ZodType>(schema: S) => zValidator("param", schema, rejectInvalid);

/**
 * Validates the JSON body (`c.req.valid("json")`). The body is read as the API always has, whatever
 * its Content-Type: empty is a 400 naming `body` (`{}` when `optional`), malformed too. hono's
 * validator reads a JSON content type only, so the request is labelled JSON and the parsed body
 * left in hono's body cache for it.
 */
export function validJson<S extends z.ZodType>(schema: S, { optional = false } = {}) {
  const validate = zValidator("json", schema, rejectInvalid);
  const readThenValidate: typeof validate = async (c, next) => {
    await cacheJson(c, optional);
    return validate(c, next);
  };
  return readThenValidate;
}

async function cacheJson(c: Context, optional: boolean): Promise<void> {
  const headers = new Headers(c.req.raw.headers);
  headers.set("Content-Type", "application/json");
  c.req.raw = new Request(c.req.raw, { headers });
  c.req.bodyCache.json = Promise.resolve(await readJson(c.req.raw, { optional }));
}

/** A request's JSON body; an empty (unless `optional`: then `{}`) or malformed one is a 400 naming `body`. */
export async function readJson(req: Request, { optional = false } = {}): Promise<unknown> {
  const text = await req.text();
  if (text.trim() === "" && optional) return {};
  if (text.trim() === "") throw new InvalidInputError("body: a JSON body is required.", { field: "body" });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidInputError("body: not valid JSON.", { field: "body" });
  }
}
