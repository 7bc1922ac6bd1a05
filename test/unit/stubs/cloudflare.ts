// Stand-ins for the runtime's `cloudflare:workers` / `cloudflare:workflows` modules, so the node
// project can import Worker modules whose pure logic it tests (their classes are never run here).
export class DurableObject {
  constructor(
    readonly ctx: unknown,
    readonly env: unknown,
  ) {}
}
export class WorkflowEntrypoint {
  constructor(
    readonly ctx: unknown,
    readonly env: unknown,
  ) {}
}
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
}
export const env = {};
