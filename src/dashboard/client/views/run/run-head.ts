/** The run page's header: title, status, live indicator, actions, facts, the task and its check. */
import type { RunView } from "../../lib/api-types.ts";
import { runPath } from "../../lib/api.ts";
import { badge, h } from "../../lib/dom.ts";
import { fmtMs, fmtUsd } from "../../lib/format.ts";
import { elapsedEl, timeEl } from "../../lib/page.ts";
import { isFinished } from "./run-status.ts";

type Act = (label: string, path: string, body?: unknown) => Promise<void>;

/** A button that stays disabled while its action runs. */
export function actionButton(label: string, action: () => Promise<void>, className?: string): HTMLButtonElement {
  const button = h("button", { type: "button", class: className }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** The compare page is there once the forks can be compared: the run ended, or it has a ranking. */
export const canCompare = (run: RunView): boolean => isFinished(run) || run.ranking !== undefined;

export function runHead(run: RunView, liveEl: HTMLElement, act: Act, remove: () => Promise<void>): HTMLElement[] {
  const req = run.request;
  const task = req.task;
  const path = runPath(run.id);
  const buttons: HTMLElement[] = [];
  if (canCompare(run)) buttons.push(h("a", { class: "button", href: "#/runs/" + encodeURIComponent(run.id) + "/compare" }, "Compare forks"));
  if (run.status === "running") buttons.push(actionButton("Pause", () => act("Run paused: no new fork starts.", path + "/pause")));
  if (run.status === "paused") buttons.push(actionButton("Resume", () => act("Run resumed.", path + "/resume")));
  if (run.status === "budget_exceeded") buttons.push(budgetForm(path, act));
  if (!isFinished(run)) {
    buttons.push(
      actionButton(
        "Cancel run",
        async () => {
          if (!confirm("Cancel run " + run.id + "? Running forks stop and their sandboxes are killed.")) return;
          await act("Run cancelled.", path + "/cancel");
        },
        "danger",
      ),
    );
  }
  if (isFinished(run)) {
    const confirmText = "Delete run " + run.id + " for good? Its forks, events, patches and artifacts are deleted; sessions made from it stay.";
    buttons.push(actionButton("Delete run", async () => (confirm(confirmText) ? remove() : undefined), "danger"));
  }
  const meta = [
    h("span", null, h("span", { class: "sr-only" }, "Repository: "), h("span", { class: "mono strong" }, req.repo || "?"), " @ ", h("span", { class: "mono" }, req.branch || "main"), req.commit ? h("span", { class: "mono", title: req.commit }, " " + req.commit.slice(0, 12)) : null),
    h("span", null, "created ", timeEl(run.createdAt)),
    h("span", null, "elapsed ", elapsedEl(run.createdAt, isFinished(run) ? run.updatedAt : null)),
    h("span", null, "max concurrent " + (req.maxConcurrent ?? "–")),
    h("span", null, "timeout " + fmtMs((req.timeoutSeconds || 0) * 1000) + " per fork"),
    req.budgetUsd !== undefined ? h("span", null, "budget " + fmtUsd(req.budgetUsd)) : null,
  ];
  const taskBox = h(
    "section",
    { class: "card pad task", "aria-label": "Task" },
    "commands" in task
      ? [h("h2", { class: "sr-only" }, "Task"), h("strong", null, task.commands.length === 1 ? "Command" : "Commands"), h("ol", null, task.commands.map((c) => h("li", null, h("code", null, c))))]
      : [
          h("strong", null, "Agent prompt"),
          h("span", { class: "muted" }, " · model " + (task.model || "default") + (task.maxTurns ? " · up to " + task.maxTurns + " turns" : "")),
          h("pre", { class: "tail" }, task.prompt || ""),
        ],
    req.check ? h("p", { class: "muted" }, "Check: ", h("code", null, req.check)) : null,
  );
  return [
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "title-row" }, h("h1", null, "Run ", h("span", { class: "mono" }, run.id)), badge(run.status, { dataset: { runStatus: run.status }, id: "run-status" }), liveEl),
      h("div", { class: "actions" }, buttons),
    ),
    h("p", { class: "meta" }, meta),
    taskBox,
  ];
}

function budgetForm(path: string, act: Act): HTMLFormElement {
  const input = h("input", { type: "number", min: "0.01", step: "0.01", "aria-label": "New budget in USD", placeholder: "New budget $" });
  input.classList.add("small");
  input.style.setProperty("width", "9em");
  const b = h("button", { type: "submit", class: "small primary" }, "Raise budget");
  return h(
    "form",
    {
      class: "actions",
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (!input.value) {
          input.focus();
          return;
        }
        b.disabled = true;
        await act("Budget raised.", path + "/budget", { budgetUsd: Number(input.value) });
        b.disabled = false;
      },
    },
    input,
    b,
  );
}
