/**
 * Which GitHub events start a run, and the run request each one makes (or, for a `/pick k`
 * comment, the pick it asks for: src/webhooks/pick-reply.ts). Pure: the webhook route
 * verifies, parses and then asks this; the outside calls (the actor's permission, a pull
 * request's head branch) are passed in. Only people with write access start runs, within the
 * deployment's caps (GITHUB_MAX_FORKS, GITHUB_MAX_BUDGET_USD, GITHUB_COMMENT_CHECK).
 */
import type { IssueCommentCreatedEvent, IssuesLabeledEvent, PingEvent, Repository, User } from "@octokit/webhooks-types";
import type { Config } from "../core/env";
import { findCommandLine } from "./command-line";
import { parseForkCommand, type ForkCommand } from "./fork-command";
import { parsePickCommand, parseReforkCommand, type ReforkCommandParse } from "./thread-commands";
import { writtenBy } from "./identity";
import { canWrite } from "./permissions";
import { MARKER_PREFIX } from "./report";

export type TriggerKind = "label" | "comment";

export type TriggerDecision =
  | { kind: "ping"; zen: string | null; hookId: number | null }
  | { kind: "ignored"; reason: string }
  | { kind: "run"; trigger: TriggerKind; request: Record<string, unknown>; ignoredFlags: { flag: string; reason: string }[]; notes: string[] }
  | { kind: "pick"; pick: PickTrigger }
  | { kind: "refork"; refork: ReforkTrigger };

/** A `/pick k` comment by someone with write access: take fork k of the thread's latest run. */
export interface PickTrigger {
  owner: string;
  repo: string;
  issueNumber: number;
  fork: number;
  login: string;
  /** The `/pick` comment's id: its reply is found again by it (a redelivery updates, never repeats). */
  commentId: number;
}

/** A `/refork k [prompt]` comment by someone with write access: branch fork k of the thread's latest run. */
export interface ReforkTrigger extends PickTrigger {
  prompt?: string;
}

export interface TriggerInput {
  event: string;
  deliveryId: string;
  payload: unknown;
  config: Pick<Config, "GITHUB_TRIGGERS" | "GITHUB_TRIGGER_LABEL" | "GITHUB_MAX_FORKS" | "GITHUB_MAX_BUDGET_USD" | "GITHUB_COMMENT_CHECK">;
  /** The login's role on the repository (admin, maintain, write, triage, read, none); absent without a token. */
  roleOf?: (owner: string, repo: string, login: string) => Promise<string>;
  /** Forkyard's own login (identity.ts): a comment with a hidden marker is its own only when this login wrote it. */
  ownLogin?: () => Promise<string>;
  /** Looks up a same-repo pull request's head branch (for `/fork` on a pull request). */
  pullRequestHead?: (owner: string, repo: string, number: number) => Promise<{ ref: string; sameRepo: boolean }>;
}

