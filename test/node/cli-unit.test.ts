/** Unit tests of the `forkyard` CLI's pure parts, run in-process against a fake fetch. */
import { describe, expect, it, vi } from "vitest";
import { buildCreateRunBody, resolveRepo } from "../../cli/commands/fork.ts";
import { ForkyardClient } from "../../cli/client.ts";
import { followRun } from "../../cli/follow.ts";
import type { Io } from "../../cli/io.ts";
import { main } from "../../cli/main.ts";
import { EXIT, runExitCode } from "../../cli/outcome.ts";
import { colorsFor } from "../../cli/output.ts";
import { agentStats, formatCount, formatDuration, formatTokens, formatUsd } from "../../cli/render/format.ts";
import { createLiveView } from "../../cli/render/live.ts";
import { LogTracker } from "../../cli/render/logs.ts";
import { mergeLine, verdictLine } from "../../cli/render/run-view.ts";
import { forkTranscriptLines } from "../../cli/render/fork-transcript.ts";
import { stripAnsi, truncateVisible } from "../../cli/render/text.ts";
import type { ForkView, RunView } from "../../cli/types.ts";
import { LOCAL_API_TOKEN } from "../../scripts/local-stack.ts";
import { shellWord } from "../../src/runs/fetch-command.ts";

// ---- fixtures ------------------------------------------------------------------------------

function fork(n: number, patch: Partial<ForkView> = {}): ForkView {
  return {
    n,
    status: "queued",
    branch: `forkyard/r1/${n}`,
    sandboxId: null,
    attempts: 0,
    recoveries: 0,
    startedAt: null,
    finishedAt: null,
    steps: [],
    commands: [],
    costUsd: { sandbox: 0, llm: 0, total: 0 },
    ...patch,
  };
}

function run(status: RunView["status"], forks: ForkView[]): RunView {
  const count = (s: string) => forks.filter((f) => f.status === s).length;
  return {
    id: "r1",
    status,
    request: { repo: "/repo", branch: "main", task: { commands: ["echo hi", "false"] }, forks: forks.length, maxConcurrent: 5, timeoutSeconds: 7200, template: "base" },
    codeVersion: { code: 2 },
    sandbox: { profile: null, templateId: "base", alias: null, vcpu: 2, memoryGib: 0.5 },
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:05.000Z",
    forks,
    totals: {
      succeeded: count("succeeded"),
      failed: count("failed"),
      cancelled: count("cancelled"),
      budgetExceeded: count("budget_exceeded"),
      running: count("running"),
      queued: count("queued"),
      costUsd: { sandbox: 0.0001, llm: 0, total: 0.0001 },
    } as RunView["totals"],
  };
}

const started = { startedAt: "2026-01-01T00:00:00.000Z" };

/** An agent run: fork 1 ended (with its agent result), fork 2 still running its third turn. */
function agentRun(status: RunView["status"] = "running"): RunView {
  const step = (name: string, st: "running" | "succeeded" = "succeeded") => ({ name, status: st, attempts: 1, durationMs: st === "running" ? null : 100 });
  const view = run(status, [
    fork(1, {
      ...started,
      status: "succeeded",
      finishedAt: "2026-01-01T00:00:09.000Z",
      steps: [step("clone"), step("model-1"), step("tool-1-1"), step("model-2")],
      agent: {
        model: "claude-sonnet-4-5",
        stopReason: "end_turn",
        turns: 2,
        toolCalls: 1,
        tokens: { input: 1900, output: 150, cacheRead: 4150, cacheWrite: 2200 },
        summary: "Created hello.txt.\nChecked it with cat.",
      },
      costUsd: { sandbox: 0.0001, llm: 0.0123, total: 0.0124 },
    }),
    fork(2, { ...started, status: status === "running" ? "running" : "failed", steps: [step("model-1"), step("tool-1-1"), step("tool-1-2"), step("model-2"), step("model-3", "running")] }),
  ]);
  view.request = { ...view.request, task: { prompt: "Add hello.txt", model: "claude-sonnet-4-5", maxTurns: 12 } };
  return view;
}
const succeeded = fork(1, { ...started, status: "succeeded", finishedAt: "2026-01-01T00:00:02.000Z", commands: [{ command: "echo hi", exitCode: 0, stdoutTail: "hi\n", stderrTail: "", durationMs: 12 }] });

interface Recorded {
  method: string;
  url: string;
  headers: Headers;
  body: unknown;
}

/** An in-memory Io whose fetch answers with `route` and records each request. */
function fakeIo(route: (req: Recorded) => Response | Promise<Response>, opts: { tty?: boolean; env?: Record<string, string>; stdin?: string[] } = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const requests: Recorded[] = [];
  let interrupt: (() => void) | null = null;
  const io: Io = {
    stdout: { write: (s: string) => stdout.push(s), isTTY: opts.tty, columns: 120, rows: 40 },
    stderr: { write: (s: string) => stderr.push(s) },
    env: opts.env ?? {},
    cwd: "/home/dev/project",
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const req = { method: init?.method ?? "GET", url: String(input), headers: new Headers(init?.headers), body: init?.body ? JSON.parse(String(init.body)) : undefined };
      requests.push(req);
      return route(req);
    }) as typeof fetch,
    readLines: async function* () {
      yield* opts.stdin ?? [];
    },
    onInterrupt(handler) {
      interrupt = handler;
      return () => (interrupt = null);
    },
  };
  return { io, requests, out: () => stdout.join(""), err: () => stderr.join(""), interrupt: () => interrupt?.() };
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const argv = (...args: string[]) => ["node", "forkyard", ...args];

// ---- argument -> request ---------------------------------------------------------------------

