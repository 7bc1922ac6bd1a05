/** The token form shown to a signed-out user: the token is checked with one API call before it is saved. */
import { api, errorMessage, isUnauthorized } from "../lib/api.ts";
import { saveToken, takeFlash, useToken } from "../lib/auth.ts";
import { h } from "../lib/dom.ts";
import { announce, main } from "../lib/page.ts";

export function showTokenForm(onSignedIn: () => void): void {
  document.title = "Connect · Forkyard";
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "token-hint" });
  const error = h("p", { class: "alert", role: "alert" }, takeFlash());
  const submit = h("button", { type: "submit", class: "primary" }, "Save token");
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const value = input.value.trim();
        if (!value) {
          error.textContent = "Enter a token.";
          input.focus();
          return;
        }
        submit.disabled = true;
        error.textContent = "";
        useToken(value);
        try {
          await api("/v1/runs?limit=1");
          saveToken(value);
          announce("Token saved.");
          onSignedIn();
        } catch (err) {
          useToken(null);
          submit.disabled = false;
          // A 401 already re-rendered this form with its message.
          if (!isUnauthorized(err)) error.textContent = errorMessage(err);
        }
      },
    },
    h(
      "div",
      { class: "field" },
      h("label", { for: "token" }, "API token"),
      input,
      h("span", { class: "hint", id: "token-hint" }, "One of the Worker's FORKYARD_API_TOKENS. It is kept in this browser's local storage only and sent as an Authorization header, never in a URL."),
    ),
    error,
    h("div", null, submit),
  );
  main.replaceChildren(h("section", { class: "card pad narrow stack" }, h("h1", null, "Connect to Forkyard"), form));
  input.focus();
}
