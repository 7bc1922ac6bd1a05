/**
 * `#/new`: the form that starts a run. Submitted with an Idempotency-Key (a double submit starts one
 * run); a validation error marks the field the API names.
 */
import type { CreateRunBody, CreatedRun } from "../lib/api-types.ts";
import { api, ApiError, errorMessage, isUnauthorized, randomKey } from "../lib/api.ts";
import { h } from "../lib/dom.ts";
import { field, numberInput } from "../lib/form.ts";
import { focusHeading, main, toast } from "../lib/page.ts";
import { readStorage, REPO_KEY, writeStorage } from "../lib/storage.ts";

export function showNewRun(): void {
  document.title = "New run · Forkyard";
  let idempotencyKey = randomKey();
  const inputs = {
    repo: h("input", { id: "repo", name: "repo", required: true, autocomplete: "off", spellcheck: "false", placeholder: "https://github.com/acme/app.git", value: readStorage(REPO_KEY) ?? "", "aria-describedby": "repo-hint" }),
    title: h("input", { id: "title", name: "title", autocomplete: "off", maxlength: "120", placeholder: "the task's first line" }),
    branch: h("input", { id: "branch", name: "branch", autocomplete: "off", spellcheck: "false", placeholder: "main" }),
    forks: numberInput("forks", "3", 1, 100),
    maxConcurrent: numberInput("maxConcurrent", "5", 1, 50),
    commands: h("textarea", { id: "commands", name: "commands", rows: 4, spellcheck: "false", placeholder: "npm ci\nnpm test -- --shard=$FORKYARD_FORK/$FORKYARD_FORKS", "aria-describedby": "commands-hint" }),
    prompt: h("textarea", { id: "prompt", name: "prompt", rows: 5, placeholder: "Fix the flaky test in src/queue.test.ts" }),
    model: h("input", { id: "model", name: "model", autocomplete: "off", placeholder: "sonnet" }),
    maxTurns: numberInput("maxTurns", "", 1, 500, { placeholder: "default" }),
    check: h("input", { id: "check", name: "check", autocomplete: "off", spellcheck: "false", placeholder: "npm test" }),
    timeoutSeconds: numberInput("timeoutSeconds", "", 10, 86400, { placeholder: "7200" }),
    budgetUsd: h("input", { id: "budgetUsd", name: "budgetUsd", type: "number", min: "0.01", step: "0.01", inputmode: "decimal", placeholder: "none" }),
  };
  const kindCommands = h("input", { type: "radio", name: "kind", value: "commands", checked: true });
  const kindPrompt = h("input", { type: "radio", name: "kind", value: "prompt" });
  const commandsBox = field("commands", "Commands", inputs.commands, "One shell command per line, run in order in the clone. They see FORKYARD_FORK, FORKYARD_FORKS, FORKYARD_RUN_ID and FORKYARD_BRANCH.");
  const promptBox = h(
    "div",
    { class: "stack", hidden: true },
    field("prompt", "Prompt", inputs.prompt),
    h("div", { class: "grid2" }, field("model", "Model", inputs.model), field("maxTurns", "Max turns", inputs.maxTurns)),
  );
  const syncKind = () => {
    commandsBox.hidden = !kindCommands.checked;
    promptBox.hidden = kindCommands.checked;
  };
  kindCommands.addEventListener("change", syncKind);
  kindPrompt.addEventListener("change", syncKind);

  const error = h("p", { class: "alert", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Start run");

  /** The request as the form describes it (the API validates it). */
  function request(): CreateRunBody {
    const task = kindCommands.checked
      ? { commands: inputs.commands.value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean) }
      : {
          prompt: inputs.prompt.value.trim(),
          ...(inputs.model.value.trim() ? { model: inputs.model.value.trim() } : {}),
          ...(inputs.maxTurns.value ? { maxTurns: Number(inputs.maxTurns.value) } : {}),
        };
    return {
      repo: inputs.repo.value.trim(),
      ...(inputs.title.value.trim() ? { title: inputs.title.value.trim() } : {}),
      forks: Number(inputs.forks.value || 1),
      maxConcurrent: Number(inputs.maxConcurrent.value || 5),
      ...(inputs.branch.value.trim() ? { branch: inputs.branch.value.trim() } : {}),
      task,
      ...(inputs.check.value.trim() ? { check: inputs.check.value.trim() } : {}),
      ...(inputs.timeoutSeconds.value ? { timeoutSeconds: Number(inputs.timeoutSeconds.value) } : {}),
      ...(inputs.budgetUsd.value ? { budgetUsd: Number(inputs.budgetUsd.value) } : {}),
    };
  }

  /** The input a validation error's `details.field` (a dotted path) points at. */
  function inputFor(fieldName: string): HTMLElement | undefined {
    if (fieldName.startsWith("task")) {
      if (kindCommands.checked) return inputs.commands;
      return fieldName.endsWith("model") ? inputs.model : fieldName.endsWith("maxTurns") ? inputs.maxTurns : inputs.prompt;
    }
    return inputs[fieldName.split(".")[0] as keyof typeof inputs];
  }

  const form = h(
    "form",
    {
      class: "card pad stack",
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        for (const el of Object.values(inputs)) el.removeAttribute("aria-invalid");
        error.textContent = "";
        const body = request();
        submit.disabled = true;
        submit.textContent = "Starting…";
        try {
          const created = await api<CreatedRun>("/v1/runs", { method: "POST", body, headers: { "Idempotency-Key": idempotencyKey } });
          writeStorage(REPO_KEY, body.repo);
          idempotencyKey = randomKey();
          toast("Run " + created.id + " started.");
          location.hash = "#/runs/" + encodeURIComponent(created.id);
        } catch (err) {
          if (isUnauthorized(err)) return;
          if (err instanceof ApiError && err.code === "idempotency_key_reused") idempotencyKey = randomKey();
          error.textContent = errorMessage(err);
          const fieldName = err instanceof ApiError && typeof err.details?.field === "string" ? err.details.field : "";
          const target = inputFor(fieldName);
          if (target) {
            target.setAttribute("aria-invalid", "true");
            target.focus();
          }
        } finally {
          submit.disabled = false;
          submit.textContent = "Start run";
        }
      },
    },
    field("repo", "Repository", inputs.repo, "An https git URL, or an absolute local path when the Worker allows local repos (npm start does)."),
    field("title", "Run title (optional)", inputs.title),
    h("div", { class: "grid2" }, field("branch", "Base branch", inputs.branch), field("forks", "Forks", inputs.forks), field("maxConcurrent", "Max concurrent", inputs.maxConcurrent)),
    h(
      "fieldset",
      { class: "stack" },
      h("legend", null, "Task"),
      h("div", { role: "radiogroup", "aria-label": "Task kind" }, h("label", { class: "choice" }, kindCommands, "Shell commands"), h("label", { class: "choice" }, kindPrompt, "Agent prompt")),
      commandsBox,
      promptBox,
    ),
    h(
      "div",
      { class: "grid2" },
      field("check", "Check command (optional)", inputs.check),
      field("timeoutSeconds", "Timeout per fork (s)", inputs.timeoutSeconds),
      field("budgetUsd", "Budget (USD)", inputs.budgetUsd),
    ),
    error,
    h("div", { class: "actions" }, submit, h("a", { class: "button", href: "#/" }, "Cancel")),
  );
  main.replaceChildren(h("div", { class: "page-head" }, h("h1", null, "Start a run")), form);
  focusHeading();
}