describe("fork: arguments to POST /v1/runs", () => {
  it("maps every option into the body and headers", async () => {
    const fake = fakeIo(() => json({ id: "r1", status: "running", forks: 3, createdAt: "x", links: {} }, 202), { env: { FORKYARD_URL: "http://api.test/" } });
    const code = await main(
      argv("fork", "./repo", "--command", "npm ci", "npm test", "-f", "3", "-b", "dev", "--commit", "c".repeat(40), "--max-concurrent", "2", "-t", "60", "--budget", "1.5", "--check", "npm run lint",
        "--protect", "tests/**", "package.json", "--branch-prefix", "try", "--template", "node", "--metadata", "a=1", "b=x=y", "--idempotency-key", "k1", "--title", "Shard the tests", "--no-wait", "--json"),
      fake.io,
    );
    expect(code).toBe(EXIT.ok);
    const [req] = fake.requests;
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("http://api.test/v1/runs");
    expect(req?.headers.get("authorization")).toBe(`Bearer ${LOCAL_API_TOKEN}`);
    expect(req?.headers.get("idempotency-key")).toBe("k1");
    expect(req?.body).toEqual({
      repo: "/home/dev/project/repo",
      task: { commands: ["npm ci", "npm test"] },
      title: "Shard the tests",
      branch: "dev",
      commit: "c".repeat(40),
      forks: 3,
      maxConcurrent: 2,
      timeoutSeconds: 60,
      budgetUsd: 1.5,
      check: "npm run lint",
      protectedPaths: ["tests/**", "package.json"],
      template: "node",
      branchPrefix: "try",
      metadata: { a: "1", b: "x=y" },
    });
    expect(JSON.parse(fake.out())).toMatchObject({ id: "r1" });
  });

  it("builds an agent task from --prompt and --model; flags override the environment", async () => {
    const fake = fakeIo(() => json({ id: "r2", status: "running", forks: 1, createdAt: "x", links: {} }, 202), { env: { FORKYARD_URL: "http://env.test", FORKYARD_TOKEN: "env-token" } });
    await main(argv("--url", "http://flag.test", "fork", "https://github.com/o/r.git", "-p", "fix the bug", "-m", "sonnet", "--max-tokens", "4000", "--token", "flag-token", "--no-wait"), fake.io);
    expect(fake.requests[0]?.url).toBe("http://flag.test/v1/runs");
    expect(fake.requests[0]?.headers.get("authorization")).toBe("Bearer flag-token");
    expect(fake.requests[0]?.body).toMatchObject({ repo: "https://github.com/o/r.git", task: { prompt: "fix the bug", model: "sonnet", maxTokens: 4000 }, forks: 1, branch: "main", maxConcurrent: 5 });
    expect(fake.out()).toContain("run r2 started");
  });

  it("accepts repeated --command and --metadata", async () => {
    const fake = fakeIo(() => json({ id: "r3", status: "running", forks: 1, createdAt: "x", links: {} }, 202));
    await main(argv("fork", "/r", "--command", "a", "--metadata", "k=1", "--command", "b c", "--metadata", "j=2", "--no-wait"), fake.io);
    expect(fake.requests[0]?.body).toMatchObject({ task: { commands: ["a", "b c"] }, metadata: { k: "1", j: "2" } });
  });

  it.each([
    [["fork", "."], "give the task"],
    [["fork", ".", "-p", "x", "--command", "y"], "not both"],
    [["fork", ".", "--command", "y", "-m", "opus"], "--model"],
    [["fork", ".", "--command", "y", "--max-tokens", "2000"], "--max-tokens go with --prompt"],
    [["fork", ".", "--command", "y", "-f", "abc"], "not a number"],
    [["fork", ".", "--command", "y", "--metadata", "novalue"], "key=value"],
    [["status"], "missing required argument"],
    [["frobnicate"], "unknown command"],
  ])("usage error %j exits 2 without calling the API", async (args, message) => {
    const fake = fakeIo(() => json({}));
    expect(await main(argv(...args), fake.io)).toBe(EXIT.usage);
    expect(fake.err()).toContain(message);
    expect(fake.requests).toHaveLength(0);
  });

  it("resolves local paths, keeps URLs", () => {
    expect(resolveRepo("../x", "/a/b")).toBe("/a/x");
    expect(resolveRepo("/abs/repo", "/a")).toBe("/abs/repo");
    expect(resolveRepo("https://github.com/o/r", "/a")).toBe("https://github.com/o/r");
    expect(resolveRepo("git@github.com:o/r.git", "/a")).toBe("git@github.com:o/r.git");
    expect(buildCreateRunBody("r", { command: ["a"] }, "/w")).toEqual({ repo: "/w/r", task: { commands: ["a"] } });
  });
});

// ---- list ----------------------------------------------------------------------------------------

describe("list: finding runs", () => {
  const summary = (id: string, title: string) => ({
    id, status: "completed", title, task: "npm test; npm run lint", repo: "/home/dev/project", branch: "main", forks: 2, succeeded: 2, failed: 0,
    cancelled: 0, budgetExceeded: 0, costUsd: 0.01, createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:05.000Z",
  });

  it("passes --repo (a local path resolved like fork's) and --search to GET /v1/runs, shows titles, and prints the next page's command", async () => {
    const fake = fakeIo(() => json({ runs: [summary("r1", "Fix the \x1b[31mflaky\x1b[0m login test"), summary("r2", "")], nextCursor: "c2" }));
    expect(await main(argv("list", "--repo", ".", "--search", "it's flaky", "--status", "completed", "--limit", "2"), fake.io)).toBe(EXIT.ok);
    const url = new URL(fake.requests[0]!.url);
    expect(url.pathname).toBe("/v1/runs");
    expect(Object.fromEntries(url.searchParams)).toEqual({ status: "completed", repo: "/home/dev/project", q: "it's flaky", limit: "2" });
    const out = stripAnsi(fake.out());
    expect(out).toContain("TITLE");
    // The title's escape sequence is shown, not obeyed; a run without a title shows its task.
    expect(out).toContain("Fix the \\x1b[31mflaky\\x1b[0m login test");
    expect(fake.out()).not.toContain("\x1b[31mflaky");
    expect(out).toContain("npm test; npm run lint");
    expect(out).toContain(`more: forkyard list --cursor c2 --limit 2 --status completed --repo /home/dev/project --search 'it'\\''s flaky'`);
  });

  it("says no run matched a filter", async () => {
    const fake = fakeIo(() => json({ runs: [], nextCursor: null }));
    expect(await main(argv("list", "--repo", "https://github.com/o/r", "-s", "nothing"), fake.io)).toBe(EXIT.ok);
    expect(new URL(fake.requests[0]!.url).searchParams.get("repo")).toBe("https://github.com/o/r");
    expect(fake.out()).toBe("No runs match.\n");
  });
});

// ---- API errors --------------------------------------------------------------------------------

describe("API errors", () => {
  it("prints code, message and field; exits 2; never prints the token", async () => {
    const fake = fakeIo(() => json({ error: { code: "invalid_input", message: "forks: Too small", details: { field: "forks" } } }, 400), { env: { FORKYARD_TOKEN: "s3cret-token" } });
    expect(await main(argv("fork", ".", "--command", "x", "-f", "0"), fake.io)).toBe(EXIT.usage);
    expect(fake.err()).toBe("error: invalid_input: forks: Too small (field: forks)\n");
    expect(fake.out() + fake.err()).not.toContain("s3cret-token");
  });

  it("reports an unreachable API", async () => {
    const fake = fakeIo(() => {
      throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    });
    expect(await main(argv("list"), fake.io)).toBe(EXIT.usage);
    expect(fake.err()).toContain("error: unreachable: cannot reach http://127.0.0.1:8787: ECONNREFUSED");
  });
});

