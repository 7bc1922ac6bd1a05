/**
 * `#/sessions/<id>`: a session's transcript (tool calls as `⚙ <tool> <input>` lines, tool results
 * collapsed to their first line), its turns (status, cost, duration), where it came from (the
 * session it was forked from, the run fork it continues), a send box, and Fork / Pause / Cancel
 * turn / Destroy. Re-read every 2 s; the transcript is read on from the last entry seen.
 */
import type { ForkedSessions, MessageAccepted, SessionPickResult, SessionView, TranscriptEntry, TranscriptPage } from "../lib/api-types.ts";
import { api, ApiError, download, errorMessage, isAbort, isUnauthorized, type ApiOptions } from "../lib/api.ts";
import { badge, h, type Child } from "../lib/dom.ts";
import { fmtMs, fmtUsd, shortRepo } from "../lib/format.ts";
import { focusHeading, main, notFound, toast } from "../lib/page.ts";
import type { Cleanup } from "../router.ts";

export function showSession(id: string): Cleanup {
  const controller = new AbortController();
  const path = "/v1/sessions/" + encodeURIComponent(id);
  const head = h("div", { class: "page-head" });
  const turnsEl = h("div");
  // The answer of "Take it": one element for the page's life, so a rebuild of the facts (the pick
  // itself changes `work`) keeps it.
  const pickResult = h("div", { class: "action-result" });
  let lastFacts = "";
  const error = h("p", { class: "alert", role: "alert" });
  const log = h("ol", { class: "transcript", "aria-live": "polite" });
  const prompt = h("textarea", { id: "session-prompt", name: "prompt", rows: "3", required: true, placeholder: "Ask for the next change…" });
  const sendButton = h("button", { type: "submit", class: "primary" }, "Send");
  const form = h(
    "form",
    {
      class: "card pad send",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const text = prompt.value.trim();
        if (!text) return;
        sendButton.disabled = true;
        try {
          const r = await api<MessageAccepted>(path + "/messages", { method: "POST", body: { prompt: text } });
          prompt.value = "";
          toast("Sent as turn " + r.turn);
          void refresh();
        } catch (err) {
          toast(errorMessage(err), "error");
        } finally {
          sendButton.disabled = false;
        }
      },
    },
    h("label", { for: "session-prompt" }, "Message"),
    prompt,
    h("div", { class: "actions" }, sendButton),
  );
  let after = 0;
  main.replaceChildren(h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/sessions" }, "Sessions"), " / ", h("span", { class: "mono" }, id)), head, turnsEl, error, log, form);

  async function act(label: string, method: ApiOptions["method"], suffix: string, body?: unknown): Promise<void> {
    try {
      const r = await api<ForkedSessions | SessionView | null>(path + suffix, { method, body });
      // A fork asked for while a turn runs is made at the turn's next step boundary.
      toast(r && "pending" in r && r.pending ? "Fork made at the running turn's next step" : label);
      const child = r && "sessions" in r ? r.sessions[0] : undefined;
      if (child) location.hash = "#/sessions/" + encodeURIComponent(child.id);
      else void refresh();
    } catch (err) {
      toast(errorMessage(err), "error");
    }
  }

  function renderHead(view: SessionView): void {
    document.title = view.title + " · Forkyard";
    const ended = view.status === "destroyed" || view.status === "failed";
    head.replaceChildren(
      h(
        "div",
        null,
        h("h1", null, view.title, " ", badge(view.status)),
        h("p", { class: "muted" }, shortRepo(view.repo) + " · " + view.workBranch + " · " + view.model + " · sandbox " + (view.sandbox.state || "-") + " · " + fmtUsd(view.costUsd.total) + (view.queued ? " · " + view.queued + " queued" : "")),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", disabled: ended, onclick: () => void act("Forked", "POST", "/fork", { count: 1 }) }, "Fork"),
        h("button", { type: "button", disabled: ended || view.status === "running" || view.sandbox.state !== "running", onclick: () => void act("Paused", "POST", "/pause") }, "Pause"),
        // A turn runs, or the session is set up for its first queued message (the one a cancel then stops).
        h("button", { type: "button", disabled: !(view.status === "running" || (view.status === "setting_up" && view.queued > 0)), onclick: () => void act("Cancelling the turn", "POST", "/cancel") }, "Cancel turn"),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            disabled: view.status === "destroyed",
            onclick: () => {
              if (confirm("Destroy this session? Its sandbox is killed; the transcript stays.")) void act("Destroyed", "DELETE", "");
            },
          },
          "Destroy",
        ),
      ),
    );
    form.hidden = ended;
    // Built again only when what it shows changed: an open turns list, or a pick's answer, stays.
    const factsSeen = JSON.stringify([view.turns, view.parent, view.run, view.work]);
    if (factsSeen !== lastFacts) {
      const wasOpen = turnsEl.querySelector("details")?.open ?? false;
      turnsEl.replaceChildren(...sessionFacts(view, pickResult));
      if (wasOpen) turnsEl.querySelector("details")?.setAttribute("open", "");
      lastFacts = factsSeen;
    }
  }

  async function refresh(): Promise<void> {
    try {
      renderHead(await api<SessionView>(path, { signal: controller.signal }));
      for (;;) {
        const page = await api<TranscriptPage>(path + "/transcript?after=" + after + "&limit=200", { signal: controller.signal });
        for (const e of page.entries) {
          log.append(entryEl(e));
          after = e.seq;
        }
        if (page.next === null) break;
      }
      error.textContent = "";
    } catch (err) {
      if (isAbort(err)) return;
      if (err instanceof ApiError && err.status === 404) {
        main.replaceChildren(notFound("Session not found", null, { href: "#/sessions", text: "Back to sessions" }));
        return;
      }
      if (!isUnauthorized(err)) error.textContent = errorMessage(err);
    }
  }
  void refresh().then(focusHeading);
  const timer = setInterval(() => {
    if (document.visibilityState === "visible") void refresh();
  }, 2000);
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}

