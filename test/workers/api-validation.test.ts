import { describe, expect, it } from "vitest";
import { TEST_API_TOKEN } from "../support/constants";
import { api, testEnv } from "./helpers";

interface ErrorBody {
  error: { code: string; message: string; details?: { field?: string } };
}

async function postRun(body: unknown, init: { raw?: string } = {}): Promise<{ status: number; body: ErrorBody }> {
  const res = init.raw !== undefined ? await api("/v1/runs", { method: "POST", body: init.raw, headers: { "Content-Type": "application/json" } }) : await api("/v1/runs", { method: "POST", json: body });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

const valid = () => ({ repo: testEnv.TEST_REPO, task: { commands: ["true"] } });

describe("request validation", () => {
  it.each([
    ["a missing repo", { task: { commands: ["true"] } }, "repo"],
    ["forks out of range", { ...valid(), forks: 0 }, "forks"],
    ["more forks than MAX_FORKS_PER_RUN (100)", { ...valid(), forks: 101 }, "forks"],
    ["more forks than any run may hold", { ...valid(), forks: 1001 }, "forks"],
    ["an adaptive run over MAX_FORKS_PER_RUN", { ...valid(), check: "true", strategy: { kind: "adaptive", initial: 2, max: 101, until: "check_pass" } }, "strategy.max"],
    ["maxConcurrent out of range", { ...valid(), maxConcurrent: 51 }, "maxConcurrent"],
    ["an empty command list", { ...valid(), task: { commands: [] } }, "task.commands"],
    ["a missing task", { repo: "https://github.com/a/b" }, "task"],
    ["a branch with shell syntax", { ...valid(), branch: "main; rm -rf /" }, "branch"],
    ["a branch prefix starting with a dash", { ...valid(), branchPrefix: "--upload-pack=x" }, "branchPrefix"],
    ["a non-https repo", { ...valid(), repo: "http://example.com/r.git" }, "repo"],
    ["credentials in the repo URL", { ...valid(), repo: "https://user:secret@example.com/r.git" }, "repo"],
    ["a negative budget", { ...valid(), budgetUsd: -1 }, "budgetUsd"],
    ["an unknown field", { ...valid(), surprise: true }, "surprise"],
    ["a non-string metadata value", { ...valid(), metadata: { team: 5 } }, "metadata.team"],
    ["a host name in a network deny rule", { ...valid(), network: { denyOut: ["10.0.0.0/8", "github.com"] } }, "network.denyOut.1"],
    ["a CIDR prefix out of range", { ...valid(), network: { denyOut: ["10.0.0.0/33"] } }, "network.denyOut.0"],
    ["a network allow rule that is no address or host", { ...valid(), network: { allowOut: ["http://github.com/"] } }, "network.allowOut.0"],
    ["an unknown network field", { ...valid(), network: { allowIn: ["1.2.3.4"] } }, "network.allowIn"],
  ])("rejects %s with 400 naming the field", async (_what, body, field) => {
    const res = await postRun(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_input");
    expect(res.body.error.details?.field).toBe(field);
    expect(res.body.error.message).not.toContain("secret");
  });

  it("says what a repo may be when it is none of them", async () => {
    for (const repo of ["git@github.com:acme/app.git", "./app", "ftp://example.com/r.git"]) {
      const res = await postRun({ ...valid(), repo });
      expect(res.status, repo).toBe(400);
      expect(res.body.error.message, repo).toMatch(/expected an https git URL \(e\.g\. https:\/\/github\.com\/acme\/app\.git\) or, on the local stack, an absolute path/);
    }
  });

  it("rejects a body that is not JSON", async () => {
    const res = await postRun(undefined, { raw: "{not json" });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.field).toBe("body");
  });

  it("answers 413 for an oversized body", async () => {
    const res = await postRun(undefined, { raw: JSON.stringify({ ...valid(), metadata: { big: "x".repeat(2 * 1024 * 1024) } }) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it("reads a body as JSON whatever its Content-Type says, and names `body` when it is missing", async () => {
    const budget = (body: string, contentType?: string) =>
      api(`/v1/runs/r${"a".repeat(20)}/budget`, { method: "POST", body, headers: contentType ? { "Content-Type": contentType } : {} });
    for (const contentType of ["text/plain;charset=UTF-8", undefined]) {
      const res = await budget(JSON.stringify({ budgetUsd: -1 }), contentType);
      expect(res.status, contentType).toBe(400);
      expect(((await res.json()) as ErrorBody).error.details?.field, contentType).toBe("budgetUsd");
    }
    const empty = await budget("", "application/json");
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorBody).error).toMatchObject({ message: "body: a JSON body is required.", details: { field: "body" } });
    // An optional body may be empty, even labelled JSON: the unknown run's 404 comes next.
    const judge = await api(`/v1/runs/r${"a".repeat(20)}/judge`, { method: "POST", body: "", headers: { "Content-Type": "application/json" } });
    expect(judge.status).toBe(404);
  });

  it("names `path` for a bad path parameter", async () => {
    for (const path of [`/v1/runs/r${"a".repeat(20)}/forks/0`, "/v1/runs/anything/forks/x/patch", "/v1/templates/bad%20alias"]) {
      const res = await api(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as ErrorBody).error.details?.field, path).toBe("path");
    }
  });

  it("validates list queries", async () => {
    const res = await api("/v1/runs?limit=1000");
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.details?.field).toBe("limit");
    const bad = await api("/v1/runs?cursor=garbage");
    expect(bad.status).toBe(400);
  });
});

describe("authentication", () => {
  it("requires a bearer token from FORKYARD_API_TOKENS on /v1", async () => {
    expect((await api("/v1/runs", { token: null })).status).toBe(401);
    const wrong = await api("/v1/runs", { token: "nope" });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as ErrorBody).error.code).toBe("unauthorized");
    // A header that is not a bearer token is a 401 in the API's envelope too (not hono's plain 400).
    const basic = await api("/v1/runs", { token: null, headers: { Authorization: "Basic dGVzdDp0ZXN0" } });
    expect(basic.status).toBe(401);
    expect(((await basic.json()) as ErrorBody).error.code).toBe("unauthorized");
    expect((await api("/v1/runs", { token: "second-token" })).status).toBe(200);
  });

  it("puts /metrics behind METRICS_TOKEN when it is set", async () => {
    const { createApp } = await import("../../src/app");
    const app = createApp();
    const env = { ...testEnv, METRICS_TOKEN: "metrics-token-1" };
    const call = (authorization?: string) => app.request("/metrics", authorization ? { headers: { Authorization: authorization } } : {}, env);
    for (const refused of [await call(), await call("Bearer wrong-token"), await call(`Bearer ${TEST_API_TOKEN}`)]) {
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as ErrorBody).error).toMatchObject({ code: "unauthorized", message: expect.stringContaining("METRICS_TOKEN") });
    }
    expect((await call("bearer metrics-token-1")).status).toBe(200);
  });

  it("answers every response with its own request id, never a client's", async () => {
    const res = await api("/v1/runs?limit=1000", { headers: { "X-Request-Id": "client-chosen" } });
    expect(res.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves /healthz without a token and reports the sandbox backend it reaches", async () => {
    const res = await api("/healthz", { token: null });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; sandbox: { backend: string; reachable: boolean; endpoint: string } };
    expect(body).toMatchObject({ ok: true, sandbox: { backend: "local", reachable: true, endpoint: testEnv.E2B_API_URL } });
    expect(JSON.stringify(body)).not.toContain("e2b_");
  });
});

describe("internal errors", () => {
  it("never echo the exception's text to the client, only a request id (the text goes to the log)", async () => {
    const { createApp } = await import("../../src/app");
    const { ForkyardError } = await import("../../src/core/errors");
    const app = createApp();
    app.get("/crash", () => {
      throw new TypeError("Cannot read properties of undefined (reading 'ghp_secretish')");
    });
    // What an unexpected exception inside a Durable Object becomes once it crosses the RPC boundary.
    app.get("/crash-rpc", () => {
      throw new ForkyardError("internal_error", "D1_ERROR: no such table: runs_secret_detail", { status: 500 });
    });
    for (const path of ["/crash", "/crash-rpc"]) {
      const res = await app.request(path, {}, testEnv);
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; message: string; details: { requestId: string } } };
      expect(body.error.code).toBe("internal_error");
      expect(body.error.message).toBe("Internal error.");
      expect(JSON.stringify(body)).not.toMatch(/secret/);
      expect(body.error.details.requestId).toBe(res.headers.get("X-Request-Id"));
    }
  });
});