// ---- outcome -----------------------------------------------------------------------------------

describe("exit codes", () => {
  it("reflect the run's outcome", () => {
    expect(runExitCode(run("completed", [succeeded]))).toBe(0);
    expect(runExitCode(run("completed", [succeeded, fork(2, { status: "failed" })]))).toBe(1);
    expect(runExitCode(run("failed", [fork(1, { status: "failed" })]))).toBe(1);
    expect(runExitCode(run("budget_exceeded", [succeeded]))).toBe(1);
    expect(runExitCode(run("cancelled", [fork(1, { status: "cancelled" })]))).toBe(3);
    expect(runExitCode(run("running", [fork(1)]))).toBe(0);
  });

  it("delete sends DELETE /v1/runs/:id and says what went; a run not ended is the API's 409", async () => {
    const fake = fakeIo(() => json({ id: "r1", deleted: true, reason: "deleted", deletedAt: "2026-01-01T00:00:00.000Z", objectsDeleted: 4, instancesDeleted: 2 }));
    expect(await main(argv("delete", "r1"), fake.io)).toBe(EXIT.ok);
    expect(fake.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual(["DELETE /v1/runs/r1"]);
    expect(stripAnsi(fake.out())).toBe("run r1 deleted (4 stored objects, 2 workflow instances)\n");
    const running = fakeIo(() => json({ error: { code: "run_not_ended", message: "The run is running; only an ended run can be deleted. Cancel it first." } }, 409));
    expect(await main(argv("delete", "r1"), running.io)).not.toBe(EXIT.ok);
    expect(running.err()).toContain("Cancel it first");
  });

  it("status exits with the run's outcome", async () => {
    const fake = fakeIo(() => json(run("cancelled", [fork(1, { status: "cancelled" })])));
    expect(await main(argv("status", "r1"), fake.io)).toBe(EXIT.cancelled);
    expect(fake.out()).toContain("cancelled");
  });
});

// ---- rendering ---------------------------------------------------------------------------------

describe("rendering", () => {
  it("formats durations and costs", () => {
    expect(formatDuration(850)).toBe("850ms");
    expect(formatDuration(4200)).toBe("4.2s");
    expect(formatDuration(185_000)).toBe("3m05s");
    expect(formatDuration(3_720_000)).toBe("1h02m");
    expect(formatDuration(null)).toBe("-");
    expect(formatUsd(0)).toBe("$0");
    expect(formatUsd(0.000123)).toBe("$0.00012");
    expect(formatUsd(0.5)).toBe("$0.5000");
    expect(formatUsd(12.345)).toBe("$12.35");
  });

  it("truncates colored text by visible width", () => {
    const c = colorsFor({ write: () => true }, { FORCE_COLOR: "1" });
    const cut = truncateVisible(c.red("abcdefghij"), 5);
    expect(stripAnsi(cut)).toBe("abcd…");
    expect(cut.endsWith("\x1b[0m")).toBe(true);
    expect(truncateVisible("short", 10)).toBe("short");
  });

  it("plain live view prints one line per change, then the table and summary", () => {
    const lines: string[] = [];
    const view = createLiveView({ write: (s: string) => lines.push(s), isTTY: false }, colorsFor({ write: () => true }, {}));
    const step = (name: string, status: "running" | "succeeded" = "running") => ({ name, status, attempts: 1, durationMs: null });
    const a = run("running", [fork(1, { ...started, status: "running", steps: [step("clone")] }), fork(2)]);
    view.update(a, Date.parse("2026-01-01T00:00:01Z"));
    view.update(a, Date.parse("2026-01-01T00:00:02Z")); // nothing changed: nothing printed
    expect(lines.join("")).toBe("run r1: running\nfork 1: running clone 1.0s $0\nfork 2: queued\n");
    lines.length = 0;
    view.update(run("running", [fork(1, { ...started, status: "running", steps: [step("clone", "succeeded"), step("command-1")] }), fork(2)]), Date.parse("2026-01-01T00:00:03Z"));
    expect(lines.join("")).toBe("fork 1: running command-1: echo hi 3.0s $0\n");
    lines.length = 0;
    view.end(run("completed", [succeeded, fork(2, { ...started, status: "failed", error: { code: "command_failed", message: "Command exited with code 1: false" } })]), Date.now());
    const text = lines.join("");
    expect(text).toContain("fork 1: succeeded 2.0s");
    expect(text).toMatch(/FORK\s+STATUS\s+STEP\s+ATTEMPTS/);
    expect(text).toContain("run r1 · completed · 1/2 succeeded · 1 failed");
    expect(text).toContain("fork 2 failed: command_failed: Command exited with code 1: false");
    // The last line: no winner yet in this view, and no check asked for.
    expect(text.trimEnd().split("\n").at(-1)).toBe("no winner · no check");
  });

  it("an ended run's last line names the winner and how many checks passed", () => {
    const c = colorsFor({ write: () => true }, {});
    const check = (passed: boolean) => ({ command: "npm test", exitCode: passed ? 0 : 1, passed });
    const ended = { ...run("completed", [fork(1, { check: check(false) }), fork(2, { check: check(true) }), fork(3, { check: check(true) })]), winner: 2 };
    expect(verdictLine(ended, c)).toBe("winner: fork 2 · 2 of 3 checks passed");
    expect(verdictLine({ ...ended, winner: null }, c)).toBe("no winner · 2 of 3 checks passed");
  });

  it("TTY live view redraws in place", () => {
    const writes: string[] = [];
    const view = createLiveView({ write: (s: string) => writes.push(s), isTTY: true, columns: 80, rows: 24 }, colorsFor({ write: () => true }, {}));
    const r = run("running", [fork(1, { ...started, status: "running" }), fork(2)]);
    view.update(r, Date.now());
    view.update(r, Date.now());
    expect(writes[0]?.startsWith("\x1b[J")).toBe(true);
    expect(writes[1]?.startsWith("\x1b[4F\x1b[J")).toBe(true); // up over headline + header + 2 forks
  });

  it("log tracker yields only new lines, commands with their output", () => {
    const tracker = new LogTracker();
    const step = (name: string, status: "running" | "succeeded" | "failed") => ({ name, status, attempts: 1, durationMs: status === "running" ? null : 100 });
    const first = tracker.next(run("running", [fork(1, { ...started, status: "running", steps: [step("clone", "succeeded"), step("command-1", "running")] })]));
    expect(first.map((e) => e.text)).toEqual(["running", "✓ clone (100ms)", "$ echo hi"]);
    const second = tracker.next(
      run("completed", [
        fork(1, {
          ...started,
          status: "failed",
          steps: [step("clone", "succeeded"), step("command-1", "succeeded"), step("command-2", "succeeded")],
          commands: [
            { command: "echo hi", exitCode: 0, stdoutTail: "hi\n", stderrTail: "", durationMs: 5 },
            { command: "false", exitCode: 1, stdoutTail: "", stderrTail: "boom\n", durationMs: 5 },
          ],
          error: { code: "command_failed", message: "exit 1" },
        }),
      ]),
    );
    expect(second.map((e) => `${e.kind}:${e.text}`)).toEqual([
      "stdout:hi",
      "exit:exit 0 (5ms)",
      "command:$ false",
      "stderr:boom",
      "exit:exit 1 (5ms)",
      "error:error: command_failed: exit 1",
      "status:failed",
    ]);
    expect(tracker.next(run("completed", [fork(1, { status: "failed" })]))).toEqual([]);
  });
});

// ---- following a run -----------------------------------------------------------------------------

describe("following a run", () => {
  // Woken by events, not the 60 s poll: two polls would not fit in the test's 10 s.
  it("re-reads the run on each Server-Sent Event when the API streams them", { timeout: 10_000 }, async () => {
    let gets = 0;
    let push: ((s: string) => void) | undefined;
    const fake = fakeIo((req) => {
      if (req.url.endsWith("/events")) {
        const stream = new ReadableStream<Uint8Array>({ start: (ctl) => void (push = (s) => ctl.enqueue(new TextEncoder().encode(s))) });
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      }
      gets++;
      return json(run(gets >= 3 ? "completed" : "running", [gets >= 3 ? succeeded : fork(1)]));
    });
    const client = new ForkyardClient({ url: "http://api.test", token: "t", fetch: fake.io.fetch });
    const statuses: string[] = [];
    for await (const view of followRun(client, "r1", { signal: new AbortController().signal, useEvents: true, intervalMs: 60_000 })) {
      statuses.push(view.status);
      setTimeout(() => push?.(": keep-alive\n\nevent: step.finished\ndata: {}\n\n"), 10);
    }
    expect(statuses).toEqual(["running", "running", "completed"]);
  });

  it("retries transient errors, then goes on", async () => {
    let gets = 0;
    const fake = fakeIo(() => (++gets === 1 ? json({ error: { code: "internal_error", message: "x" } }, 503) : json(run("completed", [succeeded]))));
    const client = new ForkyardClient({ url: "http://api.test", token: "t", fetch: fake.io.fetch });
    const seen: number[] = [];
    const views = [];
    for await (const view of followRun(client, "r1", { signal: new AbortController().signal, onTransientError: (e) => seen.push(e.status) })) views.push(view);
    expect(seen).toEqual([503]);
    expect(views).toHaveLength(1);
  });

  it("Ctrl-C stops waiting with 130 and says how to cancel", async () => {
    const fake = fakeIo(() => json(run("running", [fork(1, { ...started, status: "running" })])));
    const done = main(argv("status", "r1", "--watch"), fake.io);
    await new Promise((r) => setTimeout(r, 50));
    fake.interrupt();
    expect(await done).toBe(EXIT.interrupted);
    expect(fake.err()).toContain("forkyard cancel r1");
  });

  it("stops watching an over-budget run (exit 1): it waits on a person, not on time", async () => {
    const over = run("budget_exceeded", [succeeded, fork(2, { status: "budget_exceeded" })]);
    over.request.budgetUsd = 0.00005;
    const fake = fakeIo(() => json(over));
    expect(await main(argv("status", "r1", "--watch"), fake.io)).toBe(EXIT.failed);
    expect(fake.out()).toContain("1 over budget");
    expect(fake.out()).toContain("over budget: spent $0.00010 of $0.00005; raising the budget resumes the run");
  });

  it("--wait --json prints only the final RunView", async () => {
    let gets = 0;
    const fake = fakeIo((req) => (req.method === "POST" ? json({ id: "r1", status: "running", forks: 1, createdAt: "x", links: {} }, 202) : json(++gets < 2 ? run("running", [fork(1)]) : run("completed", [succeeded]))));
    const code = await main(argv("fork", ".", "--command", "echo hi", "--json"), fake.io);
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(fake.out())).toMatchObject({ id: "r1", status: "completed" });
  });
});

