/**
 * The shell command that takes a fork's work into a clone of the run's repository, on a local
 * branch named like the fork's work branch. A pushed branch is fetched as it is; a fork whose
 * branch lives nowhere but in its (released) sandbox is rebuilt from its stored patch: the base
 * branch is fetched (the branch is started at the run's `commit`, when it has one) and the patch applied with `--3way` (so a base branch that moved on since
 * merges, or stops with the conflicts marked) and committed. The command reads the API token
 * from `$FORKYARD_TOKEN` (and says so when it is unset): no secret is ever part of it.
 */

/** The environment variable the command reads the API token from (the CLI's too). */
const TOKEN_VARIABLE = "FORKYARD_TOKEN";

/** `value` as one shell word: bare when it is plainly safe, else single-quoted. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface FetchCommandInput {
  /** The run's repository (a URL, or a local path on the local stack). */
  repo: string;
  /** The fork's work branch. */
  branch: string;
  /** The branch was pushed to `repo` (runs with `push`). */
  pushed: boolean;
  /** The run's base branch (what a patch applies to). */
  baseBranch: string;
  /** The run's `commit` (on the base branch): the patch applies there. */
  baseCommit?: string;
  /** The absolute URL of the fork's patch (GET …/forks/:n/patch). */
  patchUrl: string;
  /** The commit message of the rebuilt commit. */
  message: string;
}

export function fetchCommand(input: FetchCommandInput): string {
  const { repo, branch } = input;
  if (input.pushed) return `git fetch ${shellWord(repo)} ${shellWord(`${branch}:${branch}`)}`;
  return [
    `git fetch ${shellWord(repo)} ${shellWord(input.baseBranch)}`,
    `git switch -c ${shellWord(branch)} ${input.baseCommit ? shellWord(input.baseCommit) : "FETCH_HEAD"}`,
    `curl -fsSL -H "Authorization: Bearer \${${TOKEN_VARIABLE}:?set ${TOKEN_VARIABLE} to a Forkyard API token}" ${shellWord(input.patchUrl)} | git apply --3way`,
    `git commit -qm ${shellWord(input.message)}`,
  ].join(" && ");
}
