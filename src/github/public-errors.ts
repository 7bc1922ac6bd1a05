/**
 * What a public GitHub comment says of an error: one fixed sentence per error code, never the
 * error's own message. Messages carry raw exception text (a command line, a remote's output, a
 * provider's answer) that is for the token holder, who reads it in `GET /v1/runs/:id`.
 */

const SENTENCES: Record<string, string> = {
  command_failed: "a task command exited with an error",
  clone_failed: "the repository could not be cloned",
  commit_not_found: "the run's base commit is not on its branch",
  prepare_failed: "the run's prepare commands failed",
  fork_timeout: "it ran past its timeout",
  stalled: "a command printed nothing and did not exit, and was stopped",
  budget_exceeded: "the run's budget was spent",
  cancelled: "it was cancelled",
  push_failed: "its branch could not be pushed",
  file_too_large: "a file was too large to push",
  push_repo_invalid: "the repository branches are pushed to (GITHUB_PUSH_REPO) could not take its branch",
  sandbox_unavailable: "the sandbox provider was unavailable",
  sandbox_error: "a sandbox operation failed",
  sandbox_gone: "its sandbox was lost",
  sandbox_auth_failed: "the sandbox provider refused this deployment's credentials",
  model_unavailable: "the model API was unavailable",
  model_request_failed: "a model request failed",
  model_auth_failed: "the model API refused this deployment's credentials",
  agent_unavailable: "agent tasks are not available on this deployment",
  agent_replay_mismatch: "its agent could not be resumed",
  claude_code_failed: "the Claude Code runtime failed",
  rate_limited: "a provider's rate limit was hit",
  provider_rate_limit: "a provider's rate limit was hit",
  github_error: "a GitHub API call failed",
  github_unavailable: "GitHub is not configured on this deployment",
  workflow_failed: "its workflow failed",
  internal_error: "Forkyard hit an internal error",
};

/** The public sentence for an error code (an unknown code gets a generic one). */
export function publicErrorSentence(code: string): string {
  return SENTENCES[code] ?? "it failed";
}

/** Where the full error is: said once in a comment that shows public sentences. */
export const ERROR_DETAILS_NOTE = "Error details are in the run's API view (`GET /v1/runs/:id`).";
