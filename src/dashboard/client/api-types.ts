/**
 * The API's types as the dashboard reads them (src/api/client-types.ts: inferred from the schemas
 * the Worker answers with), plus the endpoints not in src/api yet.
 */
export type * from "../../api/client-types.ts";

/**
 * POST /v1/runs/:id/forks/:n/branch → 202. Not in src/api yet (the endpoint is being built): swap
 * for the API's own type once it is.
 */
export interface BranchRequest {
  count: number;
  prompt?: string;
}
export interface BranchResponse {
  runId: string;
  forks: number[];
}

/** POST /v1/runs/:id/forks/:n/pick → 200. As BranchResponse: to be replaced by the API's type. */
export interface PickResponse {
  n: number;
  branch: string;
  pullRequest?: { number: number; url: string };
  fetch: string;
}
