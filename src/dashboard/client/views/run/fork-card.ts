/**
 * One fork of the run page: status, branch, elapsed, cost, current step, check, diff, sandbox; its
 * step timeline (bar widths proportional to durations); agent summary and transcript; command
 * output tails; the running step's live output; the check's log; files and patch; error.
 */
import type { ForkView, RunView, StepView } from "../../lib/api-types.ts";
import { runPath } from "../../lib/api.ts";
import { badge, cls, h, human, type Child } from "../../lib/dom.ts";
import { fmtInt, fmtMs, fmtUsd, plural } from "../../lib/format.ts";
import { elapsedEl } from "../../lib/page.ts";
import { filesBlock } from "./fork-files.ts";
import { isFinished, isForkTerminal } from "./run-status.ts";
import { forkBadgeStatus } from "../../lib/fork-labels.ts";
import { checkLog } from "../../lib/check-log.ts";
import { transcriptBlock, type TranscriptCache } from "./fork-transcript.ts";
import type { LiveOutputs } from "./live-output.ts";

export type KeepOpen = (details: HTMLDetailsElement, key: string, defaultOpen: boolean) => HTMLDetailsElement;

export interface ForkCardContext {
  run: RunView;
  keepOpen: KeepOpen;
  /** What the page has read of agent forks' transcripts. */
  transcripts: TranscriptCache;
  /** Posts an action and shows the run it answers. */
  act(label: string, path: string, body?: unknown): Promise<void>;
  /** Running steps' live output. */
  live?: LiveOutputs;
}

export function forkCard(f: ForkView, ctx: ForkCardContext): HTMLElement {
  const { run } = ctx;
  const cost = f.costUsd;
  const running = f.steps.filter((s) => s.status === "running");
  const current = running.at(-1) ?? null;
  const terminal = isForkTerminal(f.status) && !(f.status === "budget_exceeded" && run.status === "budget_exceeded");
  let cancel: HTMLButtonElement | null = null;
  if (!terminal && !isFinished(run)) {
    const button = h("button", { type: "button", class: "small danger", "aria-label": "Cancel fork " + f.n }, "Cancel fork");
    button.addEventListener("click", async () => {
      if (!confirm("Cancel fork " + f.n + "?")) return;
      button.disabled = true;
      await ctx.act("Fork " + f.n + " cancelled.", runPath(run.id) + "/forks/" + f.n + "/cancel");
      button.disabled = false;
    });
    cancel = button;
  }
  const facts: HTMLElement[] = [];
  const fact = (label: string, ...value: Child[]) => facts.push(h("div", null, h("dt", null, label), h("dd", null, value)));
  if (f.status === "running") fact("Current step", current ? h("code", null, current.name) : "between steps", current && current.attempts > 1 ? " (attempt " + current.attempts + ")" : "");
  if (f.parent) fact("Branched from", h("a", { href: "#fork-" + f.parent.n + "-title" }, "fork " + f.parent.n), f.parent.turn === null ? " (at its next step boundary)" : " after " + plural(f.parent.turn, "commands" in run.request.task ? "command" : "model call"));
  // A branch at an earlier step: how that step's workspace was rebuilt (the commands re-run are the parent's: text only).
  if (f.parent?.atStep) fact("Rebuilt", "before ", h("code", null, f.parent.atStep), f.parent.rebuiltFrom === "snapshots" ? " from its step snapshots" : " by replaying its journal", f.parent.rerun?.length ? h("span", { class: "muted", title: f.parent.rerun.join("\n") }, " (" + plural(f.parent.rerun.length, "command") + " re-run)") : "");
  if (f.merge) fact("Merges", ...mergeSources(f.merge));
  if (run.picked?.n === f.n) fact("Picked", run.picked.pullRequest ? h("a", { href: run.picked.pullRequest.url, target: "_blank", rel: "noopener noreferrer" }, "#" + run.picked.pullRequest.number) : "yes", run.picked.by ? " by " + run.picked.by : "");
  fact("Steps", String(f.steps.length));
  fact("Attempts", String(f.attempts));
  fact("Cost", fmtUsd(cost.total), h("span", { class: "muted" }, " (sandbox " + fmtUsd(cost.sandbox) + " · LLM " + fmtUsd(cost.llm) + ")"));
  if (f.check) fact("Check", ...checkOutcome(f.check));
  if (f.diff) fact("Diff", ...diffStats(f.diff));
  if (f.sandboxId) fact("Sandbox", h("code", null, f.sandboxId));

  return h(
    "article",
    { class: "card fork", tabindex: "-1", dataset: { fork: String(f.n), status: f.status, ...(f.check ? { check: f.check.passed ? "passed" : "failed" } : {}) }, "aria-labelledby": "fork-" + f.n + "-title" },
    h(
      "header",
      { class: "fork-head" },
      h("h3", { id: "fork-" + f.n + "-title" }, "Fork " + f.n),
      badge(forkBadgeStatus(f)),
      h("span", { class: "branch mono", title: f.branch }, f.branch),
      h(
        "span",
        { class: "right" },
        h("span", { title: "Elapsed" }, h("span", { class: "sr-only" }, "Elapsed "), elapsedEl(f.startedAt, f.finishedAt)),
        h("span", { title: "Total cost" }, h("span", { class: "sr-only" }, "Cost "), fmtUsd(cost.total)),
        cancel,
      ),
    ),
    h("dl", { class: "facts" }, facts),
    f.steps.length ? timeline(f, ctx.keepOpen) : h("p", { class: "muted" }, f.status === "queued" ? "Waiting to start." : "No steps yet."),
    agentBlock(f),
    transcriptBlock(run, f, ctx.keepOpen, ctx.transcripts),
    commandsBlock(f, ctx.keepOpen),
    ctx.live?.block(f) ?? null,
    f.check ? h("div", { class: "output" }, checkLog(f.check, { fork: f.n, forkPath: runPath(run.id) + "/forks/" + f.n, keepOpen: ctx.keepOpen })) : null,
    filesBlock(run, f, ctx.keepOpen),
    f.error ? h("div", { class: "error-box", role: "note" }, h("code", null, f.error.code), ": ", f.error.message) : null,
  );
}

