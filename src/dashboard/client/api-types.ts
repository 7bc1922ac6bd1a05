/**
 * The API's types as the dashboard reads them (src/api/client-types.ts: inferred from the schemas
 * the Worker answers with), plus the endpoints not in src/api yet.
 */
export type * from "../../api/client-types.ts";
