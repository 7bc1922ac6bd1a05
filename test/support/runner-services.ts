/**
 * The servers one workers runner (one workerd) talks to: a local sandbox server, the test GitHub,
 * the Worker bridge and the scripted Anthropic server. Each runner gets its own set, started when
 * vitest starts the runner (vitest.config.ts, the plugin's per-runner options), so runners that
 * take files side by side never share the counters, faults, scripts and recordings the tests read.
 * What every runner only reads (the test repositories, the stand-in Claude Code CLI) is made once
 * by test/global-setup.ts; its teardown stops every set started here.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { startSandboxServer } from "../../scripts/local-stack.ts";
import { startScriptedAnthropic } from "./anthropic-server.ts";
import { startChildServer } from "./child-server.ts";
import { TEST_ANTHROPIC_API_KEY, TEST_E2B_API_KEY, TEST_GITHUB_TOKEN, TEST_SANDBOX_ADMIN_KEY } from "./constants.ts";
import { startWorkerBridge } from "./worker-bridge.ts";

export interface RunnerServices {
  sandboxUrl: string;
  githubUrl: string;
  bridgeUrl: string;
  anthropicUrl: string;
}

/** Every started set's stop, in this process (vitest's main process: the config and the global setup share it). */
const REGISTRY = Symbol.for("forkyard.runnerServices");
const registry = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= { next: 0, stops: [] }) as { next: number; stops: (() => Promise<void>)[] };

/** Starts a runner's servers under `root` (the global setup's folder; sandboxes see it read-only). */
export async function startRunnerServices(root: string, repoPath: string): Promise<RunnerServices> {
  const dir = join(root, `runner-${++registry.next}`);
  mkdirSync(dir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  registry.stops.push(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  // Its own process, as the sandbox server: it spawns git for every Git Data API call and clone.
  const github = await startChildServer(resolve(import.meta.dirname, "github-server-main.ts"), {
    GITHUB_ROOT: join(dir, "github"),
    GITHUB_SOURCE: repoPath,
    GITHUB_TOKEN: TEST_GITHUB_TOKEN,
  });
  stops.push(() => github.stop());
  // The Worker's address as sandboxes reach it (its PUBLIC_URL: the claude-code runtime's model proxy).
  const bridge = await startWorkerBridge();
  stops.push(() => bridge.close());
  // Its own process (as `npm start` runs it), not this one: a process forks each sandbox command,
  // and forking vitest's large main process cost ~30 ms of CPU per spawn. Sandboxes read the
  // global setup's folder (forks clone the test repos from it); the test GitHub and the Worker
  // bridge are the host addresses they reach (their network is their own).
  const server = await startSandboxServer({
    apiKey: TEST_E2B_API_KEY,
    dataDir: join(dir, "sandboxes"),
    exposePaths: [root],
    env: { SANDBOX_ADMIN_KEY: TEST_SANDBOX_ADMIN_KEY, SANDBOX_FORWARD_HOSTS: `${new URL(github.url).host},${new URL(bridge.url).host}` },
    quiet: true,
  });
  stops.push(() => server.stop());
  const anthropic = await startScriptedAnthropic({ apiKey: TEST_ANTHROPIC_API_KEY });
  stops.push(() => anthropic.close());
  return { sandboxUrl: server.url, githubUrl: github.url, bridgeUrl: bridge.url, anthropicUrl: anthropic.url };
}

/** Stops every runner's servers (the global setup's teardown). */
export async function stopRunnerServices(): Promise<void> {
  const stops = registry.stops.splice(0);
  await Promise.all(stops.map((stop) => stop()));
}
