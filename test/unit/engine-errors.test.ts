/**
 * src/protocol/engine-errors.ts against the Workflows engine's real messages: read from the engine
 * the tests run on (miniflare's bundled workflows-shared), so an engine that rewords one fails here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createInstanceOnce } from "../../src/protocol/create-instance.ts";
import { isEngineInterruption, isInstanceAlreadyExists, isInstanceNotFound, withoutNonRetryablePrefix } from "../../src/protocol/engine-errors.ts";

const ENGINE = readFileSync(join(import.meta.dirname, "../../node_modules/miniflare/dist/src/workers/workflows/binding.worker.js"), "utf8");

/** The engine's WorkflowError: `(<code>) <message>` (workflows-shared createWorkflowError). */
function workflowError(code: string, message: string): Error {
  const err = new Error(`(${code}) ${message}`);
  err.name = "WorkflowError";
  return err;
}

/** A text the engine's source holds, as it holds it (a test of the test: no invented message). */
function inEngine(text: string): string {
  expect(ENGINE).toContain(text);
  return text;
}

/** The engine's abort reasons: `${ABORT_PREFIX} User called pause`, … (what steps in flight reject with). */
const abortReasons = (() => {
  const prefix = /ABORT_PREFIX = "([^"]+)"/.exec(ENGINE)?.[1];
  const reasons = [...ENGINE.matchAll(/([A-Z_]+): `\$\{ABORT_PREFIX\} ([^`]+)`/g)].map((m) => ({ reason: m[1]!, message: `${prefix} ${m[2]}` }));
  return reasons;
})();

/** What a step or an RPC fails with for reasons of its own: never an interruption, an existing or a missing instance. */
const ORDINARY = [
  "WorkflowTimeoutError: Execution timed out after 3600000ms",
  inEngine('Step threw a NonRetryableError with message "'),
  "sandbox_gone: The sandbox was lost.",
  "budget_exceeded: The run's budget of $1 is spent.",
  "internal_error: fetch failed",
];

describe("engine interruption", () => {
  it("every abort reason of the engine (pause, restart, terminate, delete, grace period, …)", () => {
    expect(abortReasons.map((r) => r.reason)).toEqual(expect.arrayContaining(["USER_PAUSE", "USER_RESTART", "USER_TERMINATE", "USER_DELETE", "GRACE_PERIOD_COMPLETE"]));
    for (const { message } of abortReasons) {
      expect(message).toMatch(/^Aborting engine: /);
      expect(isEngineInterruption(new Error(message)), message).toBe(true);
      expect(isEngineInterruption(message), message).toBe(true);
    }
  });

  it("production's wording of a stopped engine or instance (no local source: kept as observed)", () => {
    for (const message of ["The engine was shut down", "engine shutdown", "Engine died", "The instance was paused", "instance terminated"]) expect(isEngineInterruption(new Error(message)), message).toBe(true);
  });

  it("not a step's own failure, an existing or a missing instance", () => {
    for (const message of [...ORDINARY, "instance.not_found", "(instance.already_exists) Workflow instance with id \"x\" already exists"]) {
      expect(isEngineInterruption(new Error(message)), message).toBe(false);
    }
  });
});

describe("instance already exists", () => {
  const created = workflowError(inEngine("instance.already_exists"), 'Workflow instance with id "rabc-1" already exists');

  it("create() of an existing id, and createBatch's errors for one", () => {
    inEngine('`Workflow instance with id "${id}" already exists`');
    expect(isInstanceAlreadyExists(created)).toBe(true);
    expect(isInstanceAlreadyExists(String(created))).toBe(true);
    expect(isInstanceAlreadyExists(inEngine("workflows.api.error.instance.already_exists"))).toBe(true);
    // The same id twice in one batch: the first one made it, the second is the same job.
    expect(isInstanceAlreadyExists(inEngine("workflows.api.error.instance.duplicate_in_batch"))).toBe(true);
  });

  it("not another failure", () => {
    for (const message of [...ORDINARY, "instance.not_found", inEngine("Workflow instance has invalid id")]) expect(isInstanceAlreadyExists(new Error(message)), message).toBe(false);
  });

  it("createInstanceOnce: true when it created the instance, false when it existed, any other error thrown", async () => {
    const ids: string[] = [];
    const workflow = {
      async create({ id }: { id: string; params: { runId: string } }) {
        if (ids.includes(id)) throw created;
        if (id === "bad id") throw workflowError("instance.invalid_id", "Instance ID is invalid");
        ids.push(id);
        return { id };
      },
    };
    expect(await createInstanceOnce(workflow, "r1-github", { runId: "r1" })).toBe(true);
    expect(await createInstanceOnce(workflow, "r1-github", { runId: "r1" })).toBe(false);
    await expect(createInstanceOnce(workflow, "bad id", { runId: "r1" })).rejects.toThrow("instance.invalid_id");
    expect(ids).toEqual(["r1-github"]);
  });
});

describe("instance not found", () => {
  it("get() of an unknown id, an instance's call, a batch delete", () => {
    // get(): `throw new Error("instance.not_found")`; an instance's methods: createWorkflowError("Instance does not exist", "instance.not_found").
    inEngine('new Error("instance.not_found")');
    inEngine('"Instance does not exist"');
    expect(isInstanceNotFound(new Error("instance.not_found"))).toBe(true);
    expect(isInstanceNotFound(workflowError("instance.not_found", "Instance does not exist"))).toBe(true);
    expect(isInstanceNotFound(inEngine("workflows.api.error.instance.not_found"))).toBe(true);
  });

  it("not another failure", () => {
    for (const message of [...ORDINARY, "(instance.already_exists) Workflow instance with id \"x\" already exists", abortReasons[0]!.message]) {
      expect(isInstanceNotFound(new Error(message)), message).toBe(false);
    }
  });
});

describe("a NonRetryableError's message", () => {
  it("loses the name the engine reads it by (`NonRetryableError…`) in front, and only that", () => {
    inEngine('error.message.startsWith("NonRetryableError")');
    expect(withoutNonRetryablePrefix("NonRetryableError: budget_exceeded: The run's budget is spent.")).toBe("budget_exceeded: The run's budget is spent.");
    expect(withoutNonRetryablePrefix("budget_exceeded: The run's budget is spent.")).toBe("budget_exceeded: The run's budget is spent.");
    expect(withoutNonRetryablePrefix("internal_error: NonRetryableError: x")).toBe("internal_error: NonRetryableError: x");
  });
});
