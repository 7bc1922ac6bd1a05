/** The model proxy's part of the OpenAPI document: for agent runtimes inside sandboxes, not for API clients. */
import { errors, type Json } from "./openapi-common.ts";

export function modelProxyPaths(): Record<string, Json> {
  return {
    "/v1/model-proxy/{id}/v1/messages": {
      post: {
        tags: ["model proxy"],
        operationId: "modelProxyMessages",
        summary: "Anthropic's Messages API, for agent runtimes inside a run's sandboxes",
        description:
          "What the `claude-code` runtime's ANTHROPIC_BASE_URL (`<PUBLIC_URL>/v1/model-proxy/<run>`) points at. Authenticated by the fork's token (`x-api-key`, or `Authorization: Bearer`), " +
          "an HMAC over the run, the fork, its sandbox lease and an expiry: 401 when it is missing, altered, expired, for another run, or its lease was released. The call's worst case " +
          "(prompt and full `max_tokens`) is reserved against the run's budget (402 `budget_exceeded` when it does not fit), forwarded with the Worker's own key, metered from the answer " +
          "(streamed or not) and booked on the fork. The answer, an upstream error included, is the model API's. Bodies up to 32 MiB.",
        security: [{ modelProxyToken: [] }],
        parameters: [{ name: "id", in: "path", required: true, description: "the run the token was minted for", schema: { type: "string" } }],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { type: "object", required: ["model", "max_tokens"], properties: { model: { type: "string" }, max_tokens: { type: "integer", minimum: 1 }, stream: { type: "boolean" } } } } },
        },
        responses: {
          "200": {
            description: "The model API's answer: a Message (JSON), or its event stream (`stream: true`).",
            content: { "application/json": { schema: { type: "object" } }, "text/event-stream": { schema: { type: "string" } } },
          },
          ...errors(["BadRequest", "Unauthorized", "BudgetExceeded", "PayloadTooLarge", "ModelProxyUnavailable"]),
        },
      },
    },
  };
}
