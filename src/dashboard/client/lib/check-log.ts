/**
 * A fork's check shown like a GitHub check log: one line with the verdict, the command, the exit
 * code and how long it took, folded when it passed and open when it failed; inside, its stdout and
 * stderr tails as text (written by the fork's code). The run view and the compare view carry the
 * last 4 KiB; "Show more" reads the fork's stored 64 KiB (GET …/forks/:n).
 */
import type { ForkView } from "./api-types.ts";
import { api, errorMessage } from "./api.ts";
import { h } from "./dom.ts";
import { fmtMs } from "./format.ts";

export type CheckResult = NonNullable<ForkView["check"]>;
type KeepOpen = (details: HTMLDetailsElement, key: string, defaultOpen: boolean) => HTMLDetailsElement;

/** What the run and compare views keep of each stream: a tail this long may have been cut. */
const VIEW_TAIL_CHARS = 4096;

export function checkLog(check: CheckResult, opts: { fork: number; forkPath: string; keepOpen?: KeepOpen }): HTMLDetailsElement {
  const body = h("div", { class: "check-body" }, streams(check));
  const cut = (check.stdoutTail?.length ?? 0) >= VIEW_TAIL_CHARS || (check.stderrTail?.length ?? 0) >= VIEW_TAIL_CHARS;
  if (cut) {
    const more = h("button", { type: "button", class: "small" }, "Show the last 64 KiB");
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const fork = await api<ForkView>(opts.forkPath);
        body.replaceChildren(...streams(fork.check ?? check));
      } catch (err) {
        more.disabled = false;
        body.append(h("p", { class: "bad-text" }, errorMessage(err)));
      }
    });
    body.append(h("p", { class: "muted more-log" }, "The last 4 KiB of each stream. ", more));
  }
  const verdict = check.passed ? "passed" : "failed";
  const facts = ["exit " + check.exitCode, check.durationMs !== undefined ? fmtMs(check.durationMs) : null, check.verified ? "fresh sandbox" : null].filter((x) => x !== null).join(" · ");
  const details = h(
    "details",
    { class: "cmd check-log", dataset: { check: verdict }, "aria-label": "Check of fork " + opts.fork + ": " + verdict },
    h("summary", null, h("span", { class: check.passed ? "ok-text" : "bad-text" }, (check.passed ? "✓ Check passed" : "✗ Check failed")), h("code", { title: check.command }, "$ " + check.command), h("span", { class: "exit" }, facts)),
    body,
  );
  return opts.keepOpen ? opts.keepOpen(details, "check-" + opts.fork, !check.passed) : Object.assign(details, { open: !check.passed });
}

function streams(check: CheckResult): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (check.stdoutTail) out.push(h("div", { class: "stream-label" }, "stdout"), h("pre", { class: "tail" }, check.stdoutTail));
  if (check.stderrTail) out.push(h("div", { class: "stream-label" }, "stderr"), h("pre", { class: "tail stderr" }, check.stderrTail));
  if (!out.length) out.push(h("pre", { class: "tail muted" }, "(no output)"));
  return out;
}