// ---- agent forks, budget, event streams -----------------------------------------------------------

describe("agent forks", () => {
  it("formats counts, tokens and an agent's stats (so far, while it runs)", () => {
    expect(formatCount(950)).toBe("950");
    expect(formatCount(1900)).toBe("1.9k");
    expect(formatCount(12_000)).toBe("12k");
    expect(formatCount(184_400)).toBe("184k");
    expect(formatCount(4_120_000)).toBe("4.1M");
    expect(formatTokens({ input: 1900, output: 150, cacheRead: 0, cacheWrite: 0 })).toBe("1.9k in / 150 out");
    const [done, going] = agentRun().forks;
    expect(agentStats(done!)).toBe("claude-sonnet-4-5 · 2 turns · 1 tool call · tokens 1.9k in / 150 out (cache 4.2k read, 2.2k written) · model $0.0123");
    expect(agentStats(going!, "claude-sonnet-4-5")).toBe("claude-sonnet-4-5 · 3 turns · 2 tool calls so far");
    expect(agentStats(fork(3, { status: "running", steps: [{ name: "clone", status: "running", attempts: 1, durationMs: null }] }))).toBeUndefined();
    const capped = { ...done!, agent: { ...done!.agent!, stopReason: "max_turns" } };
    expect(agentStats(capped)).toContain("· stopped: max_turns");
  });

  it("status shows each agent fork's model, turns, tool calls, tokens and summary", async () => {
    const fake = fakeIo(() => json(agentRun()));
    expect(await main(argv("status", "r1"), fake.io)).toBe(EXIT.ok);
    const text = fake.out();
    expect(text).toContain("prompt: Add hello.txt · model claude-sonnet-4-5 · max 12 turns");
    expect(text).toMatch(/^agents$/m);
    expect(text).toContain("  fork 1  claude-sonnet-4-5 · 2 turns · 1 tool call · tokens 1.9k in / 150 out (cache 4.2k read, 2.2k written) · model $0.0123\n");
    expect(text).toContain("          Created hello.txt.\n          Checked it with cat.\n");
    expect(text).toContain("  fork 2  claude-sonnet-4-5 · 3 turns · 2 tool calls so far\n");
  });

  it("a commands run has no agents section", async () => {
    const fake = fakeIo(() => json(run("completed", [succeeded])));
    await main(argv("status", "r1"), fake.io);
    expect(fake.out()).not.toContain("agents");
  });

  it("the summary at the end of a watch has each agent's stats and summary on one line", async () => {
    const fake = fakeIo(() => json(agentRun("completed")));
    expect(await main(argv("status", "r1", "--watch"), fake.io)).toBe(EXIT.failed);
    const text = fake.out();
    expect(text).toMatch(/^agents:$/m);
    expect(text).toContain("  fork 1  claude-sonnet-4-5 · 2 turns · 1 tool call · tokens 1.9k in / 150 out");
    expect(text).toContain("          Created hello.txt. Checked it with cat.\n");
  });

  it("logs print the check's verdict, where it ran, its duration and its output", () => {
    const checked = run("completed", [
      fork(1, { ...started, status: "succeeded", check: { command: "npm test", exitCode: 1, passed: false, stdoutTail: "1 failing\n", stderrTail: "AssertionError\n", durationMs: 1500, verified: true } }),
    ]);
    const entries = new LogTracker(1).next(checked);
    expect(entries.filter((e) => e.kind === "check" || e.kind === "stdout" || e.kind === "stderr").map((e) => `${e.kind}:${e.text}`)).toEqual([
      "check:check failed in a fresh sandbox (exit 1, 1.5s): npm test",
      "stdout:1 failing",
      "stderr:AssertionError",
    ]);
  });

  it("logs print an agent's stats and summary when its fork ends", () => {
    const entries = new LogTracker(1).next(agentRun());
    expect(entries.filter((e) => e.kind === "agent" || e.kind === "summary").map((e) => `${e.kind}:${e.text}`)).toEqual([
      "agent:agent: claude-sonnet-4-5 · 2 turns · 1 tool call · tokens 1.9k in / 150 out (cache 4.2k read, 2.2k written) · model $0.0123",
      "summary:Created hello.txt.",
      "summary:Checked it with cat.",
    ]);
  });
});

