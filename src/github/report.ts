/**
 * What a GitHub run reports when it ends: which forks get a pull request (ranking), the pull
 * requests' text, and the summary comment on the issue. Pure functions over a small snapshot of
 * the run, so the report Workflow's steps stay deterministic and their results small.
 */
import type { RunPick } from "../api/pick-responses";
import { compareForks } from "../runs/ranking";
import { ERROR_DETAILS_NOTE, publicErrorSentence } from "./public-errors";
import type { ForkStatus, GitHubTarget, RunStatus, RunView } from "../api/runs";

export interface ReportFork {
  n: number;
  status: ForkStatus;
  branch: string;
  pushed?: { branch: string; sha: string };
  check?: { passed: boolean; exitCode: number };
  diff?: { files: number; insertions: number; deletions: number };
  costUsd: number;
  /** Its error's code only: the message stays in the API (the comment shows public-errors.ts's sentence). */
  error?: { code: string };
  summary?: string;
  /** The LLM judge's score, 0-10 (runs with judge.llm). */
  score?: number;
  /** Its place in the judging's tournament (judge.mode tournament): the best PR follows it, as the run's ranking does. */
  place?: number;
}

export interface ReportSnapshot extends RunSnapshot {
  github: GitHubTarget;
}

/** What the report knows of any run; a run with a `github` target is a ReportSnapshot. */
export interface RunSnapshot {
  runId: string;
  status: RunStatus;
  baseBranch: string;
  title: string;
  checkCommand?: string;
  github?: GitHubTarget;
  /** The latest pick of a fork (src/actions/pick.ts). */
  picked?: RunPick;
  forks: ReportFork[];
  totals: { succeeded: number; failed: number; cancelled: number; budgetExceeded: number; costUsd: number };
}

export interface OpenedPullRequest {
  n: number;
  number: number;
  url: string;
}

export type PullRequestResult = OpenedPullRequest | { n: number; error: string };

const SUMMARY_CHARS = 600;
const TITLE_CHARS = 80;
/** GitHub refuses comments over 65,536 characters. */
const MAX_COMMENT_CHARS = 60_000;

/** The hidden marker that identifies a run's summary comment (found again to update it). */
export function commentMarker(runId: string): string {
  return `<!-- forkyard:run:${runId} -->`;
}

/** Any Forkyard summary comment (never a trigger). */
export const MARKER_PREFIX = "<!-- forkyard:";

