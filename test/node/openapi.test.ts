/**
 * The OpenAPI document, validated where a validator can run (Node: the validators compile
 * schemas with `new Function` and read their meta-schemas from disk, which workerd forbids).
 * test/workers/openapi.test.ts checks the document against the routes the Worker really has.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { API_VERSION, CREATE_RUN_EXAMPLES, openApiDocument, RAISE_BUDGET_EXAMPLE } from "../../src/api/openapi.ts";
import { createRunRequest, mergeRequest, raiseBudgetRequest } from "../../src/api/runs.ts";
import { ASSETS_DIR, buildAssets } from "../../scripts/build-assets.ts";

const doc = openApiDocument();

/** Every `$ref` in the document, with where it is. */
function refs(node: unknown, at = "#"): { ref: string; at: string }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) => (k === "$ref" && typeof v === "string" ? [{ ref: v, at }] : refs(v, `${at}/${k}`)));
}

function pointer(ref: string): unknown {
  let cur: unknown = doc;
  for (const part of ref.replace(/^#\//, "").split("/")) cur = (cur as Record<string, unknown> | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return cur;
}

/** An Ajv (JSON Schema 2020-12) that knows every component schema by its document pointer. */
function schemaValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: "forkyard", components: doc.components });
  return (name: string) => ajv.compile({ $ref: `forkyard#/components/schemas/${name}` });
}