describe("budget", () => {
  it("POSTs the new budget and prints what it did", async () => {
    const raised = run("running", [succeeded, fork(2, { ...started, status: "budget_exceeded" })]);
    raised.request.budgetUsd = 20;
    const fake = fakeIo(() => json(raised));
    expect(await main(argv("budget", "r1", "20"), fake.io)).toBe(EXIT.ok);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1:8787/v1/runs/r1/budget", body: { budgetUsd: 20 } });
    expect(fake.out()).toContain("run r1: budget $20.00, spent $0.00010 · 1 fork waiting for budget continue · running");
    expect(fake.out()).toContain("forkyard status r1 --watch");
  });

  it("--json prints the run; the API's refusal exits 2 naming the field", async () => {
    const fake = fakeIo(() => json(run("running", [fork(1)])));
    await main(argv("budget", "r1", "2.5", "--json"), fake.io);
    expect(JSON.parse(fake.out())).toMatchObject({ id: "r1", status: "running" });

    const refused = fakeIo(() => json({ error: { code: "invalid_input", message: "budgetUsd: must be more than the current budget of $5.", details: { field: "budgetUsd" } } }, 400));
    expect(await main(argv("budget", "r1", "1"), refused.io)).toBe(EXIT.usage);
    expect(refused.err()).toBe("error: invalid_input: budgetUsd: must be more than the current budget of $5. (field: budgetUsd)\n");
  });

  it.each([[["budget", "r1"]], [["budget", "r1", "lots"]]])("usage error %j", async (args) => {
    const fake = fakeIo(() => json({}));
    expect(await main(argv(...args), fake.io)).toBe(EXIT.usage);
    expect(fake.requests).toHaveLength(0);
  });
});

