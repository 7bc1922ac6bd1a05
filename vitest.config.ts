import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { buildAssets } from "./scripts/build-assets.ts";
import { LongestFirstSequencer } from "./test/support/longest-first.ts";
import { startRunnerServices } from "./test/support/runner-services.ts";
import { TEST_ANTHROPIC_API_KEY, TEST_API_TOKEN, TEST_E2B_API_KEY, TEST_GITHUB_TOKEN, TEST_GITHUB_WEBHOOK_SECRET, TEST_RETRY_POLICIES } from "./test/support/constants.ts";

/**
 * Three projects: `workers` runs the Worker in workerd (vitest-plugin), in runners side by side,
 * each against its own real local sandbox server and other test servers; `node` runs the Node-side parts (local sandbox server, CLI unit
 * tests, scripts) and the Worker's pure logic (test/unit); `stack` runs the files that start a real
 * `wrangler dev` stack, one at a time (never two stacks booting side by side).
 * `npm test` (scripts/test.ts) runs them as three vitest processes at once and prints one table of
 * per-file durations; `npx vitest run <file>` runs one file.
 * The Worker's static assets (dist/assets, wrangler.toml `[assets]`) are built first, so a fresh
 * clone's `npm test` (or a single `npx vitest run <file>`) needs no other step.
 */
/** The node files that start a real `wrangler dev` stack (scripts/local-stack.ts startWorker, or npm start). */
const STACK_FILES = ["test/node/capacity-queue.test.ts", "test/node/cli.test.ts", "test/node/dashboard.test.ts", "test/node/npm-start.test.ts"];

/** Workers runners side by side: measured on two cores, more only add CPU per file. */
const WORKERS_RUNNERS = Number(process.env.FORKYARD_WORKERS_RUNNERS || 2);

export default defineConfig(async () => {
  await buildAssets();
  return {
    test: {
      // Two files at a time in a project, unless it says otherwise.
      maxWorkers: 2,
      // The workers files longest first; the other projects in vitest's own order.
      sequence: { sequencer: LongestFirstSequencer },
      projects: [
        {
          test: {
            name: "stack",
            include: STACK_FILES,
            environment: "node",
            // One at a time, in one process: each file starts (and stops) its own wrangler dev stack.
            isolate: false,
            maxWorkers: 1,
            // Its own group: vitest runs projects of different worker counts one group after another.
            sequence: { groupOrder: 1 },
            // End to end through real stacks: bounds wide enough for a loaded machine (they bound, they never time).
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
        {
          test: {
            name: "node",
            // test/unit: the Worker's pure logic (no runtime needed; typed with the Worker's tsconfig).
            include: ["test/node/**/*.test.ts", "test/unit/**/*.test.ts"],
            exclude: STACK_FILES,
            environment: "node",
            // test/unit imports Worker modules for their pure logic; the runtime's modules are stubbed.
            alias: { "cloudflare:workers": "./test/unit/stubs/cloudflare.ts", "cloudflare:workflows": "./test/unit/stubs/cloudflare.ts" },
            // Files share one Node process (no global state of their own; each starts and stops what it uses): ~1.3 s less per file.
            isolate: false,
            testTimeout: 60_000,
            hookTimeout: 60_000,
          },
        },
        {
          plugins: [
            // Called once per runner (a workerd): each gets its own servers (test/support/runner-services.ts).
            cloudflareTest(async ({ inject }) => {
              const services = await startRunnerServices(inject("testRoot"), inject("repoPath"));
              return {
                wrangler: { configPath: "./wrangler.toml" },
                miniflare: {
                  bindings: {
                    SANDBOX_BACKEND: "local",
                    E2B_API_KEY: TEST_E2B_API_KEY,
                    E2B_API_URL: services.sandboxUrl,
                    E2B_SANDBOX_URL: services.sandboxUrl,
                    ANTHROPIC_BASE_URL: services.anthropicUrl,
                    ANTHROPIC_API_KEY: TEST_ANTHROPIC_API_KEY,
                    FORKYARD_API_TOKENS: `${TEST_API_TOKEN},second-token`,
                    ALLOW_LOCAL_REPOS: "true",
                    MAX_LIVE_SANDBOXES: "50",
                    ARTIFACT_MAX_BYTES: "200000",
                    SANDBOX_CREATE_RATE_PER_SECOND: "50",
                    RECONCILE_INTERVAL_SECONDS: "1",
                    STALE_FORK_SECONDS: "6",
                    REAPER_GONE_GRACE_SECONDS: "1",
                    RETRY_POLICIES: JSON.stringify(TEST_RETRY_POLICIES),
                    // A fork continues in a new instance after 20 steps (fork-continuation.test.ts; the default is 8,000).
                    FORK_CONTINUE_AFTER_STEPS: "20",
                    // A session turn likewise (session-continuation.test.ts; the default is 8,000).
                    SESSION_TURN_CONTINUE_AFTER_STEPS: "20",
                    LOG_LEVEL: "warn",
                    TEST_MIGRATIONS: await readD1Migrations("./migrations"),
                    TEST_REPO: inject("repoPath"),
                    TEST_MASTER_REPO: inject("masterRepoPath"),
                    TEST_SWE_BASE: inject("sweBaseCommit"),
                    TEST_SWE_SIDE: inject("sweSideCommit"),
                    CLAUDE_CODE_COMMAND: inject("claudeCodeCommand"),
                    GITHUB_API_URL: `${services.githubUrl}/api/v3`,
                    GITHUB_TOKEN: TEST_GITHUB_TOKEN,
                    GITHUB_WEBHOOK_SECRET: TEST_GITHUB_WEBHOOK_SECRET,
                    TEST_GITHUB_URL: services.githubUrl,
                    // Sandboxes reach the Worker through the bridge (test/support/worker-bridge.ts).
                    PUBLIC_URL: services.bridgeUrl,
                  },
                },
              };
            }),
          ],
          test: {
            name: "workers",
            include: ["test/workers/**/*.test.ts"],
            globalSetup: ["./test/global-setup.ts"],
            setupFiles: ["./test/workers/setup.ts"],
            // Runners (workerd) side by side, each with its own servers, each taking the next file
            // when it is free: longest first (test/support/longest-first.ts), so they end together.
            maxWorkers: WORKERS_RUNNERS,
            // A runner keeps its runtime across files (one workerd boot, not one per file): each file
            // ends what it started and resets what it changed (test/workers/cleanup.ts, run after
            // each file by setup.ts).
            isolate: false,
            sequence: { groupOrder: 2 },
            // Bounds, not timings: a lane's first files meet the whole suite's start-up on two cores.
            testTimeout: 150_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
