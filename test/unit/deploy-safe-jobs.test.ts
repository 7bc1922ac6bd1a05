/**
 * Deploy-safe workflows (docs/architecture-deploys.md): Cloudflare does not version
 * running instances, so an instance started on one build resumes on whatever build is deployed
 * when it wakes. The durable-job kit pins each instance's plan to the code version its run
 * recorded (its first step, `code-version`), and `since(v)` guards every change. Here a job is
 * started on build 1, restarted mid-run, and resumed on build 2, which inserts a step before
 * completed ones, renames a step and changes a step result's shape: it completes as build 1 would
 * have, nothing done twice, nothing misread. The engine is FakeEngine (kept step results by name).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/core/env.ts";
import { DurableJob, type JobContext, type JobTracking } from "../../src/workflows/durable-job.ts";
import type { JobPlan } from "../../src/workflows/job-plan.ts";
import { CODE_VERSION } from "../../src/protocol/code-version.ts";
import { FakeEngine, workflowEvent } from "./support/fake-engine.ts";

/** What the job does outside its steps' results: the side effects a replay must not repeat. */
const world = { accounts: 0, quotes: 0, charges: [] as string[] };

interface Params {
  codeVersion?: number;
}

/**
 * A job whose build 2 changed its steps, each change guarded by `since(2)`:
 *  - build 2 inserts `quote` before `open` (a v1 instance past `open` must not get one);
 *  - `open`'s result was `{ account: "acc-1" }`, build 2 returns `{ account: { id } }` (read by version);
 *  - `charge` is renamed `charge-account` (a v1 instance that charged must not charge again).
 * BUILD_2 in the constants below is the version the changes came with.
 */
const BUILD_2 = 2;

class AccountJob extends DurableJob<Params, { account: string; charged: number; plan: number }> {
  protected tracking(): JobTracking {
    return { runId: "run-1", n: 1 };
  }

  protected plan(job: JobContext<Params>): JobPlan<{ account: string; charged: number; plan: number }> {
    return { work: () => accountWork(job) };
  }
}

async function accountWork(job: JobContext<Params>): Promise<{ account: string; charged: number; plan: number }> {
  const { step, since } = job;
  const quote = async () => {
    world.quotes++;
    return { price: 5 };
  };
  const price = since(BUILD_2) ? (await step.do("quote", quote)).price : 5;
  const opened = await step.do("open", async () => {
    const id = `acc-${++world.accounts}`;
    return since(BUILD_2) ? { account: { id } } : { account: id };
  });
  // The result read by the version that wrote it.
  const account = since(BUILD_2) ? (opened as { account: { id: string } }).account.id : (opened as { account: string }).account;
  const charge = since(BUILD_2) ? "charge-account" : "charge";
  const charged = await step.do(charge, async () => {
    world.charges.push(`${account}:${price}`);
    return { amount: price };
  });
  await step.do("report", async () => ({ reported: true }));
  return { account, charged: charged.amount, plan: job.version };
}

/** A build: the job's code with CODE_VERSION as the configuration sets it (1: the build before the change). */
function build(codeVersion: number | undefined): AccountJob {
  const env = (codeVersion === undefined ? {} : { CODE_VERSION: String(codeVersion) }) as unknown as Env;
  return new AccountJob({} as ExecutionContext, env);
}

/** Starts the instance on `first`, restarts it at `crashAt`, resumes it on `second`. */
async function acrossDeploy(params: Params, first: AccountJob, second: AccountJob, crashAt: string) {
  const engine = new FakeEngine();
  engine.crashAt = crashAt;
  await expect(first.run(workflowEvent(params), engine.step())).rejects.toThrow(/Aborting engine/);
  engine.crashAt = undefined;
  const result = await second.run(workflowEvent(params), engine.step());
  return { engine, result };
}

beforeEach(() => {
  world.accounts = 0;
  world.quotes = 0;
  world.charges = [];
});

describe("a job started on build 1 and resumed on build 2", () => {
  it("keeps build 1's plan: no step inserted before its completed ones, the renamed step not run again, the old result read as written", async () => {
    expect(CODE_VERSION).toBeGreaterThanOrEqual(BUILD_2);
    const { engine, result } = await acrossDeploy({ codeVersion: 1 }, build(1), build(undefined), "report");
    expect(result).toEqual({ account: "acc-1", charged: 5, plan: 1 });
    expect(world).toEqual({ accounts: 1, quotes: 0, charges: ["acc-1:5"] });
    expect(engine.ran).toEqual(["code-version", "open", "charge", "report"]);
  });

  it("a restart between any two steps: every outcome the same, every side effect once", async () => {
    for (const crashAt of ["open", "charge", "report"]) {
      world.accounts = 0;
      world.charges = [];
      const { result } = await acrossDeploy({ codeVersion: 1 }, build(1), build(undefined), crashAt);
      expect(result).toEqual({ account: "acc-1", charged: 5, plan: 1 });
      expect(world.charges).toEqual(["acc-1:5"]);
      expect(world.quotes).toBe(0);
    }
  });

  it("an instance launched before versions were recorded (no codeVersion) runs version 1, with no step inserted before its own", async () => {
    const { engine, result } = await acrossDeploy({}, build(1), build(undefined), "report");
    expect(result).toEqual({ account: "acc-1", charged: 5, plan: 1 });
    expect(engine.keptSteps()).toEqual(["open", "charge", "report"]);
  });

  it("a gradual rollout: a run recorded on build 2 whose instance first ran on build 1 stays on plan 1 when build 2 resumes it", async () => {
    const { engine, result } = await acrossDeploy({ codeVersion: 2 }, build(1), build(undefined), "charge");
    expect(result).toEqual({ account: "acc-1", charged: 5, plan: 1 });
    expect(engine.checkpoints.get("code-version#0")).toEqual({ version: 1 });
    expect(world.charges).toEqual(["acc-1:5"]);
  });

  it("a run recorded on build 2 runs build 2's plan (the new step, the new name, the new shape)", async () => {
    const engine = new FakeEngine();
    const result = await build(undefined).run(workflowEvent({ codeVersion: 2 }), engine.step());
    expect(result).toEqual({ account: "acc-1", charged: 5, plan: 2 });
    expect(engine.ran).toEqual(["code-version", "quote", "open", "charge-account", "report"]);
    expect(engine.checkpoints.get("open#0")).toEqual({ account: { id: "acc-1" } });
  });
});
