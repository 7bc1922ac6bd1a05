import { createRunRequest, judgesWithModel, type CreateRunRequest, type RunView } from "../api/runs";
import { FALLBACK_BRANCH, resolveBaseBranch } from "../runs/default-branch";
import { resolveModel } from "../agent/models";
import { validateRepo } from "../api/repo";
import { parseInput } from "../api/validation";
import { runTitle } from "../api/run-title";
import type { Config, Env } from "../core/env";
import { loadConfig } from "../core/env";
import { AgentUnavailableError, InvalidInputError, ModelProxyUnavailableError, unwrap } from "../core/errors";
import type { CreateRunInput } from "../objects/orchestrator/run-store";
import { validateGitHubTarget } from "../github/targets";
import { newRunId, runIdForIdempotencyKey, sha256Hex, workBranch } from "../protocol/run-ids";
import { applyProfile, resolveRunSandbox } from "../runs/run-sandbox";
import { TemplateAliases } from "../sandbox/template-aliases";
import { codeVersionRecord } from "../protocol/code-version";

export interface CreateRunOptions {
  /** The same key always names the same run (POST /v1/runs: the Idempotency-Key header; webhooks: the delivery id). */
  idempotencyKey: string | null;
}

export interface CreateRunResult {
  view: RunView;
  /** False when the run already existed (same key, same request). */
  created: boolean;
}

/** The links of a run's resource and its actions. */
export function runLinks(id: string) {
  const self = `/v1/runs/${id}`;
  return { self, events: `${self}/events`, pause: `${self}/pause`, resume: `${self}/resume`, cancel: `${self}/cancel` };
}

/**
 * Validates a run request and fixes everything about it that does not depend on time: the run id
 * (from the idempotency key when there is one), the normalised request and its hash, the branches.
 */
export async function prepareRun(env: Env, body: unknown, options: CreateRunOptions): Promise<CreateRunInput> {
  const config = loadConfig(env);
  const { branch: givenBranch, ...parsed } = parseInput(createRunRequest, body);
  const raw = body as Record<string, unknown>;
  const repo = validateRepo(parsed.repo, config.ALLOW_LOCAL_REPOS);
  const request: CreateRunRequest = { ...parsed, title: runTitle(parsed.task, parsed.title), repo, branch: givenBranch ?? FALLBACK_BRANCH };
  applyProfile(request, { template: raw.template !== undefined, timeoutSeconds: raw.timeoutSeconds !== undefined }, config);
  checkRequest(request, config);
  // The branch given, else the repository's default one; a local repo no sandbox could clone is refused here.
  request.branch = await resolveBaseBranch(config, repo, givenBranch);

  const { idempotencyKey } = options;
  if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
    throw new InvalidInputError("Idempotency-Key: must be 1 to 255 characters.", { field: "Idempotency-Key" });
  }
  const id = idempotencyKey ? await runIdForIdempotencyKey(idempotencyKey) : newRunId();
  const branches = Array.from({ length: request.forks }, (_, i) => workBranch(id, i + 1, request.branchPrefix));
  // Hashed with the branch as given: a retry after the repository's HEAD moved is still the same request (and run).
  // The title as given too (absent when derived): a request hashed before titles existed hashes the same.
  const requestHash = await sha256Hex(JSON.stringify({ ...request, title: parsed.title, branch: givenBranch ?? null }));
  // Resolved after the hash: a retry after the alias moved is still the same request (and run).
  const sandbox = await resolveRunSandbox(request, config, new TemplateAliases(env.DB));
  // The code the run starts on: its forks' instances keep that version's steps across deploys.
  const codeVersion = codeVersionRecord(config.CODE_VERSION, env.CF_VERSION_METADATA);
  return { id, request, sandbox, requestHash, idempotencyKey, branches, codeVersion };
}

/** What a run request needs beyond its schema: a model key for agents and judges, a check for stopWhen, a valid GitHub target. */
function checkRequest(request: CreateRunRequest, config: Config): void {
  if ("prompt" in request.task) {
    request.task.model = resolveModel(request.task.model);
    if (!config.ANTHROPIC_API_KEY) throw new AgentUnavailableError();
    if (request.task.runtime === "claude-code" && !config.PUBLIC_URL) throw new ModelProxyUnavailableError();
  }
  validateGitHubTarget(request, config);
  if (request.judge && judgesWithModel(request.judge)) {
    if (request.judge.llm?.model) request.judge.llm.model = resolveModel(request.judge.llm.model);
    if (!config.ANTHROPIC_API_KEY) throw new AgentUnavailableError();
  }
  checkStrategy(request, config);
  if (request.forks > config.MAX_FORKS_PER_RUN) {
    const field = request.strategy ? "strategy.max" : "forks";
    throw new InvalidInputError(`${field}: a run holds at most ${config.MAX_FORKS_PER_RUN} forks (MAX_FORKS_PER_RUN).`, { field });
  }
  if (request.stopWhen === "first_check_pass" && !request.check) {
    throw new InvalidInputError("stopWhen: first_check_pass needs a check command (check).", { field: "stopWhen" });
  }
}

/**
 * Asks the run's Orchestrator to create the run (durably, idempotently: a known key with the same
 * request returns the existing run, and makes sure it is being driven). Shared by POST /v1/runs
 * and the GitHub webhook.
 */
export async function createRun(env: Env, body: unknown, options: CreateRunOptions): Promise<CreateRunResult> {
  const input = await prepareRun(env, body, options);
  return unwrap(await env.ORCHESTRATOR.getByName(input.id).create(input));
}

/** strategy adaptive: `initial` ≤ `max`, a check for check_pass, a model for minScore; the run gets `max` forks. */
function checkStrategy(request: CreateRunRequest, config: Config): void {
  const strategy = request.strategy;
  if (!strategy) return;
  // A prepared run forks every fork's sandbox at once: waves would leave later waves' sandboxes idle.
  if (request.prepare) throw new InvalidInputError("strategy: an adaptive run cannot use prepare (it forks every fork's sandbox at once).", { field: "strategy" });
  if (strategy.initial > strategy.max) throw new InvalidInputError("strategy.initial: must be at most strategy.max.", { field: "strategy.initial" });
  if (strategy.until === "check_pass" && !request.check) throw new InvalidInputError("strategy.until: check_pass needs a check command (check).", { field: "strategy.until" });
  if (typeof strategy.until === "object" && !config.ANTHROPIC_API_KEY) throw new AgentUnavailableError();
  request.forks = strategy.max;
}
