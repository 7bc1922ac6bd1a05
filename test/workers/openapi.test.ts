/**
 * GET /openapi.json and /docs, checked against the Worker itself: every documented operation is
 * answered by its route (never by the app's 404-for-unknown-routes) with a documented status, every
 * route of the app is documented, real responses parse with the response schemas the document is
 * made from, and those schemas agree with the TypeScript types the code uses.
 * (The OpenAPI 3.1 validation itself runs in Node: test/node/openapi.test.ts.)
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { CREATE_RUN_EXAMPLES, type OpenApiDocument } from "../../src/api/openapi";
import * as res from "../../src/api/responses";
import { createRunRequest } from "../../src/api/runs";
import { createApp } from "../../src/app";
import type { PoolStatus, ReapedSandbox } from "../../src/objects/pool/pool";
import type { runReaper } from "../../src/actions/reaper";
import type { listRuns } from "../../src/d1-index/run-index";
import { api, testEnv, waitForRunStatus } from "./helpers";

/** True when each type is assignable to the other and both have the same keys (an optional field added to one only is caught too). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;

// Type-level: the response schemas (the document) and what the code returns cannot drift apart (RunView,
// ForkView, … are inferred from the schemas themselves: src/api/runs.ts).
const typesAgree: [
  Same<z.infer<typeof res.runPage>, Awaited<ReturnType<typeof listRuns>>>,
  Same<z.infer<typeof res.poolStatus>, PoolStatus>,
  Same<z.infer<typeof res.reapedSandbox>, ReapedSandbox>,
  Same<z.infer<typeof res.reaperReport>, Awaited<ReturnType<typeof runReaper>>>,
] = [true, true, true, true];

const UNKNOWN_RUN = `r${"a".repeat(20)}`;
const UNKNOWN_SESSION = `s${"a".repeat(20)}`;
const UNKNOWN_EVAL = `e${"a".repeat(20)}`;
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

async function document(): Promise<OpenApiDocument> {
  const response = await api("/openapi.json", { token: null });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toContain("application/json");
  return (await response.json()) as OpenApiDocument;
}

function operations(doc: OpenApiDocument) {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] as { responses: Record<string, unknown>; security?: unknown[]; requestBody?: unknown } })),
  );
}

/** Request bodies for the probes: deliberately invalid where the route validates before looking the run up. */
const PROBE_BODIES: Record<string, unknown> = {
  "post /v1/runs": {},
  "post /v1/runs/{id}/budget": { budgetUsd: 5 },
  "post /v1/sessions": {},
  "post /v1/sessions/{id}/messages": { prompt: "hello" },
  "patch /v1/sessions/{id}": { title: "renamed" },
};

