/**
 * Pushing a fork's branch from inside its sandbox, with the GitHub token kept out of every URL,
 * command line, file, git config and output:
 *
 * - The token arrives as an environment variable of the one command (the e2b SDK sends `envs` in
 *   the request body), is moved into an unexported shell variable at once and handed only to the
 *   final `git push`, whose credential helper is inline `-c` config that reads it from the
 *   environment (`password=$FORKYARD_GIT_TOKEN` is expanded by the helper's shell, not by us).
 *   The helper answers only `get`, only for the GitHub origin (`credential.<origin>.helper`), and
 *   every other helper is cleared first (`credential.helper=`).
 * - The push does not run in the fork's work tree, whose `.git` the task could have changed
 *   (hooks, `insteadOf` rewrites, proxies, credential helpers): the branch is first fetched into
 *   a fresh, empty bare repository (no hooks, no config; system and global config ignored), and
 *   pushed from there to the run's repo URL given by Forkyard, never to the clone's `origin`.
 * - Pushing is idempotent: the same commit again is "up to date"; Forkyard's own branches
 *   (`forkyard/<runId>/<n>`) are force-pushed, so a relaunched fork's new commit replaces them.
 */
import { REPO_DIR } from "../sandbox/git";

export const PUSH_SCRIPT = [
  "set -eu",
  'token="${FORKYARD_GIT_TOKEN:-}"',
  "unset FORKYARD_GIT_TOKEN",
  "export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false",
  "unset GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT GIT_DIR GIT_WORK_TREE GIT_SSH GIT_SSH_COMMAND GIT_PROXY_COMMAND || true",
  'push_dir="$(mktemp -d)"',
  "trap 'rm -rf \"$push_dir\"' EXIT",
  'git init --quiet --bare --template= "$push_dir"',
  'git --git-dir="$push_dir" fetch --quiet --no-tags "$FORKYARD_DIR" "+refs/heads/$FORKYARD_WORK_BRANCH:refs/heads/$FORKYARD_WORK_BRANCH"',
  'refspec="refs/heads/$FORKYARD_WORK_BRANCH:refs/heads/$FORKYARD_WORK_BRANCH"',
  'if [ "${FORKYARD_PUSH_FORCE:-}" = 1 ]; then refspec="+$refspec"; fi',
  'if [ -n "${FORKYARD_CREDENTIAL_URL:-}" ]; then',
  '  FORKYARD_GIT_TOKEN="$token" git --git-dir="$push_dir" -c credential.helper= \\',
  "    -c \"credential.$FORKYARD_CREDENTIAL_URL.helper=\"'!f() { test \"$1\" = get || return 0; echo username=x-access-token; echo \"password=$FORKYARD_GIT_TOKEN\"; }; f' \\",
  '    push --no-progress "$FORKYARD_PUSH_URL" "$refspec"',
  "else",
  '  git --git-dir="$push_dir" push --no-progress "$FORKYARD_PUSH_URL" "$refspec"',
  "fi",
  'git --git-dir="$push_dir" rev-parse "refs/heads/$FORKYARD_WORK_BRANCH"',
].join("\n");

export interface PushEnvInput {
  url: string;
  credentialUrl?: string;
  token?: string;
  workBranch: string;
  force: boolean;
}

/** The push command's environment: every value travels here, none in the script. */
export function pushEnv(input: PushEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    FORKYARD_DIR: REPO_DIR,
    FORKYARD_PUSH_URL: input.url,
    FORKYARD_WORK_BRANCH: input.workBranch,
    FORKYARD_PUSH_FORCE: input.force ? "1" : "0",
  };
  if (input.credentialUrl && input.token) {
    env.FORKYARD_CREDENTIAL_URL = input.credentialUrl;
    env.FORKYARD_GIT_TOKEN = input.token;
  }
  return env;
}