describe("GET /openapi.json document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "Forkyard", version: API_VERSION });
  });

  it("has no dangling $ref", () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter(({ ref }) => pointer(ref) === undefined)).toEqual([]);
  });

  it("has component schemas that compile as JSON Schema 2020-12", () => {
    const compile = schemaValidator();
    for (const name of Object.keys(doc.components.schemas)) expect(() => compile(name), name).not.toThrow();
  });

  it("documents every operation with an id, a tag, responses, and error bodies of the Error schema", () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item) as [string, Record<string, unknown>][]) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, where).toBeTypeOf("string");
        expect(ids.has(op.operationId as string), `${where}: duplicate operationId`).toBe(false);
        ids.add(op.operationId as string);
        expect((op.tags as string[])[0], where).toBeOneOf(doc.tags.map((t) => t.name));
        const responses = op.responses as Record<string, { $ref?: string }>;
        expect(Object.keys(responses).some((s) => s.startsWith("2")), where).toBe(true);
        for (const [status, response] of Object.entries(responses)) {
          if (Number(status) >= 400) expect(response.$ref, `${where} ${status}`).toMatch(/^#\/components\/responses\//);
        }
        // /v1 needs the bearer token (the default security), except webhooks, which are signed instead,
        // and the model proxy, which takes a fork's token.
        if (path.startsWith("/v1/model-proxy/")) expect(op.security).toEqual([{ modelProxyToken: [] }]);
        else if (path.startsWith("/v1/") && !path.startsWith("/v1/webhooks/")) expect(op.security, `${where} uses the default bearer security`).toBeUndefined();
        if (op.security === undefined) expect(responses["401"], where).toBeDefined();
      }
    }
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("serves the SSE endpoint as text/event-stream", () => {
    const op = doc.paths["/v1/runs/{id}/events"]?.get as { responses: Record<string, { content: Record<string, unknown> }> };
    expect(Object.keys(op.responses["200"]!.content)).toEqual(["text/event-stream"]);
  });

  it("has request examples that the routes' zod schemas and the JSON Schemas both accept", () => {
    const validate = schemaValidator()("CreateRunRequest");
    for (const [name, example] of Object.entries(CREATE_RUN_EXAMPLES)) {
      expect(createRunRequest.safeParse(example.value).success, name).toBe(true);
      expect(validate(example.value), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    const op = doc.paths["/v1/runs"]?.post as { requestBody: { content: { "application/json": { examples: unknown } } } };
    expect(op.requestBody.content["application/json"].examples).toBe(CREATE_RUN_EXAMPLES);
    expect(raiseBudgetRequest.safeParse(RAISE_BUDGET_EXAMPLE).success).toBe(true);
    expect(schemaValidator()("RaiseBudgetRequest")(RAISE_BUDGET_EXAMPLE)).toBe(true);
  });

  it("describes request bodies the way the routes' zod schemas parse them", () => {
    const validate = schemaValidator()("CreateRunRequest");
    const base = { repo: "https://github.com/acme/app.git", task: { commands: ["npm test"] } };
    const bodies: Record<string, unknown>[] = [
      base,
      { ...base, forks: 100, maxConcurrent: 50, timeoutSeconds: 10, branch: "release/1.2", branchPrefix: "try", template: "base:v2", metadata: { a: "b" } },
      { ...base, task: { prompt: "fix it", model: "opus", maxTurns: 500 } },
      { ...base, forks: 0 },
      { ...base, forks: 101 },
      { ...base, forks: 1.5 },
      { ...base, maxConcurrent: 51 },
      { ...base, timeoutSeconds: 9 },
      { ...base, budgetUsd: 0 },
      { ...base, budgetUsd: 100_001 },
      { ...base, branch: "main; rm -rf /" },
      { ...base, template: "a b" },
      { ...base, task: { commands: [] } },
      { ...base, task: { commands: [""] } },
      { ...base, task: { prompt: "" } },
      { ...base, task: { prompt: "x", maxTurns: 0 } },
      { ...base, task: { prompt: "x", commands: ["y"] } },
      { ...base, task: {} },
      { ...base, unknown: true },
      { ...base, metadata: { "": "x" } },
      { ...base, metadata: { k: 1 } },
      { task: base.task },
      { repo: "", task: base.task },
    ];
    for (const body of bodies) {
      const zodOk = createRunRequest.safeParse(body).success;
      expect(validate(body), `${JSON.stringify(body)}: zod says ${zodOk}`).toBe(zodOk);
    }
    const budget = schemaValidator()("RaiseBudgetRequest");
    for (const body of [{ budgetUsd: 1 }, { budgetUsd: 0 }, { budgetUsd: -1 }, { budgetUsd: "5" }, {}, { budgetUsd: 5, x: 1 }]) {
      expect(budget(body), JSON.stringify(body)).toBe(raiseBudgetRequest.safeParse(body).success);
    }
    const merge = schemaValidator()("MergeRequest");
    const mergeBodies = [{ forks: [1, 2] }, { forks: [3, 1, 2], prompt: "keep 3's tests", model: "opus" }, { forks: [1] }, { forks: [1, 1] }, { forks: [0, 1] }, { forks: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, { forks: [1, 2], prompt: "" }, { forks: [1, 2], x: 1 }, {}];
    for (const body of mergeBodies) {
      expect(merge(body), JSON.stringify(body)).toBe(mergeRequest.safeParse(body).success);
    }
  });

  it("keeps defaults optional in requests and filled in in the stored request", () => {
    const request = doc.components.schemas.CreateRunRequest as { required: string[] };
    const stored = doc.components.schemas.RunRequest as { required: string[] };
    expect(request.required.sort()).toEqual(["repo", "task"]);
    expect(stored.required).toEqual(expect.arrayContaining(["repo", "task", "branch", "forks", "maxConcurrent", "timeoutSeconds", "template"]));
  });
});

// The /docs page itself (served from this origin, strict CSP, versioned assets): test/workers/openapi.test.ts.
describe("built browser assets", () => {
  it("builds the dashboard client and the /docs initializer as classic scripts, and Swagger UI beside them", async () => {
    await buildAssets();
    const read = (path: string) => readFileSync(join(ASSETS_DIR, path), "utf8");
    for (const script of ["dashboard/app.js", "docs/swagger-init.js", "docs/swagger-ui-bundle.js"]) expect(() => new Script(read(script)), script).not.toThrow();
    expect(read("docs/swagger-init.js")).toContain('"/openapi.json"');
    // No code evaluated from strings (the CSP has no 'unsafe-eval').
    expect(read("dashboard/app.js")).not.toMatch(/\beval\(|new Function\(/);
    expect(read("dashboard/app.css")).toContain(".timeline");
    expect(read("docs/swagger-ui.css")).toContain(".swagger-ui");
  });
});