function entryEl(e: TranscriptEntry): HTMLLIElement {
  if (e.role === "user") return h("li", { class: "msg user" }, h("div", { class: "muted" }, "Turn " + e.turn), h("p", null, e.text));
  if (e.role === "assistant") {
    return h("li", { class: "msg assistant" }, e.text ? h("p", null, e.text) : null, e.toolCalls.map((t) => h("div", { class: "mono muted" }, "⚙ " + t.name + " " + toolLabel(t.input))));
  }
  const firstLine = (e.content.split("\n")[0] || "(no output)").slice(0, 120);
  return h("li", { class: "msg tool" }, h("details", null, h("summary", { class: e.isError ? "bad-text" : "muted" }, (e.isError ? "✗ " : "→ ") + firstLine), h("pre", { class: "out" }, e.content)));
}

function toolLabel(input: unknown): string {
  const i = input as { command?: unknown; path?: unknown } | null;
  if (i && typeof i.command === "string" && typeof i.path === "string") return i.command + " " + i.path;
  if (i && typeof i.command === "string") return i.command;
  return JSON.stringify(input);
}

/** Where the session came from, and its turns: status, model, tool calls, cost, duration. */
function sessionFacts(view: SessionView, pickResult: HTMLElement): HTMLElement[] {
  const origin: HTMLElement[] = [];
  if (view.parent) {
    origin.push(h("p", { class: "muted origin" }, "Forked from ", h("a", { href: "#/sessions/" + encodeURIComponent(view.parent.sessionId), class: "mono" }, view.parent.sessionId), " after turn " + view.parent.turn + "."));
  }
  if (view.run) {
    origin.push(h("p", { class: "muted origin" }, "Continues ", h("a", { href: "#/runs/" + encodeURIComponent(view.run.id) + "#fork-" + view.run.fork + "-title", class: "mono" }, "run " + view.run.id + " fork " + view.run.fork), "."));
  }
  const work = workBlock(view, pickResult);
  if (work) origin.push(work);
  if (view.turns.length === 0) return origin;
  const duration = (t: SessionView["turns"][number]) => (t.startedAt ? fmtMs((t.finishedAt ? Date.parse(t.finishedAt) : Date.now()) - Date.parse(t.startedAt)) : "–");
  const rows = view.turns.map((t) =>
    h(
      "tr",
      { dataset: { turn: String(t.n), status: t.status } },
      h("td", null, String(t.n)),
      h("td", null, badge(t.status)),
      h("td", { class: "mono" }, t.model),
      h("td", null, String(t.toolCalls)),
      h("td", null, fmtUsd(t.costUsd)),
      h("td", null, duration(t)),
      h("td", { class: "muted" }, t.error ? t.error.code : (t.stopReason ?? "")),
    ),
  );
  const table = h(
    "table",
    { class: "turns" },
    h("thead", null, h("tr", null, ["Turn", "Status", "Model", "Tool calls", "Cost", "Duration", "Stop"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, rows),
  );
  return [...origin, h("details", { class: "card pad turns-box" }, h("summary", null, "Turns (" + view.turns.length + ")"), table)];
}

/**
 * The session's work against its base: diff stats as last taken, its patch (downloaded with the
 * token) and "Take it" (POST …/pick: takes the work now when the sandbox is idle, and answers the
 * fetch command and the stats).
 */
function workBlock(view: SessionView, result: HTMLElement): HTMLElement | null {
  const work = view.work;
  if (!work && !view.turns.some((t) => t.finishedAt)) return null;
  const path = "/v1/sessions/" + encodeURIComponent(view.id);
  const take = h("button", { type: "button", class: "small" }, "Take it");
  take.addEventListener("click", async () => {
    try {
      const picked = await api<SessionPickResult>(path + "/pick", { method: "POST" });
      const d = picked.diff;
      result.replaceChildren(h("p", { class: "picked" }, d.files + " files +" + d.insertions + " −" + d.deletions + " (as of turn " + picked.turn + ") — fetch it with:", h("pre", { class: "tail" }, picked.fetch)));
    } catch (err) {
      result.replaceChildren(h("p", { class: "alert" }, errorMessage(err)));
    }
  });
  let stats: Child = h("span", { class: "muted" }, "not taken yet ");
  if (work && !work.patch) stats = h("span", { class: "muted" }, "no changes (as of turn " + work.turn + ") ");
  else if (work?.patch) {
    const d = work.diff;
    const patchLink = h("a", { href: work.patch.href }, "Patch");
    patchLink.addEventListener("click", (ev) => {
      ev.preventDefault();
      void download(path + "/patch", "session-" + view.id + ".patch");
    });
    stats = h("span", null, d.files + " files ", h("span", { class: "ok-text" }, "+" + d.insertions), " ", h("span", { class: "bad-text" }, "−" + d.deletions), h("span", { class: "muted" }, " (as of turn " + work.turn + ") · "), patchLink, " ");
  }
  return h("div", { class: "work", dataset: { files: String(work?.diff.files ?? "") } }, h("p", null, "Work against " + view.branch + ": ", stats, take), result);
}