describe("GET /openapi.json", () => {
  it("is public, OpenAPI 3.1, and documents every operation with auth and errors", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Forkyard");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/runs", "/v1/runs/{id}", "/v1/runs/{id}/events", "/v1/runs/{id}/budget", "/v1/runs/{id}/forks/{n}/cancel", "/v1/pool", "/v1/reaper/run", "/healthz"]));
    expect(typesAgree.every(Boolean)).toBe(true);
  });

  it("has an answering route, with a documented status, for every documented operation", async () => {
    const doc = await document();
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThanOrEqual(14);
    for (const { path, method, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      const session = path.startsWith("/v1/sessions");
      const evaluation = path.startsWith("/v1/evals");
      const url = path.replace("{id}", session ? UNKNOWN_SESSION : evaluation ? UNKNOWN_EVAL : UNKNOWN_RUN).replace("{n}", "1");
      const probeBody = PROBE_BODIES[`${method} ${path}`];
      const response = await api(url, { method: method.toUpperCase(), ...(probeBody !== undefined ? { json: probeBody } : {}) });
      const type = response.headers.get("Content-Type") ?? "";
      const text = await response.text();
      expect(Object.keys(op.responses), `${where} answered ${response.status}: ${text.slice(0, 300)}`).toContain(String(response.status));
      if (response.status === 404) {
        // Our NotFoundError names the run; the app's 404 for an unknown route says "No route for".
        const body = JSON.parse(text) as ErrorBody;
        expect(body.error.message, where).not.toMatch(/^No route for/);
        if (session) expect(body.error.details?.session, where).toBe(UNKNOWN_SESSION);
        else if (evaluation) expect(body.error.details?.eval, where).toBe(UNKNOWN_EVAL);
        else expect(body.error.details?.run, where).toBe(UNKNOWN_RUN);
      }
      if (response.status >= 400) expect(res.errorBody.safeParse(JSON.parse(text)).success, `${where}: error body ${text}`).toBe(true);
      if (response.status === 200 && type.includes("application/json")) {
        const schema = (op.responses["200"] as { content: Record<string, { schema: { $ref?: string } }> }).content["application/json"]!.schema;
        expect(schema, where).toBeDefined();
      }

      // Auth: /v1 needs the bearer token; public routes (security: [], or optional) answer the same without it.
      const anonymous = await api(url, { method: method.toUpperCase(), token: null, ...(probeBody !== undefined ? { json: probeBody } : {}) });
      const anonymousText = await anonymous.text();
      const secured = (op.security ?? doc.security).length > 0 && !(op.security ?? []).some((s) => Object.keys(s as object).length === 0);
      if (secured) {
        expect(anonymous.status, `${where} without a token`).toBe(401);
        expect((JSON.parse(anonymousText) as ErrorBody).error.code, where).toBe("unauthorized");
        expect(op.responses["401"], where).toBeDefined();
      } else {
        expect(anonymous.status, `${where} without a token: ${anonymousText.slice(0, 200)}`).toBe(response.status);
      }
    }
  });

  it("rejects the probes' invalid inputs the way the document says", async () => {
    const created = await api("/v1/runs", { method: "POST", json: {} });
    expect(created.status).toBe(400);
    expect(((await created.json()) as ErrorBody).error.details?.field).toBe("repo");
    const fork = await api(`/v1/runs/${UNKNOWN_RUN}/forks/1001/cancel`, { method: "POST" });
    expect(fork.status).toBe(400);
    expect(((await fork.json()) as ErrorBody).error.code).toBe("invalid_input");
    const list = await api("/v1/runs?status=nope");
    expect(list.status).toBe(400);
  });

  it("documents every route of the app", async () => {
    const doc = await document();
    const documented = new Set(operations(doc).map(({ path, method }) => `${method.toUpperCase()} ${path}`));
    const routes = createApp()
      .routes.filter((r) => r.method !== "ALL" || !r.path.endsWith("*"))
      // The dashboard, and the static assets of the dashboard and of /docs, are not API.
      .filter((r) => r.path !== "/" && !r.path.startsWith("/dashboard") && r.path !== "/docs/*")
      // `:name{regex}` (a parameter with its pattern) is the document's `{name}`.
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")}`);
    expect(routes.length).toBeGreaterThanOrEqual(14);
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !routes.includes(d))).toEqual([]);
  });

  it("has a POST /v1/runs example the route accepts", async () => {
    for (const [name, example] of Object.entries(CREATE_RUN_EXAMPLES)) {
      expect(createRunRequest.safeParse(example.value).success, name).toBe(true);
      // An over-long Idempotency-Key is checked after the body (parsed, repo validated, model resolved) and before a run is
      // created: a 400 naming the header proves the route accepted the example without starting a run.
      const response = await api("/v1/runs", { method: "POST", json: example.value, headers: { "Idempotency-Key": "k".repeat(256) } });
      const body = (await response.json()) as ErrorBody;
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(body.error.details?.field, name).toBe("Idempotency-Key");
    }
  });
});

