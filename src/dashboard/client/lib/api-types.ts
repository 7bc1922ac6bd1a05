/**
 * The API's types as the dashboard reads them (src/api/client-types.ts: inferred from the schemas
 * the Worker answers with).
 */
export type * from "../../../api/client-types.ts";