describe("pick", () => {
  const fetchCommand = "git fetch /repo main && git switch -c forkyard/r1/2 FETCH_HEAD && curl … ${FORKYARD_TOKEN:?…} … | git apply --3way && git commit -qm 'x'";

  it("POSTs the pick and prints the pull request's URL on GitHub, else only the fetch command (stdout): given the local token on the local stack, else with a note when FORKYARD_TOKEN is unset", async () => {
    const onGitHub = fakeIo(() => json({ n: 2, branch: "forkyard/r1/2", pullRequest: { number: 7, url: "https://github.com/acme/app/pull/7" }, fetch: "git fetch …" }));
    expect(await main(argv("pick", "r1", "--fork", "2"), onGitHub.io)).toBe(EXIT.ok);
    expect(onGitHub.requests[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1:8787/v1/runs/r1/forks/2/pick" });
    expect(onGitHub.out()).toBe("https://github.com/acme/app/pull/7\n");

    // The local stack with its well-known token: the command works as printed, without FORKYARD_TOKEN.
    const local = fakeIo(() => json({ n: 2, branch: "forkyard/r1/2", fetch: fetchCommand }));
    await main(argv("pick", "r1", "--fork", "2"), local.io);
    expect(local.out()).toBe(`FORKYARD_TOKEN=${LOCAL_API_TOKEN} sh -c ${shellWord(fetchCommand)}\n`);
    expect(local.err()).toBe("");
    // Another token (--token) is never printed: the command reads it from the environment, and the CLI says why.
    const other = fakeIo(() => json({ n: 2, branch: "forkyard/r1/2", fetch: fetchCommand }));
    await main(argv("pick", "r1", "--fork", "2", "--token", "s3cret-token-x"), other.io);
    expect(other.out()).toBe(`${fetchCommand}\n`);
    expect(other.err()).toContain("needs your token: it reads it from $FORKYARD_TOKEN");
    expect(other.out() + other.err()).not.toContain("s3cret-token-x");
    const withToken = fakeIo(() => json({ n: 2, branch: "forkyard/r1/2", fetch: fetchCommand }), { env: { FORKYARD_TOKEN: "t" } });
    await main(argv("pick", "r1", "--fork", "2"), withToken.io);
    expect(withToken.err()).toBe("");
  });

  it("--fork is required; the API's refusal exits 2 with its code", async () => {
    const fake = fakeIo(() => json({}));
    expect(await main(argv("pick", "r1"), fake.io)).toBe(EXIT.usage);
    expect(fake.requests).toHaveLength(0);
    const refused = fakeIo(() => json({ error: { code: "fork_not_succeeded", message: "Fork 1 failed (command_failed): only a fork that succeeded can be picked.", details: { field: "n" } } }, 409));
    expect(await main(argv("pick", "r1", "--fork", "1"), refused.io)).toBe(EXIT.usage);
    expect(refused.err()).toBe("error: fork_not_succeeded: Fork 1 failed (command_failed): only a fork that succeeded can be picked. (field: n)\n");
  });
});

describe("compare two forks", () => {
  it("prints fork a's files against fork b's (GET …/compare/:a/:b) without git's headers, and says why a file is not diffed", async () => {
    const body = {
      runId: "r1",
      a: 1,
      b: 3,
      files: [
        { path: "fork.txt", a: "added", b: "added", status: "differs", hunks: [{ header: "@@ -1,2 +1,2 @@", lines: ["-changed-1", "+changed-3", " 1"] }] },
        { path: "logo.png", a: "binary", b: null, status: "unavailable", hunks: null, reason: "A binary file: not diffed." },
        { path: "same.txt", a: "added", b: "added", status: "same", hunks: [] },
      ],
    };
    const fake = fakeIo(() => json(body));
    expect(await main(argv("compare", "r1", "1", "3"), fake.io)).toBe(EXIT.ok);
    expect(fake.requests[0]).toMatchObject({ method: "GET", url: "http://127.0.0.1:8787/v1/runs/r1/compare/1/3" });
    expect(fake.out()).toBe(
      [
        "fork.txt (1: added · 3: added) differs",
        "@@ -1,2 +1,2 @@",
        "-changed-1",
        "+changed-3",
        " 1",
        "logo.png (1: binary · 3: as in the base) not diffed — A binary file: not diffed.",
        "same.txt (1: added · 3: added) same in both",
        "",
      ].join("\n"),
    );
    const one = fakeIo(() => json(body));
    expect(await main(argv("compare", "r1", "1"), one.io)).toBe(EXIT.usage);
    expect(one.requests).toHaveLength(0);
  });
});

describe("watching over the event stream", () => {
  it("status --watch follows GET /events and re-reads the run at each event, not every second", async () => {
    // Fake timers: seconds pass at once, and a poll every second would show as extra reads.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      let pushed = false;
      let push: ((s: string) => void) | undefined;
      const fake = fakeIo((req) => {
        if (req.url.endsWith("/v1/runs/r1/events")) {
          const stream = new ReadableStream<Uint8Array>({ start: (ctl) => void (push = (s) => ctl.enqueue(new TextEncoder().encode(s))) });
          return new Response(stream, { headers: { "content-type": "text/event-stream" } });
        }
        return json(pushed ? run("completed", [succeeded]) : run("running", [fork(1, { ...started, status: "running" })]));
      });
      const paths = () => fake.requests.map((r) => new URL(r.url).pathname);
      const exit = main(argv("status", "r1", "--watch"), fake.io);
      await vi.waitFor(() => expect(paths()).toEqual(["/v1/runs/r1/events", "/v1/runs/r1"]));
      // Three quiet seconds: no poll (the stream's fallback poll is 5 s away).
      await vi.advanceTimersByTimeAsync(3000);
      expect(paths()).toEqual(["/v1/runs/r1/events", "/v1/runs/r1"]);
      pushed = true;
      push!("id: 7\nevent: fork.finished\ndata: {}\n\n");
      // The event alone brings the second read (after the 250 ms least gap between reads).
      await vi.advanceTimersByTimeAsync(300);
      expect(await exit).toBe(EXIT.ok);
      expect(paths()).toEqual(["/v1/runs/r1/events", "/v1/runs/r1", "/v1/runs/r1"]);
      expect(fake.requests[0]?.headers.get("accept")).toBe("text/event-stream");
      expect(fake.out()).toContain("run r1 · completed");
    } finally {
      vi.useRealTimers();
    }
  });

  it("logs --follow prints a running command's lines as they come (command.output), once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      let ended = false;
      let push: ((s: string) => void) | undefined;
      const step = (name: string, status: "running" | "succeeded") => ({ name, status, attempts: 1, durationMs: status === "running" ? null : 100 });
      const fake = fakeIo((req) => {
        if (req.url.endsWith("/v1/runs/r1/events")) {
          const stream = new ReadableStream<Uint8Array>({ start: (ctl) => void (push = (s) => ctl.enqueue(new TextEncoder().encode(s))) });
          return new Response(stream, { headers: { "content-type": "text/event-stream" } });
        }
        if (!ended) return json(run("running", [fork(1, { ...started, status: "running", steps: [step("command-1", "running")] })]));
        const result = { command: "echo hi", exitCode: 0, stdoutTail: "line one\nline two\nline three\n", stderrTail: "", durationMs: 12_000 };
        return json(run("completed", [fork(1, { ...started, status: "succeeded", steps: [step("command-1", "succeeded")], commands: [result] })]));
      });
      const gets = () => fake.requests.filter((r) => new URL(r.url).pathname === "/v1/runs/r1").length;
      const output = (offset: number, data: string) => `event: command.output\ndata: ${JSON.stringify({ at: "t", type: "command.output", fork: 1, step: "command-1", stream: "stdout", offset, data })}\n\n`;
      const exit = main(argv("logs", "r1", "--follow"), fake.io);
      await vi.waitFor(() => expect(gets()).toBe(1));
      await vi.waitFor(() => expect(fake.out()).toContain("$ echo hi"));
      push!(output(0, "line one\nline t"));
      await vi.waitFor(() => expect(fake.out()).toContain("line one"));
      expect(fake.out()).not.toContain("line t"); // a line prints once it is whole
      push!(output(0, "line one\nline t")); // a repeat (a late watcher's tail) prints nothing again
      push!(output(15, "wo\nline three\n"));
      await vi.waitFor(() => expect(fake.out()).toContain("line three"));
      await vi.advanceTimersByTimeAsync(1000);
      expect(gets()).toBe(1); // output events do not re-read the run
      ended = true;
      push!("id: 9\nevent: step.finished\ndata: {}\n\n");
      await vi.advanceTimersByTimeAsync(300);
      expect(await exit).toBe(EXIT.ok);
      const lines = stripAnsi(fake.out()).split("\n").map((l) => l.replace(/^fork 1 │ /, ""));
      expect(lines.filter((l) => l.startsWith("line"))).toEqual(["line one", "line two", "line three"]);
      expect(lines).toContain("exit 0 (12.0s)");
    } finally {
      vi.useRealTimers();
    }
  });

  it("live output after a gap says what was not shown", () => {
    const tracker = new LogTracker();
    tracker.next(run("running", [fork(1, { ...started, status: "running", steps: [{ name: "tool-1-1", status: "running", attempts: 1, durationMs: null }] })]));
    const chunk = (offset: number, data: string) => ({ fork: 1, step: "tool-1-1", stream: "stdout" as const, offset, data });
    expect(tracker.live(chunk(100, "tail\n")).map((e) => e.text)).toEqual(["[… 100 characters not shown]", "tail"]);
    expect(tracker.live(chunk(200, "more")).map((e) => e.text)).toEqual(["[… 95 characters not shown]"]);
    // The held last line prints when the step ends.
    const done = tracker.next(run("running", [fork(1, { ...started, status: "running", steps: [{ name: "tool-1-1", status: "succeeded", attempts: 1, durationMs: 5 }] })]));
    expect(done.map((e) => e.text)).toEqual(["more", "✓ tool-1-1 (5ms)"]);
  });

  it("fork --wait falls back to polling when the API has no event stream", async () => {
    let gets = 0;
    const fake = fakeIo((req) => {
      if (req.method === "POST") return json({ id: "r1", status: "running", forks: 1, createdAt: "x", links: {} }, 202);
      if (req.url.endsWith("/events")) return json({ error: { code: "not_found", message: "No route for GET /v1/runs/r1/events." } }, 404);
      return json(++gets < 3 ? run("running", [fork(1)]) : run("completed", [succeeded]));
    });
    expect(await main(argv("fork", ".", "--command", "echo hi"), fake.io)).toBe(EXIT.ok);
    expect(gets).toBe(3);
    expect(fake.requests.filter((r) => r.url.endsWith("/events"))).toHaveLength(1);
    expect(fake.out()).toContain("run r1 · completed");
  });
});

