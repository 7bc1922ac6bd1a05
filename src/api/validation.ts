import type { z } from "zod";
import { InvalidInputError } from "../core/errors";

/** Parses input with a zod schema; the first issue becomes a 400 naming the field at fault. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: "body" | "query" | "path" = "body"): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue ? fieldOf(issue, where) : where;
  const issues = parsed.error.issues.slice(0, 10).map((i) => ({ field: fieldOf(i, where), message: i.message }));
  throw new InvalidInputError(`${field}: ${issue?.message ?? "invalid"}`, { field, issues });
}

/** The dotted path of the field an issue is about (an unknown key names that key). */
function fieldOf(issue: z.core.$ZodIssue, where: string): string {
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys[0]) path.push(issue.keys[0]);
  return path.length > 0 ? path.join(".") : where;
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