describe("response schemas", () => {
  /** Fields the API answers that the schema does not document. */
  function undocumented(value: Record<string, unknown>, schema: z.ZodObject): string[] {
    return Object.keys(value).filter((k) => !(k in schema.shape));
  }

  it("parse what the API really answers", async () => {
    const created = await api("/v1/runs", { method: "POST", json: { repo: testEnv.TEST_REPO, task: { commands: ["echo hi"] }, check: "true", forks: 2 } });
    expect(created.status).toBe(202);
    const createdBody = res.createdRun.parse(await created.json());
    const view = await waitForRunStatus(createdBody.id, ["completed"]);
    const parsed = res.runView.safeParse(view);
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(undocumented(view as never, res.runView)).toEqual([]);
    for (const fork of view.forks) {
      expect(undocumented(fork as never, res.forkView)).toEqual([]);
      for (const step of fork.steps) expect(undocumented(step as never, res.stepView)).toEqual([]);
    }
    expect(undocumented(view.totals as never, res.runTotals)).toEqual([]);

    const page = res.runPage.parse(await (await api("/v1/runs?limit=5")).json());
    expect(page.runs.map((r) => r.id)).toContain(createdBody.id);
    expect(undocumented(page.runs[0] as never, res.runSummary)).toEqual([]);

    const pool = await (await api("/v1/pool")).json();
    expect(res.poolStatus.safeParse(pool).error?.issues ?? []).toEqual([]);
    expect(undocumented(pool as never, res.poolStatus)).toEqual([]);
    expect(res.reaperReport.safeParse(await (await api("/v1/reaper/run", { method: "POST" })).json()).success).toBe(true);
    const health = await (await api("/healthz", { token: null })).json();
    expect(res.health.safeParse(health).error?.issues ?? []).toEqual([]);

    // The event stream of an ended run: its whole log, then the end of the stream.
    const events = await api(`/v1/runs/${createdBody.id}/events`);
    expect(events.headers.get("Content-Type")).toContain("text/event-stream");
    const data = (await events.text())
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)) as unknown);
    expect(data.length).toBeGreaterThan(3);
    for (const event of data) expect(res.runEventData.safeParse(event).success, JSON.stringify(event)).toBe(true);
    expect(data.map((e) => (e as { type: string }).type)).toContain("run.finished");
  });

  it("GET /docs serves Swagger UI from this origin, under a strict CSP, with versioned assets", async () => {
    const response = await api("/docs", { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toContain("unsafe");
    // The dashboard page (/) is answered with the same headers.
    const dashboard = await api("/", { token: null });
    for (const page of [response, dashboard]) {
      expect(page.headers.get("X-Frame-Options")).toBe("DENY");
      expect(page.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(page.headers.get("X-Content-Type-Options")).toBe("nosniff");
    }
    expect(dashboard.headers.get("Content-Security-Policy")).toBe(csp);
    await dashboard.body?.cancel();
    const html = await response.text();
    // No external resources: the page must work on a closed network. No inline script either.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/[^"?]+)\?v=([0-9a-f]+)"/g)].map((m) => ({ path: m[1]!, version: m[2]! }));
    expect(assets.map((a) => a.path).sort()).toEqual(["/docs/swagger-init.js", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]);
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/ };
    for (const { path, version } of assets) {
      const asset = await api(`${path}?v=${version}`, { token: null });
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get("Content-Type"), path).toMatch(types[path.split(".").pop()!]!);
      expect(asset.headers.get("Cache-Control"), path).toContain("immutable");
      expect(asset.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
      // A response built from the asset store's still carries the request id.
      expect(asset.headers.get("X-Request-Id"), path).toBeTruthy();
      expect(asset.headers.get("ETag"), path).toBe(`"${version}"`);
      expect((await asset.text()).length, path).toBeGreaterThan(100);
    }
    // The initializer points Swagger UI at this origin's document, with no validator badge.
    const init = await (await api(assets.find((a) => a.path === "/docs/swagger-init.js")!.path, { token: null })).text();
    expect(init).toContain("/openapi.json");
    expect(init).toMatch(/validatorUrl:\s*null/);
    expect((await api("/docs/nothing-here.js", { token: null })).status).toBe(404);
  });
});