describe("logs --transcript", () => {
  const at = "2026-01-01T00:00:01.000Z";
  const entries = [
    { seq: 1, turn: 1, step: null, at, role: "user", text: "Add hello.txt" },
    { seq: 2, turn: 1, step: "model-1", at, role: "assistant", text: "Looking first.", stopReason: "tool_use", toolCalls: [{ id: "t1", name: "bash", input: { command: "cat README" } }] },
    { seq: 3, turn: 1, step: "tool-1-1", at, role: "tool", toolUseId: "t1", name: "bash", input: { command: "cat README" }, content: "\x1b[2J\x1b]0;pwned\x07hi\r\n[exit code: 0]", isError: false },
    { seq: 4, turn: 2, step: "model-2", at, role: "assistant", text: "", stopReason: "tool_use", toolCalls: [] },
    { seq: 5, turn: 2, step: "tool-2-1", at, role: "tool", toolUseId: "t2", name: "str_replace_based_edit_tool", input: { command: "str_replace", path: "a.txt", old_str: "old", new_str: "new\nmore" }, content: "The file a.txt has been edited.", isError: false },
  ];

  it("pages through fork n's transcript and prints commands, edits as diffs and outputs, with control characters shown, not obeyed", async () => {
    const fake = fakeIo((req) => {
      if (req.url.endsWith("/v1/runs/r1")) return json(agentRun("completed"));
      const after = Number(new URL(req.url).searchParams.get("after"));
      const page = entries.filter((e) => e.seq > after).slice(0, 3);
      return json({ entries: page, next: after === 0 ? 3 : null });
    });
    expect(await main(argv("logs", "r1", "--fork", "1", "--transcript"), fake.io)).toBe(EXIT.ok);
    expect(fake.requests.map((r) => r.url.replace("http://127.0.0.1:8787", ""))).toEqual(["/v1/runs/r1", "/v1/runs/r1/forks/1/transcript?after=0&limit=500", "/v1/runs/r1/forks/1/transcript?after=3&limit=500"]);
    expect(fake.out()).toBe(
      [
        "> Add hello.txt",
        `── model-1 ${"─".repeat(40)}`,
        "Looking first.",
        "$ cat README",
        "  │ \\x1b[2J\\x1b]0;pwned\\x07hi",
        "  │ [exit code: 0]",
        `── model-2 ${"─".repeat(40)}`,
        "✎ str_replace a.txt",
        "  - old",
        "  + new",
        "  + more",
        "  │ The file a.txt has been edited.",
        "",
      ].join("\n"),
    );
    expect(fake.out()).not.toContain("\x1b");
  });

  it("shows Claude Code's edits as diffs too", () => {
    const c = colorsFor({ write: () => true }, {}, true);
    const edit = { seq: 2, turn: 1, step: "claude-code", at, role: "tool", toolUseId: "t", name: "Edit", input: { file_path: "a.txt", old_string: "x", new_string: "y" }, content: "ok", isError: false } as const;
    expect(forkTranscriptLines(edit, c)).toEqual(["✎ Edit a.txt", "  - x", "  + y", "  │ ok"]);
    expect(forkTranscriptLines({ ...edit, name: "Write", input: { file_path: "b.txt", content: "new\n" } }, c)).toEqual(["✎ Write b.txt", "  + new", "  │ ok"]);
    expect(forkTranscriptLines({ ...edit, name: "Bash", input: { command: "ls" } }, c)).toEqual(["$ ls", "  │ ok"]);
  });

  it("--follow prints entries as the fork's steps end, until it ends", async () => {
    let ended = false;
    const fake = fakeIo((req) => {
      if (req.url.endsWith("/v1/runs/r1")) {
        const view = agentRun("running");
        if (ended) view.forks[1]!.status = "succeeded";
        return json(view);
      }
      const after = Number(new URL(req.url).searchParams.get("after"));
      // The fork's last entry is recorded as it ends, after the first page was read.
      const have = entries.slice(0, ended ? 3 : 2);
      ended = true;
      return json({ entries: have.filter((e) => e.seq > after), next: null });
    });
    expect(await main(argv("logs", "r1", "--fork", "2", "--transcript", "--follow", "--json"), fake.io)).toBe(EXIT.ok);
    expect(fake.out().trim().split("\n").map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3]);
  });

  it("needs --fork; --json prints the entries", async () => {
    const fake = fakeIo(() => json({}));
    expect(await main(argv("logs", "r1", "--transcript"), fake.io)).toBe(EXIT.usage);
    expect(fake.requests).toHaveLength(0);
    const asJson = fakeIo((req) => (req.url.endsWith("/v1/runs/r1") ? json(agentRun("completed")) : json({ entries: entries.slice(0, 2), next: null })));
    expect(await main(argv("logs", "r1", "--fork", "1", "--transcript", "--json"), asJson.io)).toBe(EXIT.ok);
    expect(JSON.parse(asJson.out())).toEqual(entries.slice(0, 2));
  });
});

