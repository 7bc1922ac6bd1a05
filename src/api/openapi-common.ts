/** Building blocks of the OpenAPI document shared by its parts (openapi.ts, openapi-sessions.ts). */
export type Json = Record<string, unknown>;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export type ErrorName = "BadRequest" | "Unauthorized" | "NotFound" | "Conflict" | "PayloadTooLarge" | "RateLimited" | "InternalError" | "AgentUnavailable" | "GitHubUnavailable";
const ERROR_STATUS: Record<ErrorName, string> = {
  BadRequest: "400",
  Unauthorized: "401",
  NotFound: "404",
  Conflict: "409",
  PayloadTooLarge: "413",
  RateLimited: "429",
  InternalError: "500",
  AgentUnavailable: "503",
  GitHubUnavailable: "503",
};

export function errors(names: ErrorName[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const name of [...names, "InternalError" as const]) out[ERROR_STATUS[name]] = { $ref: `#/components/responses/${name}` };
  return out;
}

export const json = (schema: Json, description: string, extra: Json = {}): Json => ({ description, ...extra, content: { "application/json": { schema } } });

