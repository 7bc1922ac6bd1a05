/**
 * `npm start`: the local sandbox server plus the Worker under `wrangler dev`, state kept on disk
 * (STATE_DIR, default .wrangler/state) so that a restart continues where it stopped.
 * SANDBOX_BACKEND=e2b runs the same Worker against the real E2B (needs E2B_API_KEY).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEMO_MODEL_LABEL, startDemoModel } from "./demo-model.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, ROOT, startSandboxServer, startWorker, workerVars, type StackProcess } from "./local-stack.ts";

const env = process.env;
const backend = env.SANDBOX_BACKEND === "e2b" ? "e2b" : "local";
const port = Number(env.PORT ?? 8787);
const sandboxPort = Number(env.SANDBOX_PORT ?? 3049);
const stateDir = resolve(ROOT, env.STATE_DIR ?? join(".wrangler", "state"));
/** FORKYARD_DEMO_MODEL=1: agent tasks answered by the scripted demo model (scripts/demo-model.ts), no key needed. */
const demo = ["1", "true"].includes((env.FORKYARD_DEMO_MODEL ?? "").toLowerCase());

/**
 * The token of /metrics: METRICS_TOKEN from the environment, else one generated on the first start
 * and kept in the state directory (so a local Prometheus keeps scraping across restarts).
 */
function metricsToken(): string {
  if (env.METRICS_TOKEN) return env.METRICS_TOKEN;
  const file = join(stateDir, "metrics-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(stateDir, { recursive: true });
  const token = `fym_${randomBytes(24).toString("hex")}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

const processes: StackProcess[] = [];
/** Every process is tracked from its spawn, so a signal during start-up stops it too. */
const track = (p: StackProcess) => void processes.push(p);
let stopping: Promise<never> | undefined;
/** Stops every process of the stack (once, however many signals and exits ask), then exits. */
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    for (const p of [...processes].reverse()) await p.stop();
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));
// The stack's processes run in their own process groups; if whatever started us goes away (npm's
// shell killed, terminal closed), take them down with us.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown(0);
}, 1000).unref();

/**
 * The Worker's address as sandboxes reach it (PUBLIC_URL: the claude-code runtime's model proxy).
 * Locally that is the Worker's own port, forwarded into each sandbox's network namespace by the
 * sandbox server where it can forward (as root: one namespace per sandbox); elsewhere a sandbox
 * reaches no host address at all. With E2B's cloud, set PUBLIC_URL to an address E2B's sandboxes reach.
 */
const publicUrl = env.PUBLIC_URL ?? (backend === "local" ? `http://127.0.0.1:${port}` : undefined);
const canForward = process.getuid?.() === 0 && !["0", "false"].includes((env.SANDBOX_SHARED_NAMESPACE ?? "").toLowerCase());
const forwardHosts = (): NodeJS.ProcessEnv =>
  canForward && !env.PUBLIC_URL ? { SANDBOX_FORWARD_HOSTS: [env.SANDBOX_FORWARD_HOSTS, `127.0.0.1:${port}`].filter(Boolean).join(",") } : {};

try {
  let sandboxUrl: string | undefined;
  if (backend === "local") {
    const sandbox = await startSandboxServer({ port: sandboxPort, dataDir: join(stateDir, "sandboxes"), apiKey: env.LOCAL_SANDBOX_API_KEY ?? LOCAL_E2B_API_KEY, hidePaths: [stateDir], env: forwardHosts(), onSpawn: track });
    sandboxUrl = sandbox.url;
  }
  let modelEnv: NodeJS.ProcessEnv = {};
  if (demo) {
    const model = await startDemoModel();
    modelEnv = { ANTHROPIC_BASE_URL: model.url, ANTHROPIC_API_KEY: "demo-model" };
    if (env.ANTHROPIC_API_KEY) console.warn("FORKYARD_DEMO_MODEL is set: ANTHROPIC_API_KEY is not used by this start.");
  }
  const metrics = metricsToken();
  const worker = await startWorker({ port, stateDir, vars: { ...workerVars({ backend, sandboxUrl, env: { ...env, ...modelEnv, ...(publicUrl ? { PUBLIC_URL: publicUrl } : {}) } }), METRICS_TOKEN: metrics }, onSpawn: track });
  for (const p of processes) p.child.once("exit", () => void shutdown(1));
  // "running" only when every process of the stack still runs (one that exited since it answered, e.g.
  // over a port taken meanwhile, would not fire the listener above).
  const gone = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
  if (gone) throw new Error(`${gone.url} exited (${gone.child.exitCode ?? gone.child.signalCode}) after it started; see its output above.`);
  const token = env.FORKYARD_API_TOKENS ? "(one of FORKYARD_API_TOKENS)" : LOCAL_API_TOKEN;
  console.log(`\nForkyard is running at ${worker.url} (sandbox backend: ${backend}${sandboxUrl ? ` at ${sandboxUrl}` : ""}; state in ${stateDir}).`);
  console.log(`API token: ${token}   e.g. curl -H "Authorization: Bearer ${token}" ${worker.url}/v1/runs`);
  if (demo) console.log(`Agent tasks: the ${DEMO_MODEL_LABEL}. It looks around, writes FORKYARD_DEMO.md and summarises; unset FORKYARD_DEMO_MODEL and set ANTHROPIC_API_KEY for a real model.`);
  console.log(`Metrics token: ${env.METRICS_TOKEN ? "(METRICS_TOKEN)" : metrics}   e.g. curl -H "Authorization: Bearer ${env.METRICS_TOKEN ? "$METRICS_TOKEN" : metrics}" ${worker.url}/metrics\n`);
} catch (err) {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