describe("session queue and forks", () => {
  it("dequeue DELETEs the queued message; fork --budget sends each new session's budget and prints pending forks of a running turn", async () => {
    const dequeued = fakeIo(() => json({ id: "s1", queued: 2 }));
    expect(await main(argv("session", "dequeue", "s1", "3"), dequeued.io)).toBe(EXIT.ok);
    expect(dequeued.requests[0]).toMatchObject({ method: "DELETE", url: "http://127.0.0.1:8787/v1/sessions/s1/messages/3" });
    expect(dequeued.out()).toBe("turn 3 removed from the queue (2 still queued)\n");

    const started = fakeIo(() => json({ error: { code: "turn_not_queued", message: "Turn 1 is running: only a message still queued can be removed.", details: { status: "running" } } }, 409));
    expect(await main(argv("session", "dequeue", "s1", "1"), started.io)).not.toBe(EXIT.ok);
    expect(started.err()).toContain("turn_not_queued");

    const pending = { sessions: [], pending: [{ id: "s2", title: "t (fork 1 of 2)", budgetUsd: 1.5 }, { id: "s3", title: "t (fork 2 of 2)", budgetUsd: 1.5 }], turn: 4 };
    const forked = fakeIo(() => json(pending, 202));
    expect(await main(argv("session", "fork", "s1", "-n", "2", "--budget", "1.5"), forked.io)).toBe(EXIT.ok);
    expect(forked.requests[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1:8787/v1/sessions/s1/fork", body: { count: 2, budgetUsd: 1.5 } });
    expect(forked.out()).toBe("session s2 (made at turn 4's next step boundary): t (fork 1 of 2)\nsession s3 (made at turn 4's next step boundary): t (fork 2 of 2)\n");
  });
});

describe("hints", () => {
  it("every `forkyard <command>` the CLI suggests is a command it has", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const dirs = ["cli", "cli/commands", "cli/render"];
    const hinted = new Set<string>();
    for (const dir of dirs) {
      for (const name of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
        // What it prints (not its comments).
        const code = readFileSync(join(dir, name), "utf8").split("\n").filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join("\n");
        for (const m of code.matchAll(/\bforkyard ([a-z][a-z-]*)/g)) hinted.add(m[1]!);
      }
    }
    expect(hinted.size).toBeGreaterThan(5);
    const fake = fakeIo(() => json({}));
    await main(argv("--help"), fake.io);
    const help = fake.out() + fake.err();
    for (const command of hinted) expect(help, `forkyard ${command}`).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
  });

  it("merge sends the forks (numbers), prompt and model, and points to status --watch", async () => {
    const fake = fakeIo(() => json({ runId: "r1", fork: 5, forks: [2, 4] }, 202));
    expect(await main(argv("merge", "r1", "2", "4", "-p", "keep 4's tests", "-m", "opus"), fake.io)).toBe(EXIT.ok);
    expect(fake.requests.map((r) => [r.method, new URL(r.url).pathname, r.body])).toEqual([["POST", "/v1/runs/r1/merge", { forks: [2, 4], prompt: "keep 4's tests", model: "opus" }]]);
    expect(stripAnsi(fake.out())).toContain("fork 5 merges forks 2, 4");
    expect(stripAnsi(fake.out())).toContain("forkyard status r1 --watch");
    const hunks = (survived: number, total: number) => ({ survived, total, share: Math.round((survived / total) * 1000) / 1000, hunks: [] });
    expect(mergeLine({ merge: { forks: [2, 4], provenance: { forks: [{ n: 2, ...hunks(3, 4) }, { n: 4, ...hunks(1, 1) }] } } } as unknown as ForkView)).toBe("merges forks 2, 4 · survived: fork 2 3/4 hunks (75 %), fork 4 1/1 hunks (100 %)");
    expect(mergeLine({ merge: { forks: [2, 4] } } as unknown as ForkView)).toBe("merges forks 2, 4");
    const bad = fakeIo(() => json({}));
    expect(await main(argv("merge", "r1", "2", "x"), bad.io)).toBe(EXIT.usage);
    expect(bad.requests).toEqual([]);
  });

  it("branch points to status --watch and compare", async () => {
    const fake = fakeIo(() => json({ runId: "r1", forks: [4], branch: 1 }, 202));
    expect(await main(argv("branch", "r1", "--fork", "1"), fake.io)).toBe(EXIT.ok);
    expect(stripAnsi(fake.out())).toContain("forkyard status r1 --watch · forkyard compare r1");
  });

  it("branch --at-step -m asks for the earlier step and the other model; fork --snapshots asks for step snapshots", async () => {
    const fake = fakeIo((req) => (req.url.endsWith("/v1/runs") ? json({ id: "r1", status: "running", forks: 1, createdAt: "x", links: {} }, 202) : json({ runId: "r1", forks: [4] }, 202)));
    expect(await main(argv("fork", "/repo", "-p", "fix it", "--snapshots", "--no-wait"), fake.io)).toBe(EXIT.ok);
    expect(await main(argv("branch", "r1", "--fork", "1", "--at-step", "model-3", "-m", "opus", "-p", "Try the parser"), fake.io)).toBe(EXIT.ok);
    expect(fake.requests[0]?.body).toMatchObject({ snapshots: "steps" });
    expect(fake.requests[1]?.body).toEqual({ count: 1, prompt: "Try the parser", atStep: "model-3", model: "opus" });
    expect(stripAnsi(fake.out())).toContain("fork 4 branched from fork 1 as it stood before model-3");
  });
});

describe("deleting sessions and evals", () => {
  it("session rm destroys; session rm --purge and eval rm delete for good", async () => {
    const fake = fakeIo((req) => {
      if (req.url.includes("/v1/evals/")) return json({ id: "eabc", deleted: true, runsReleased: 2, instancesDeleted: 1 });
      if (req.url.includes("purge=true")) return json({ id: "s1", deleted: true, reason: "deleted", deletedAt: "2026-01-01T00:00:00Z", objectsDeleted: 3 });
      return json({}, 500);
    });
    expect(await main(argv("session", "rm", "s1", "--purge"), fake.io)).toBe(EXIT.ok);
    expect(await main(argv("eval", "rm", "eabc"), fake.io)).toBe(EXIT.ok);
    expect(fake.requests.map((r) => `${r.method} ${new URL(r.url).pathname}${new URL(r.url).search}`)).toEqual(["DELETE /v1/sessions/s1?purge=true", "DELETE /v1/evals/eabc"]);
    expect(stripAnsi(fake.out())).toBe("session s1 deleted (3 stored objects)\neval eabc deleted (2 runs released to run retention)\n");
  });
});