function firstLine(text: string): string {
  return (text.split("\n").find((line) => line.trim() !== "") ?? "").trim();
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The small part of a run view the report needs. */
export function reportSnapshot(view: RunView): ReportSnapshot {
  const github = view.request.github;
  if (!github) throw new Error(`Run ${view.id} has no github target.`);
  return { ...runSnapshot(view), github };
}

/** The small part of a run view a pull request's text needs (any run: see reportSnapshot). */
export function runSnapshot(view: RunView): RunSnapshot {
  const task = view.request.task;
  const title = "prompt" in task ? clip(firstLine(task.prompt), TITLE_CHARS) : clip(firstLine(task.commands.join("; ")), TITLE_CHARS);
  const snapshot: RunSnapshot = {
    runId: view.id,
    status: view.status,
    baseBranch: view.request.branch,
    title,
    ...(view.request.github ? { github: view.request.github } : {}),
    ...(view.picked ? { picked: view.picked } : {}),
    forks: view.forks.map((f) => {
      const fork: ReportFork = { n: f.n, status: f.status, branch: f.branch, costUsd: f.costUsd.total };
      if (f.pushed) fork.pushed = f.pushed;
      if (f.check) fork.check = { passed: f.check.passed, exitCode: f.check.exitCode };
      if (f.diff) fork.diff = { files: f.diff.files, insertions: f.diff.insertions, deletions: f.diff.deletions };
      if (f.error) fork.error = { code: f.error.code };
      if (f.agent?.summary) fork.summary = clip(f.agent.summary, SUMMARY_CHARS);
      const score = view.judging?.status === "done" ? view.judging.scores.find((s) => s.n === f.n)?.score : undefined;
      if (score !== undefined && score !== null) fork.score = score;
      const place = view.judging?.status === "done" ? (view.judging.tournament?.order.indexOf(f.n) ?? -1) : -1;
      if (place >= 0) fork.place = place + 1;
      return fork;
    }),
    totals: {
      succeeded: view.totals.succeeded,
      failed: view.totals.failed,
      cancelled: view.totals.cancelled,
      budgetExceeded: view.totals.budgetExceeded,
      costUsd: view.totals.costUsd.total,
    },
  };
  if (view.request.check) snapshot.checkCommand = view.request.check;
  return snapshot;
}

/**
 * Pushed forks, best first (src/runs/ranking.ts): a passed check before no check before a failed
 * one, then the smaller diff (files + insertions + deletions), then the lower cost and fork number.
 */
export function rankForks(forks: ReportFork[]): ReportFork[] {
  return forks.filter((f) => f.status === "succeeded" && f.pushed).sort((a, b) => compareForks({ ...a, cost: a.costUsd }, { ...b, cost: b.costUsd }));
}

/**
 * The best pushed fork; none when the run has a check and no pushed fork passed it (a failed
 * check ranks last, so the first one tells). Without a check the best is the smallest diff.
 */
export function bestFork(snapshot: RunSnapshot): ReportFork | undefined {
  const best = rankForks(snapshot.forks)[0];
  return best && (!snapshot.checkCommand || best.check?.passed === true) ? best : undefined;
}

/** The forks that get a pull request, by the run's policy (`best`: nothing when no fork passed the run's check). */
export function pullRequestPlan(snapshot: ReportSnapshot): ReportFork[] {
  switch (snapshot.github.pullRequests) {
    case "none":
      return [];
    case "each":
      return rankForks(snapshot.forks).sort((a, b) => a.n - b.n);
    default: {
      const best = bestFork(snapshot);
      return best ? [best] : [];
    }
  }
}

function escapeCell(text: string): string {
  return text.replace(/\s+/g, " ").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|").trim();
}

/** Quotes untrusted multi-line text (so none of its lines can start a `/fork` command). */
function quote(text: string): string {
  return text
    .split("\n")
    .map((line) => `> ${line.replace(/</g, "&lt;")}`)
    .join("\n");
}

export function formatUsd(usd: number): string {
  if (usd === 0) return "$0";
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

function diffCell(fork: ReportFork): string {
  if (!fork.diff) return "—";
  if (fork.diff.files === 0) return "no changes";
  return `${fork.diff.files} file${fork.diff.files === 1 ? "" : "s"} +${fork.diff.insertions} −${fork.diff.deletions}`;
}

function checkCell(fork: ReportFork): string {
  if (!fork.check) return "—";
  return fork.check.passed ? "✅ passed" : `❌ failed (exit ${fork.check.exitCode})`;
}

const STATUS_ICONS: Record<ForkStatus, string> = {
  queued: "⏳",
  running: "⏳",
  succeeded: "✅",
  failed: "❌",
  cancelled: "⏹️",
  timed_out: "⏱️",
  budget_exceeded: "💸",
};

/** A fork's status, and for one that failed its error code and a fixed public sentence (never its message: public-errors.ts). */
function statusCell(fork: ReportFork): string {
  const base = `${STATUS_ICONS[fork.status]} ${fork.status.replace("_", " ")}`;
  if (!fork.error || fork.status === "succeeded") return base;
  return `${base}: \`${escapeCell(fork.error.code)}\` ${publicErrorSentence(fork.error.code)}`;
}

function branchUrl(webOrigin: string, repository: { owner: string; repo: string }, branch: string): string {
  return `${webOrigin}/${repository.owner}/${repository.repo}/tree/${branch.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * A pull request's title and body for one fork: the best one, or one of each, of the report; or
 * `picked` by a person (src/actions/pick.ts), of any run, which names its fork in the title too.
 */
export function renderPullRequest(snapshot: RunSnapshot, fork: ReportFork, best: boolean, picked = false): { title: string; body: string } {
  const issue = snapshot.github ? `#${snapshot.github.issueNumber}` : null;
  const namesFork = picked || snapshot.github?.pullRequests === "each";
  const title = `Forkyard${issue ? ` ${issue}` : ""}: ${snapshot.title || `fork ${fork.n}`}${namesFork ? ` (fork ${fork.n})` : ""}`;
  const why = [best && snapshot.forks.length > 1 ? `the best fork: ${bestReason(fork)}` : "", picked ? "picked" : ""].filter(Boolean).join("; ");
  const lines = [
    `Fork **${fork.n}** of ${snapshot.forks.length} of Forkyard run \`${snapshot.runId}\`${issue ? `, for ${issue}` : ""}${why ? ` (${why})` : ""}.`,
    "",
    `- Check: ${snapshot.checkCommand ? `${checkCell(fork)} (\`${snapshot.checkCommand.replace(/`/g, "'")}\`)` : "—"}`,
    `- Diff: ${diffCell(fork)}`,
    `- Cost: ${formatUsd(fork.costUsd)}`,
    `- Commit: ${fork.pushed?.sha ?? "—"}`,
  ];
  if (fork.summary) lines.push("", "<details><summary>Agent summary</summary>", "", quote(fork.summary), "", "</details>");
  if (issue) lines.push("", `Refs ${issue}`);
  lines.push("", commentMarker(snapshot.runId).replace("run:", `run-pr:`));
  return { title: clip(title, 250), body: lines.join("\n") };
}

function bestReason(fork: ReportFork): string {
  const check = fork.check ? (fork.check.passed ? "check passed" : "check failed") : "no check";
  return `${check}${fork.score !== undefined ? `, score ${fork.score}/10` : ""}, ${diffCell(fork)}`;
}

/** The issue comment: a table of every fork, with the pull requests opened; branches link to `pushedTo` (GITHUB_PUSH_REPO) or the issue's repository. */
export function renderSummary(snapshot: ReportSnapshot, prs: PullRequestResult[], webOrigin: string, pushedTo: { owner: string; repo: string } = snapshot.github): string {
  const best = snapshot.github.pullRequests === "each" ? undefined : bestFork(snapshot);
  const noneOpened = snapshot.github.pullRequests === "best" && !best && rankForks(snapshot.forks).length > 0;
  const byFork = new Map(prs.map((pr) => [pr.n, pr]));
  const t = snapshot.totals;
  const counts = [`${t.succeeded} succeeded`, t.failed ? `${t.failed} failed` : "", t.cancelled ? `${t.cancelled} cancelled` : "", t.budgetExceeded ? `${t.budgetExceeded} over budget` : ""]
    .filter(Boolean)
    .join(", ");
  const lines = [
    commentMarker(snapshot.runId),
    `### Forkyard run \`${snapshot.runId}\`: ${snapshot.status.replace("_", " ")}`,
    "",
    `${snapshot.forks.length} fork${snapshot.forks.length === 1 ? "" : "s"} on \`${snapshot.baseBranch}\` (${counts}) · total cost ${formatUsd(t.costUsd)}${snapshot.checkCommand ? ` · check \`${snapshot.checkCommand.replace(/`/g, "'").replace(/\s+/g, " ")}\`` : ""}`,
    "",
  ];
  // The judge's scores get a column when the run was judged (judge.llm).
  const scored = snapshot.forks.some((f) => f.score !== undefined);
  lines.push(scored ? "| Fork | Status | Check | Score | Diff | Cost | Branch / PR |" : "| Fork | Status | Check | Diff | Cost | Branch / PR |");
  lines.push(scored ? "|---:|---|---|---:|---|---:|---|" : "|---:|---|---|---|---:|---|");
  for (const fork of snapshot.forks) {
    const pr = byFork.get(fork.n);
    const links: string[] = [];
    if (fork.pushed) links.push(`[\`${fork.pushed.branch}\`](${branchUrl(webOrigin, pushedTo, fork.pushed.branch)})`);
    if (pr && "number" in pr) links.push(`[#${pr.number}](${pr.url})`);
    if (pr && "error" in pr) links.push("pull request not opened");
    if (!fork.pushed && fork.status === "succeeded") links.push(fork.diff?.files === 0 ? "nothing to push" : "not pushed");
    const star = `${best?.n === fork.n ? " ⭐" : ""}${snapshot.picked?.n === fork.n ? " 👉" : ""}`;
    const score = scored ? ` ${fork.score === undefined ? "—" : `${fork.score}/10`} |` : "";
    lines.push(`| ${fork.n}${star} | ${statusCell(fork)} | ${checkCell(fork)} |${score} ${diffCell(fork)} | ${formatUsd(fork.costUsd)} | ${links.join(" · ") || "—"} |`);
  }
  if (best) {
    const pr = byFork.get(best.n);
    lines.push("", `⭐ Best: fork ${best.n} (${bestReason(best)})${pr && "number" in pr ? ` → #${pr.number}` : ""}.`);
  }
  if (noneOpened) lines.push("", "No pushed fork passed the check: no pull request was opened (pick one with `/pick <n>`).");
  if (snapshot.forks.some((f) => f.error && f.status !== "succeeded") || prs.some((pr) => "error" in pr)) lines.push("", ERROR_DETAILS_NOTE);
  const picked = snapshot.picked;
  if (picked) {
    lines.push("", `👉 Picked: fork ${picked.n}${picked.by ? ` by ${picked.by}` : ""}${picked.pullRequest ? ` → [#${picked.pullRequest.number}](${picked.pullRequest.url})` : ""}.`);
  }
  const summaries = snapshot.forks.filter((f) => f.summary);
  if (summaries.length > 0) {
    lines.push("", "<details><summary>Agent summaries</summary>", "");
    let length = lines.join("\n").length;
    for (const [i, fork] of summaries.entries()) {
      const entry = [`**Fork ${fork.n}**`, "", quote(fork.summary ?? ""), ""];
      length += entry.join("\n").length;
      if (length > MAX_COMMENT_CHARS) {
        lines.push(`(${summaries.length - i} more omitted)`, "");
        break;
      }
      lines.push(...entry);
    }
    lines.push("</details>");
  }
  return lines.join("\n");
}
