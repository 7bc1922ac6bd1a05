/**
 * Hash routes (bookmarkable, shareable without the token): `#/` (runs, `#/?status=failed`),
 * `#/new`, `#/runs/<id>`, `#/runs/<id>/compare`, `#/sessions`, `#/sessions/<id>`, `#/evals`,
 * `#/evals/<id>`. Each view
 * renders into <main> and may return a cleanup (timers, streams) run before the next one.
 */
import { currentToken, forgetToken } from "./lib/auth.ts";
import { h } from "./lib/dom.ts";
import { authSlot, focusHeading, main, notFound } from "./lib/page.ts";
import { showComparePage } from "./views/compare/compare-page.ts";
import { showEvalPage } from "./views/eval/eval-page.ts";
import { showEvals } from "./views/eval/evals-list.ts";
import { showNewRun } from "./views/new-run.ts";
import { showRunPage } from "./views/run/run-page.ts";
import { showRuns } from "./views/runs-list.ts";
import { showSession } from "./views/session-page.ts";
import { showSessions } from "./views/sessions-list.ts";
import { showTokenForm } from "./views/token-form.ts";

export type Cleanup = () => void;
type Nav = "runs" | "new" | "sessions" | "evals" | null;

let leaveView: Cleanup | null = null;

function parseHash(): { parts: string[]; params: URLSearchParams } {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  const decode = (p: string) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  };
  return { parts: path.split("/").filter(Boolean).map(decode), params };
}

function setNav(active: Nav): void {
  for (const a of document.querySelectorAll<HTMLElement>("[data-nav]")) {
    if (a.dataset.nav === active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function renderAuth(): void {
  authSlot.replaceChildren();
  if (!currentToken()) return;
  authSlot.append(
    h("span", { class: "who" }, "Token saved in this browser"),
    h("button", { type: "button", class: "small", onclick: () => forgetToken("Token removed from this browser.") }, "Forget token"),
  );
}

/** The view for the current hash, with the nav entry it highlights. */
function pick(parts: string[], params: URLSearchParams): [Nav, () => Cleanup | void] | null {
  const [first, second, third] = parts;
  if (parts.length === 0) return ["runs", () => showRuns(params)];
  if (first === "new" && parts.length === 1) return ["new", showNewRun];
  if (first === "runs" && parts.length === 2) return ["runs", () => showRunPage(second!)];
  if (first === "runs" && parts.length === 3 && third === "compare") return ["runs", () => showComparePage(second!)];
  if (first === "sessions" && parts.length === 1) return ["sessions", showSessions];
  if (first === "sessions" && parts.length === 2) return ["sessions", () => showSession(second!)];
  if (first === "evals" && parts.length === 1) return ["evals", showEvals];
  if (first === "evals" && parts.length === 2) return ["evals", () => showEvalPage(second!)];
  return null;
}

export function route(): void {
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor, not a route
  leaveView?.();
  leaveView = null;
  renderAuth();
  if (!currentToken()) {
    setNav(null);
    showTokenForm(route);
    return;
  }
  const { parts, params } = parseHash();
  const view = pick(parts, params);
  if (!view) {
    setNav(null);
    document.title = "Not found · Forkyard";
    main.replaceChildren(notFound("Page not found", null, { href: "#/", text: "Back to runs" }));
    focusHeading();
    return;
  }
  setNav(view[0]);
  leaveView = view[1]() ?? null;
}
