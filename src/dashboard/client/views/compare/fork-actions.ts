/**
 * What can be done with a fork from the compare page: "Branch this fork" (new forks from its
 * workspace, POST …/forks/:n/branch) and "Take this one" (POST …/forks/:n/pick: its pull request,
 * or the git command that fetches its branch). Errors from the API are shown where the action is.
 */
import type { BranchRequest, BranchResponse, PickResult } from "../../lib/api-types.ts";
import { api, errorMessage, isUnauthorized, runPath } from "../../lib/api.ts";
import { h } from "../../lib/dom.ts";
import { field, numberInput } from "../../lib/form.ts";
import { plural } from "../../lib/format.ts";
import { toast } from "../../lib/page.ts";

const forkPath = (runId: string, n: number) => runPath(runId) + "/forks/" + n;

/** Shows an action's failure (a 401 already brought the token form back). */
function showError(slot: HTMLElement, err: unknown): void {
  if (!isUnauthorized(err)) slot.replaceChildren(h("p", { class: "alert", role: "alert" }, errorMessage(err)));
}

/** `onBranched`: the run has new forks (it runs again if it had ended). */
export function branchForm(runId: string, n: number, onBranched?: () => void): HTMLDetailsElement {
  const id = "branch-" + n;
  const count = numberInput(id + "-count", "1", 1, 20, { required: "" });
  const prompt = h("textarea", { id: id + "-prompt", name: "prompt", rows: 2, placeholder: "Optional: what the new forks should do next" });
  const submit = h("button", { type: "submit", class: "primary small" }, "Start branches");
  const result = h("div", { class: "action-result" });
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body: BranchRequest = { count: Number(count.value || 1) };
        if (prompt.value.trim()) body.prompt = prompt.value.trim();
        submit.disabled = true;
        result.replaceChildren();
        try {
          const r = await api<BranchResponse>(forkPath(runId, n) + "/branch", { method: "POST", body });
          const label = plural(r.forks.length, "new fork") + " (" + r.forks.join(", ") + ")";
          result.replaceChildren(h("p", { class: "ok-text", role: "status" }, "Started " + label + " in run ", h("a", { href: "#/runs/" + encodeURIComponent(r.runId), class: "mono" }, r.runId), "."));
          toast("Branched fork " + n + ": " + label + ".");
          onBranched?.();
        } catch (err) {
          showError(result, err);
        } finally {
          submit.disabled = false;
        }
      },
    },
    field(count.id, "New forks (1–20)", count),
    field(prompt.id, "Prompt (optional)", prompt),
    h("div", null, submit),
  );
  return h("details", { class: "branch-form" }, h("summary", null, "Branch this fork"), form, result);
}

export function takeButton(runId: string, n: number): HTMLElement {
  const result = h("div", { class: "action-result" });
  const button = h("button", { type: "button", class: "primary", "aria-label": "Take fork " + n }, "Take this one");
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.replaceChildren();
    try {
      const r = await api<PickResult>(forkPath(runId, n) + "/pick", { method: "POST" });
      result.replaceChildren(pickResult(r));
      toast("Fork " + n + " taken.");
    } catch (err) {
      showError(result, err);
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "take" }, button, result);
}

/** The pull request when one was opened, else the command that fetches the fork's branch. */
function pickResult(r: PickResult): HTMLElement {
  const pr = r.pullRequest;
  if (pr && /^https?:\/\//.test(pr.url)) {
    return h("p", { class: "picked", role: "status" }, "Pull request ", h("a", { href: pr.url, target: "_blank", rel: "noopener noreferrer" }, "#" + pr.number), " for ", h("code", null, r.branch), ".");
  }
  const command = h("code", { class: "fetch-command" }, r.fetch);
  const copy = h("button", { type: "button", class: "small" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(r.fetch);
      toast("Copied.");
    } catch {
      getSelection()?.selectAllChildren(command); // no clipboard access: select it for the user
    }
  });
  return h("div", { class: "picked", role: "status" }, h("p", null, "Branch ", h("code", null, r.branch), " — fetch it with:"), h("div", { class: "command-line" }, command, copy));
}
