import { z } from "zod";
import { ConfigError } from "./errors";
import { profileOverrides } from "./sandbox-profiles";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import type { Pool } from "../objects/pool/pool";
import type { Session } from "../objects/session/session";
import type { Evaluation } from "../objects/eval/evaluation";
import type { EvalCheckParams } from "../protocol/eval-check";
import type { SessionJob } from "../protocol/session-job";
import type { JudgeParams } from "../workflows/judge-workflow";
import type { PrepareParams } from "../workflows/prepare-workflow";
import type { ForkParams } from "../protocol/fork-params";
import type { GitHubReportParams } from "../workflows/github-report-workflow";

/** Bindings, vars and secrets of the Worker (wrangler.toml + secrets). */
export interface Env {
  ORCHESTRATOR: DurableObjectNamespace<Orchestrator>;
  POOL: DurableObjectNamespace<Pool>;
  SESSION: DurableObjectNamespace<Session>;
  EVAL: DurableObjectNamespace<Evaluation>;
  FORK_WORKFLOW: Workflow<ForkParams>;
  SESSION_WORKFLOW: Workflow<SessionJob>;
  JUDGE_WORKFLOW: Workflow<JudgeParams>;
  PREPARE_WORKFLOW: Workflow<PrepareParams>;
  GITHUB_REPORT_WORKFLOW: Workflow<GitHubReportParams>;
  EVAL_CHECK_WORKFLOW: Workflow<EvalCheckParams>;
  DB: D1Database;
  ARTIFACTS: R2Bucket;
  /** The static assets in dist/assets (dashboard client, /docs), built by scripts/build-assets.ts. */
  ASSETS: Fetcher;

  SANDBOX_BACKEND?: string;
  E2B_API_KEY?: string;
  E2B_API_URL?: string;
  E2B_SANDBOX_URL?: string;
  E2B_DOMAIN?: string;
  FORKYARD_API_TOKENS?: string;
  ALLOW_LOCAL_REPOS?: string;
  MAX_LIVE_SANDBOXES?: string;
  SANDBOX_CREATE_RATE_PER_SECOND?: string;
  SANDBOX_VCPU?: string;
  SANDBOX_MEMORY_GIB?: string;
  PRICE_VCPU_SECOND?: string;
  PRICE_GIB_SECOND?: string;
  REAPER_MAX_AGE_SECONDS?: string;
  REAPER_GONE_GRACE_SECONDS?: string;
  RECONCILE_INTERVAL_SECONDS?: string;
  LIVE_OUTPUT_INTERVAL_MS?: string;
  STALE_FORK_SECONDS?: string;
  RETRY_POLICIES?: string;
  PROFILES?: string;
  ARTIFACT_MAX_BYTES?: string;
  ARTIFACT_RETENTION_DAYS?: string;
  RUN_RETENTION_DAYS?: string;
  SESSION_RETENTION_DAYS?: string;
  KEEP_SANDBOX_SECONDS?: string;
  MAX_BODY_BYTES?: string;
  LOG_LEVEL?: string;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  PUBLIC_URL?: string;
  MODEL_PROXY_SECRET?: string;
  MODEL_PRICES?: string;
  AGENT_MAX_TURNS?: string;
  AGENT_CONTEXT_TOKENS?: string;
  BUDGET_WAIT_SECONDS?: string;
  SESSION_QUEUE_LIMIT?: string;
  MAX_FORKS_PER_RUN?: string;
  METRICS_TOKEN?: string;
  CLAUDE_CODE_COMMAND?: string;
  GITHUB_TOKEN?: string;
  GITHUB_WEBHOOK_SECRET?: string;
  GITHUB_API_URL?: string;
  GITHUB_TRIGGERS?: string;
  GITHUB_TRIGGER_LABEL?: string;
  GITHUB_MAX_FORKS?: string;
  GITHUB_MAX_BUDGET_USD?: string;
  GITHUB_COMMENT_CHECK?: string;
  GITHUB_PUSH_REPO?: string;
  CODE_VERSION?: string;
  FORK_CONTINUE_AFTER_STEPS?: string;
  SESSION_TURN_CONTINUE_AFTER_STEPS?: string;
  WORKFLOW_CREATE_RATE_PER_SECOND?: string;
  /** The deployed Worker version (wrangler.toml `[version_metadata]`): recorded by runs with their code version. */
  CF_VERSION_METADATA?: WorkerVersionMetadata;
}

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const positive = z.coerce.number().positive();
/** A variable holding JSON (parsed here; the schema it is piped into checks the shape). */
const jsonVar = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: "custom", message: "must be JSON" });
    return z.NEVER;
  }
});
const nonNegative = z.coerce.number().nonnegative();
const optionalUrl = z.url({ protocol: /^https?$/ }).optional();