/** A merge fork's sources, each linked, with the hunks of its patch that survived in the merge (once computed from the patches). */
function mergeSources(merge: NonNullable<ForkView["merge"]>): Child[] {
  const kept = new Map((merge.provenance?.forks ?? []).map((p) => [p.n, p]));
  return merge.forks.flatMap((n, i) => {
    const p = kept.get(n);
    const share = p ? " (" + p.survived + " of " + plural(p.total, "hunk") + " survived, " + Math.round(p.share * 100) + " %)" : "";
    return [i > 0 ? ", " : "", h("a", { href: "#fork-" + n + "-title" }, "fork " + n), share];
  });
}

/** "passed (exit 0)" / "failed (exit n)", colored. */
export function checkOutcome(check: { passed: boolean; exitCode: number }): Child[] {
  return [h("span", { class: check.passed ? "ok-text" : "bad-text" }, check.passed ? "passed" : "failed"), " (exit " + check.exitCode + ")"];
}

/** "<files> files +<insertions> −<deletions>", the counts colored. */
export function diffStats(diff: { files: number; insertions: number; deletions: number }): Child[] {
  return [diff.files + " files ", h("span", { class: "ok-text" }, "+" + diff.insertions), " ", h("span", { class: "bad-text" }, "−" + diff.deletions)];
}

function timeline(f: ForkView, keepOpen: KeepOpen): Child[] {
  const durations = f.steps.map((s) => (typeof s.durationMs === "number" ? s.durationMs : null));
  const known = durations.filter((d): d is number => d !== null);
  const total = known.reduce((a, b) => a + b, 0);
  // A running step has no duration yet: draw it as wide as the average step (at least something).
  const runningGrow = Math.max(total / Math.max(known.length, 1), 1);
  const bar = h("div", { class: "timeline", "aria-hidden": "true" });
  f.steps.forEach((s, i) => {
    const seg = h("div", { class: "seg st-" + cls(s.status) + (s.attempts > 1 ? " retried" : ""), title: stepTitle(s) }, h("span", null, s.name));
    const duration = durations[i] ?? null;
    seg.style.setProperty("flex-grow", String(duration === null ? runningGrow : Math.max(duration, 1)));
    bar.append(seg);
  });
  const chips = h(
    "ol",
    { class: "steps", "aria-label": "Steps of fork " + f.n },
    f.steps.map((s) =>
      h(
        "li",
        { class: "st-" + cls(s.status), title: stepTitle(s) },
        h("span", { class: "name" }, s.name),
        h("span", null, s.status === "running" ? "running" : fmtMs(s.durationMs)),
        s.status === "failed" ? h("span", { class: "sr-only" }, "failed") : null,
        s.attempts > 1 ? h("span", { class: "att", title: s.attempts + " attempts" }, "×" + s.attempts) : null,
      ),
    ),
  );
  const list = f.steps.length <= 14 ? chips : keepOpen(h("details", { class: "more" }, h("summary", null, "All " + f.steps.length + " steps"), chips), "steps-" + f.n, false);
  return [bar, list];
}

function stepTitle(s: StepView): string {
  return s.name + " — " + s.status + (s.durationMs !== null ? " — " + fmtMs(s.durationMs) : "") + " — " + s.attempts + (s.attempts === 1 ? " attempt" : " attempts");
}

function agentBlock(f: ForkView): HTMLElement | null {
  const a = f.agent;
  if (!a) return null;
  const t = a.tokens;
  return h(
    "div",
    { class: "output" },
    h(
      "section",
      { class: "agent", "aria-label": "Agent" },
      h("div", null, h("strong", null, "Agent"), h("span", { class: "muted" }, " · " + a.model + " · " + a.turns + " turns · " + a.toolCalls + " tool calls · stop: " + human(a.stopReason))),
      h("div", { class: "muted" }, "Tokens: " + fmtInt(t.input) + " in · " + fmtInt(t.output) + " out · " + fmtInt(t.cacheRead) + " cache read · " + fmtInt(t.cacheWrite) + " cache write"),
      a.summary ? h("p", { class: "summary" }, a.summary) : null,
    ),
  );
}

function commandsBlock(f: ForkView, keepOpen: KeepOpen): HTMLElement | null {
  if (f.commands.length === 0) return null;
  const lastIndex = f.commands.length - 1;
  return h(
    "div",
    { class: "output" },
    f.commands.map((c, i) => {
      const failed = c.exitCode !== 0;
      const streams: HTMLElement[] = [];
      if (c.stdoutTail) streams.push(h("div", { class: "stream-label" }, "stdout"), h("pre", { class: "tail" }, c.stdoutTail));
      if (c.stderrTail) streams.push(h("div", { class: "stream-label" }, "stderr"), h("pre", { class: "tail stderr" }, c.stderrTail));
      if (!streams.length) streams.push(h("pre", { class: "tail muted" }, "(no output)"));
      return keepOpen(
        h(
          "details",
          { class: "cmd" },
          h("summary", null, h("code", { title: c.command }, "$ " + c.command), h("span", { class: "exit" }, h("span", { class: failed ? "bad-text" : "ok-text" }, "exit " + c.exitCode), " · " + fmtMs(c.durationMs))),
          streams,
        ),
        "cmd-" + f.n + "-" + i,
        failed || i === lastIndex || f.commands.length <= 3,
      );
    }),
  );
}