function ignored(reason: string): TriggerDecision {
  return { kind: "ignored", reason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function issuePrompt(issue: { title: string; body?: string | null }): string {
  return [issue.title.trim(), (issue.body ?? "").trim()].filter((part) => part !== "").join("\n\n");
}

function baseRequest(repository: Repository, issueNumber: number, installationId: number | undefined, metadata: Record<string, string | undefined>) {
  const github: Record<string, unknown> = { owner: repository.owner.login, repo: repository.name, issueNumber };
  if (installationId !== undefined) github.installationId = installationId;
  return {
    repo: repository.clone_url,
    branch: repository.default_branch,
    push: true,
    github,
    metadata: Object.fromEntries(Object.entries(metadata).flatMap(([k, v]) => (typeof v === "string" && v !== "" ? [[k, v.slice(0, 512)]] : []))),
  };
}

/** Why `login` may not start a run (or `action`) on the repository, or null when they may (write access or above). */
async function refusal(input: TriggerInput, repository: Repository, login: string | undefined, what: string, action = "start runs"): Promise<string | null> {
  if (!login) return `The ${what} has no sender.`;
  if (!input.roleOf) return `The permission of ${login} cannot be checked: this deployment has no GITHUB_TOKEN.`;
  const role = await input.roleOf(repository.owner.login, repository.name, login);
  if (canWrite(role)) return null;
  return `${login} has ${role} access to ${repository.owner.login}/${repository.name}: only people with write access can ${action}.`;
}

/** Whether Forkyard wrote a comment; without a token to ask who it is, any marked comment counts as its own (nothing can be started then anyway). */
async function isOwnComment(input: TriggerInput, author: string | undefined): Promise<boolean> {
  return input.ownLogin ? writtenBy(author, await input.ownLogin()) : true;
}

function isBot(user: User | null | undefined): boolean {
  return user?.type === "Bot" || /\[bot\]$/.test(user?.login ?? "");
}

/** The fields a triggering payload must have (GitHub always sends them; a signed odd payload is ignored, not a 500). */
function hasIssueAndRepository(payload: Record<string, unknown>): boolean {
  const repository = payload.repository;
  const issue = payload.issue;
  return (
    isRecord(repository) &&
    isRecord(repository.owner) &&
    typeof repository.owner.login === "string" &&
    typeof repository.name === "string" &&
    typeof repository.clone_url === "string" &&
    typeof repository.default_branch === "string" &&
    isRecord(issue) &&
    typeof issue.number === "number" &&
    typeof issue.title === "string"
  );
}

/** Decides what a verified, parsed GitHub delivery does. */
export async function decideTrigger(input: TriggerInput): Promise<TriggerDecision> {
  const { event, payload } = input;
  if (event === "ping") {
    const ping = payload as Partial<PingEvent>;
    return { kind: "ping", zen: typeof ping.zen === "string" ? ping.zen : null, hookId: typeof ping.hook_id === "number" ? ping.hook_id : null };
  }
  if (!isRecord(payload)) return ignored("The payload is not a JSON object.");
  const action = typeof payload.action === "string" ? payload.action : "";
  const what = action ? `${event}.${action}` : event;
  if (event === "issues") return labelDecision(input, payload, action, what);
  if (event === "issue_comment") return commentDecision(input, payload, action, what);
  return ignored(`${what} events are not triggers (subscribe to Issues and Issue comments).`);
}

const malformed = (what: string) => ignored(`The ${what} payload lacks its repository (owner, name, clone_url, default_branch) or issue (number, title).`);

/** `issues.labeled` with the trigger label: a one-fork run on the issue. */
async function labelDecision(input: TriggerInput, payload: Record<string, unknown>, action: string, what: string): Promise<TriggerDecision> {
  const { config } = input;
  if (action !== "labeled") return ignored(`${what} is not a trigger (only issues.labeled and issue_comment.created are).`);
  if (!config.GITHUB_TRIGGERS.includes("label")) return ignored("Label triggers are disabled (GITHUB_TRIGGERS).");
  if (!hasIssueAndRepository(payload)) return malformed(what);
  const labeled = payload as unknown as IssuesLabeledEvent;
  const label = labeled.label?.name ?? "";
  if (label.toLowerCase() !== config.GITHUB_TRIGGER_LABEL.toLowerCase()) return ignored(`Label "${label}" is not the trigger label "${config.GITHUB_TRIGGER_LABEL}".`);
  if (labeled.issue.state === "closed") return ignored(`Issue #${labeled.issue.number} is closed.`);
  if (isBot(labeled.sender)) return ignored(`The label was added by a bot (${labeled.sender?.login}).`);
  const refused = await refusal(input, labeled.repository, labeled.sender?.login, "label");
  if (refused) return ignored(refused);
  const request = {
    ...baseRequest(labeled.repository, labeled.issue.number, labeled.installation?.id, {
      source: "github",
      githubEvent: what,
      githubDelivery: input.deliveryId,
      githubSender: labeled.sender?.login,
      githubIssueUrl: labeled.issue.html_url,
    }),
    task: { prompt: issuePrompt(labeled.issue) },
    forks: 1,
    budgetUsd: config.GITHUB_MAX_BUDGET_USD,
  };
  return { kind: "run", trigger: "label", request, ignoredFlags: [], notes: [] };
}

/** `issue_comment.created`: a `/fork` command starts a run; `/pick` and `/refork` act on the thread's run. */
async function commentDecision(input: TriggerInput, payload: Record<string, unknown>, action: string, what: string): Promise<TriggerDecision> {
  const { config } = input;
  if (action !== "created") return ignored(`${what} is not a trigger (only new comments are).`);
  if (!config.GITHUB_TRIGGERS.includes("comment")) return ignored("Comment triggers are disabled (GITHUB_TRIGGERS).");
  if (!hasIssueAndRepository(payload)) return malformed(what);
  const created = payload as unknown as IssueCommentCreatedEvent;
  if (!isRecord(created.comment)) return ignored("The issue_comment payload has no comment.");
  const body = typeof created.comment.body === "string" ? created.comment.body : "";
  if (body.includes(MARKER_PREFIX) && (await isOwnComment(input, created.comment.user?.login))) return ignored("This is a Forkyard report comment.");
  if (isBot(created.comment.user)) return ignored(`Comments from bots (${created.comment.user?.login}) are ignored.`);
  const first = findCommandLine(body)?.name;
  if (first === "pick" || first === "refork") return threadCommandDecision(input, created, body, first);
  const parsed = parseForkCommand(body);
  if (parsed.kind === "none") return ignored("The comment has no /fork command (nor /pick, /refork) at the start of a line.");
  const refused = await refusal(input, created.repository, created.comment.user?.login, "comment");
  if (refused) return ignored(refused);
  if (parsed.kind === "error") return ignored(`The /fork command is invalid: ${parsed.reason}.`);
  const command: ForkCommand = parsed.command;
  if (command.forks > config.GITHUB_MAX_FORKS) return ignored(`/fork ${command.forks}: runs from GitHub have at most ${config.GITHUB_MAX_FORKS} forks here (GITHUB_MAX_FORKS).`);
  if (command.budgetUsd !== undefined && command.budgetUsd > config.GITHUB_MAX_BUDGET_USD) {
    return ignored(`--budget ${command.budgetUsd}: runs from GitHub have a budget of at most $${config.GITHUB_MAX_BUDGET_USD} here (GITHUB_MAX_BUDGET_USD).`);
  }
  const { request, ignoredFlags, notes } = forkCommandRequest(input, created, command, what);
  if (created.issue.pull_request && input.pullRequestHead) notes.push(await forkFromPullRequestHead(input, created, request));
  return { kind: "run", trigger: "comment", request, ignoredFlags, notes };
}

/** The run a valid `/fork` comment asks for, with the flags this deployment ignores and notes on the defaults taken. */
function forkCommandRequest(input: TriggerInput, created: IssueCommentCreatedEvent, command: ForkCommand, what: string) {
  const { config } = input;
  const ignoredFlags = [...command.ignored];
  const notes: string[] = [];
  const request: Record<string, unknown> = {
    ...baseRequest(created.repository, created.issue.number, created.installation?.id, {
      source: "github",
      githubEvent: what,
      githubDelivery: input.deliveryId,
      githubSender: created.comment.user?.login,
      githubCommentUrl: created.comment.html_url,
    }),
    task: {
      prompt: command.prompt || issuePrompt(created.issue),
      ...(command.model ? { model: command.model } : {}),
      ...(command.maxTurns ? { maxTurns: command.maxTurns } : {}),
    },
    forks: command.forks,
  };
  if (!command.prompt) notes.push("No prompt after /fork: the issue's title and body are the prompt.");
  if (command.maxConcurrent !== undefined) request.maxConcurrent = command.maxConcurrent;
  request.budgetUsd = command.budgetUsd ?? config.GITHUB_MAX_BUDGET_USD;
  if (command.budgetUsd === undefined) notes.push(`No --budget: the run's budget is this deployment's cap, $${config.GITHUB_MAX_BUDGET_USD}.`);
  if (command.check !== undefined && config.GITHUB_COMMENT_CHECK) request.check = command.check;
  else if (command.check !== undefined) ignoredFlags.push({ flag: "--check", reason: "checks from comments are disabled on this deployment (GITHUB_COMMENT_CHECK)" });
  if (command.timeoutSeconds !== undefined) request.timeoutSeconds = command.timeoutSeconds;
  if (command.pullRequests !== undefined) (request.github as Record<string, unknown>).pullRequests = command.pullRequests;
  return { request, ignoredFlags, notes };
}

/** A `/fork` on a pull request forks from its head branch when it is in the same repository; the note says which base was taken. */
async function forkFromPullRequestHead(input: TriggerInput, created: IssueCommentCreatedEvent, request: Record<string, unknown>): Promise<string> {
  try {
    const head = await input.pullRequestHead!(created.repository.owner.login, created.repository.name, created.issue.number);
    if (!head.sameRepo) return `The pull request comes from another repository: forked from ${created.repository.default_branch} instead.`;
    request.branch = head.ref;
    return `Forked from the pull request's head branch ${head.ref}.`;
  } catch {
    return `The pull request's head branch could not be read: forked from ${created.repository.default_branch}.`;
  }
}

/** A comment whose first command is `/pick` or `/refork` (about fork k of the thread's run): the same permission rule as `/fork`. */
async function threadCommandDecision(input: TriggerInput, created: IssueCommentCreatedEvent, body: string, command: "pick" | "refork"): Promise<TriggerDecision> {
  const parsed = command === "pick" ? parsePickCommand(body) : parseReforkCommand(body);
  const login = created.comment.user?.login;
  const refused = await refusal(input, created.repository, login, "comment", command === "pick" ? "pick forks" : "branch forks");
  if (refused) return ignored(refused);
  if (parsed.kind !== "command") return ignored(`The /${command} command is invalid: ${parsed.kind === "error" ? parsed.reason : "no fork number"}.`);
  const trigger: PickTrigger = { owner: created.repository.owner.login, repo: created.repository.name, issueNumber: created.issue.number, fork: parsed.fork, login: login!, commentId: created.comment.id };
  if (command === "pick") return { kind: "pick", pick: trigger };
  const prompt = (parsed as Extract<ReforkCommandParse, { kind: "command" }>).prompt;
  return { kind: "refork", refork: { ...trigger, ...(prompt ? { prompt } : {}) } };
}
