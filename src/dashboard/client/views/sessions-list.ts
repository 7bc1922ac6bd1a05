/** `#/sessions`: sessions, newest first (status, repository, turns, cost), refreshed every 5 s. */
import type { SessionPage } from "../lib/api-types.ts";
import { api, errorMessage, isAbort, isUnauthorized, PAGE_SIZE } from "../lib/api.ts";
import { badge, h } from "../lib/dom.ts";
import { fmtUsd, shortRepo } from "../lib/format.ts";
import { focusHeading, main, timeEl } from "../lib/page.ts";
import { listTable } from "../lib/paged-list.ts";
import type { Cleanup } from "../router.ts";

export function showSessions(): Cleanup {
  document.title = "Sessions · Forkyard";
  const controller = new AbortController();
  const tbody = h("tbody");
  const error = h("p", { class: "alert", role: "alert" });
  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", null, "Sessions")),
    error,
    listTable("Sessions, newest first", ["Session", "Status", "Repository", "Turns", "Cost", "Updated"], tbody),
  );
  focusHeading();
  async function load(): Promise<void> {
    try {
      const page = await api<SessionPage>("/v1/sessions?limit=" + PAGE_SIZE, { signal: controller.signal });
      error.textContent = "";
      tbody.replaceChildren(
        ...page.sessions.map((s) =>
          h(
            "tr",
            { dataset: { session: s.id } },
            h("td", { "data-label": "Session" }, h("a", { href: "#/sessions/" + encodeURIComponent(s.id) }, s.title), h("div", { class: "muted mono" }, s.id)),
            h("td", { "data-label": "Status" }, badge(s.status)),
            h("td", { class: "repo mono", "data-label": "Repo" }, shortRepo(s.repo)),
            h("td", { class: "num", "data-label": "Turns" }, String(s.turns)),
            h("td", { class: "num", "data-label": "Cost" }, fmtUsd(s.costUsd)),
            h("td", { class: "num", "data-label": "Updated" }, timeEl(s.updatedAt)),
          ),
        ),
      );
      if (page.sessions.length === 0) tbody.append(h("tr", null, h("td", { colspan: "6", class: "empty" }, "No sessions yet. Start one with forkyard session new <repo>.")));
    } catch (err) {
      if (!isAbort(err) && !isUnauthorized(err)) error.textContent = errorMessage(err);
    }
  }
  void load();
  const timer = setInterval(() => {
    if (document.visibilityState === "visible") void load();
  }, 5000);
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}
