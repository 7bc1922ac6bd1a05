// What a /pick or /refork reply says when the act fails (src/webhooks/thread-reply.ts): an error the
// commenter can act on in Forkyard's own words; an internal error's raw text never reaches the thread.
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/core/env";
import { ConflictError, ForkyardError } from "../../src/core/errors";
import { actOnThreadRun } from "../../src/webhooks/thread-reply";

const env = { DB: { prepare: () => ({ bind: () => ({ first: async () => ({ id: "rabc" }) }) }) } } as unknown as Env;
const trigger = { owner: "octo", repo: "hello", issueNumber: 7, fork: 2, login: "Codertocat", commentId: 9 };

describe("a thread command's failure", () => {
  it("replies with a conflict's own message", async () => {
    const outcome = await actOnThreadRun(env, "pick", trigger, async () => Promise.reject(new ConflictError("fork_running", "Fork 2 is still running.")));
    expect(outcome).toEqual({ runId: "rabc", error: { code: "fork_running", message: "Fork 2 is still running." } });
  });

  it("replies to an internal error with a fixed sentence, never its text", async () => {
    for (const stream of ["log", "warn", "error"] as const) vi.spyOn(console, stream).mockImplementation(() => {});
    const raw = new ForkyardError("internal_error", "TypeError: Cannot read properties of undefined (reading 'lease') at /srv/orchestrator.js:88", { status: 500 });
    const outcome = await actOnThreadRun(env, "refork", trigger, async () => Promise.reject(raw));
    expect(outcome.error?.code).toBe("internal_error");
    expect(outcome.error?.message).toBe("Forkyard hit an internal error: the details are in the deployment's logs.");
  });
});