const retryOverride = z.object({
  limit: z.number().int().min(0).max(20).optional(),
  delayMs: z.number().int().min(0).max(3_600_000).optional(),
  backoff: z.enum(["constant", "linear", "exponential"]).optional(),
});

/** Every configuration value the Worker reads, with its default. The README table mirrors this. */
const configSchema = z.object({
  SANDBOX_BACKEND: z.enum(["e2b", "local"]).default("e2b"),
  E2B_API_KEY: z.string().min(1).optional(),
  E2B_API_URL: optionalUrl,
  E2B_SANDBOX_URL: optionalUrl,
  E2B_DOMAIN: z.string().min(1).optional(),
  FORKYARD_API_TOKENS: z.string().optional(),
  ALLOW_LOCAL_REPOS: bool.default(false),
  MAX_LIVE_SANDBOXES: int(1, 10_000).default(20),
  // E2B Hobby creates 1 sandbox a second, Pro 5: the default is safe on either plan.
  SANDBOX_CREATE_RATE_PER_SECOND: positive.default(1),
  SANDBOX_VCPU: positive.default(2),
  SANDBOX_MEMORY_GIB: positive.default(0.5),
  PRICE_VCPU_SECOND: nonNegative.default(0.000014),
  PRICE_GIB_SECOND: nonNegative.default(0.0000045),
  REAPER_MAX_AGE_SECONDS: int(60, 31 * 24 * 3600).default(25 * 3600),
  /** A lease whose sandbox the provider no longer lists is freed if it was acquired this long before the listing. */
  REAPER_GONE_GRACE_SECONDS: nonNegative.default(10),
  RECONCILE_INTERVAL_SECONDS: positive.default(10),
  /** Live output of running commands (`command.output`): at most one event per fork this often; 0 = off. */
  LIVE_OUTPUT_INTERVAL_MS: int(0, 60_000).default(250),
  STALE_FORK_SECONDS: positive.default(60),
  RETRY_POLICIES: jsonVar.pipe(z.record(z.string(), retryOverride)).default({}),
  PROFILES: jsonVar.pipe(profileOverrides).default({}),
  ARTIFACT_MAX_BYTES: int(1, 5 * 1024 ** 3).default(50 * 1024 ** 2),
  ARTIFACT_RETENTION_DAYS: int(1, 3650).default(30),
  /** Ended runs whose last change is older than this are deleted by the cron trigger (0: never). */
  RUN_RETENTION_DAYS: int(0, 3650).default(0),
  /** Idle, paused, destroyed and failed sessions whose last change is older than this are deleted by the cron trigger (0: never). */
  SESSION_RETENTION_DAYS: int(0, 3650).default(0),
  /** How long a kept sandbox (runs with keepSandboxes) waits, paused, for a session to continue it. */
  KEEP_SANDBOX_SECONDS: int(60, 30 * 86_400).default(86_400),
  MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: optionalUrl,
  /** The Worker's address as sandboxes reach it: the `claude-code` runtime's model proxy is under it. */
  PUBLIC_URL: optionalUrl,
  /** The HMAC key of the model proxy's per-fork tokens (default: one derived from ANTHROPIC_API_KEY). */
  MODEL_PROXY_SECRET: z.string().min(16).optional(),
  MODEL_PRICES: z.string().optional(),
  AGENT_MAX_TURNS: int(1, 500).default(40),
  /** The model's context window: a longer conversation is trimmed to fit (src/agent/context-window.ts). */
  AGENT_CONTEXT_TOKENS: int(20_000, 2_000_000).default(200_000),
  BUDGET_WAIT_SECONDS: int(0, 30 * 24 * 3600).default(24 * 3600),
  /** Messages a session holds queued behind its running turn; one more is answered 429 `queue_full`. */
  SESSION_QUEUE_LIMIT: int(1, 1000).default(20),
  /** Forks a run may hold, branches included (a request over it is a 400 naming forks). */
  MAX_FORKS_PER_RUN: int(1, 1000).default(100),
  METRICS_TOKEN: z.string().min(1).optional(),
  CLAUDE_CODE_COMMAND: z.string().min(1).max(500).default("claude"),
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_WEBHOOK_SECRET: z.string().min(1).optional(),
  GITHUB_API_URL: optionalUrl,
  GITHUB_TRIGGERS: z
    .string()
    .transform((s) => s.split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "" && t !== "none"))
    .pipe(z.array(z.enum(["label", "comment"])))
    .default(["label", "comment"]),
  GITHUB_TRIGGER_LABEL: z.string().trim().min(1).max(50).default("forkyard"),
  /** Caps of GitHub-triggered runs: forks, and the budget (also the budget of runs that ask for none). */
  GITHUB_MAX_FORKS: int(1, 100).default(5),
  GITHUB_MAX_BUDGET_USD: positive.default(10),
  /** Whether `/fork --check "<command>"` is honoured (a comment author's shell command). */
  GITHUB_COMMENT_CHECK: bool.default(false),
  /** A fork (`owner/name`) of the repository that runs' branches are pushed to instead of it (src/github/push-repo.ts). */
  GITHUB_PUSH_REPO: z
    .string()
    .regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, "GITHUB_PUSH_REPO must be owner/name")
    .optional(),
  /**
   * The newest workflow plan this build runs (default: its own CODE_VERSION, src/protocol/code-version.ts);
   * a lower value runs the build as that older one, to rehearse a deploy. Runs record what it gives.
   */
  CODE_VERSION: int(1, 1_000).optional(),
  /**
   * A fork's Workflow instance that has made this many steps continues in a new instance at its next
   * task step (below wrangler.toml's `limits.steps` of 10,000, with room for the steps after its task).
   */
  FORK_CONTINUE_AFTER_STEPS: int(10, 9_000).default(8_000),
  /** The same for a session's turn: its instance continues in a new one before its next model call (src/workflows/turn-continuation.ts). */
  SESSION_TURN_CONTINUE_AFTER_STEPS: int(10, 9_000).default(8_000),
  /** Workflow instances a run's launch creates per second at most (Cloudflare: about 100 per second per workflow). */
  WORKFLOW_CREATE_RATE_PER_SECOND: int(1, 100).default(90),
});

export type Config = z.infer<typeof configSchema> & { apiTokens: string[] };
export type RetryOverrides = Config["RETRY_POLICIES"];

/** Every secret the deployment holds: scrubbed from whatever leaves a sandbox, never let out in a file. */
export function configuredSecrets(config: Config): string[] {
  const secrets = [config.E2B_API_KEY, config.ANTHROPIC_API_KEY, config.GITHUB_TOKEN, config.GITHUB_WEBHOOK_SECRET, config.METRICS_TOKEN, config.MODEL_PROXY_SECRET, ...config.apiTokens];
  return [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= 8))];
}

const cache = new WeakMap<object, Config>();

/** Parses the Worker's configuration once per env object; a bad value is a ConfigError naming it. */
export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = (env as unknown as Record<string, unknown>)[key];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "config");
    throw new ConfigError(`Configuration value ${field} is invalid: ${issue?.message ?? "bad value"}`, { field });
  }
  const apiTokens = (parsed.data.FORKYARD_API_TOKENS ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  const config: Config = { ...parsed.data, apiTokens };
  cache.set(env, config);
  return config;
}
