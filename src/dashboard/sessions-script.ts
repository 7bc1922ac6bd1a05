/**
 * The dashboard's sessions pages, part of the same script (app-script.ts inlines it and gives it
 * `h`, `api`, `badge`, `main`, …): `#/sessions` (newest first) and `#/sessions/<id>` (the
 * transcript with tool calls collapsed, a send box, fork / pause / destroy).
 */
export const sessionsScript = String.raw`
  // ---------------------------------------------------------------- sessions

  function showSessions() {
    document.title = "Sessions · Forkyard";
    const controller = new AbortController();
    const tbody = h("tbody");
    const error = h("p", { class: "alert", role: "alert" });
    main.replaceChildren(
      h("div", { class: "page-head" }, h("h1", null, "Sessions")),
      error,
      h("div", { class: "card table-wrap" },
        h("table", { class: "runs" },
          h("caption", { class: "sr-only" }, "Sessions, newest first"),
          h("thead", null, h("tr", null, ["Session", "Status", "Repository", "Turns", "Cost", "Updated"].map((t) => h("th", { scope: "col" }, t)))),
          tbody)),
    );
    focusHeading();
    async function load() {
      try {
        const page = await api("/v1/sessions?limit=" + PAGE_SIZE, { signal: controller.signal });
        error.textContent = "";
        tbody.replaceChildren(...page.sessions.map((s) => h("tr", { dataset: { session: s.id } },
          h("td", { "data-label": "Session" }, h("a", { href: "#/sessions/" + encodeURIComponent(s.id) }, s.title), h("div", { class: "muted mono" }, s.id)),
          h("td", { "data-label": "Status" }, badge(s.status)),
          h("td", { class: "repo mono", "data-label": "Repo" }, shortRepo(s.repo)),
          h("td", { class: "num", "data-label": "Turns" }, String(s.turns)),
          h("td", { class: "num", "data-label": "Cost" }, fmtUsd(s.costUsd)),
          h("td", { class: "num", "data-label": "Updated" }, timeEl(s.updatedAt)))));
        if (page.sessions.length === 0) tbody.append(h("tr", null, h("td", { colspan: "6", class: "empty" }, "No sessions yet. Start one with forkyard session new <repo>.")));
      } catch (err) {
        if (!isAbort(err) && !(err instanceof ApiError && err.status === 401)) error.textContent = err.message;
      }
    }
    load();
    const timer = setInterval(() => { if (document.visibilityState === "visible") load(); }, 5000);
    leaveView = () => { clearInterval(timer); controller.abort(); };
  }

  function showSession(id) {
    const controller = new AbortController();
    const path = "/v1/sessions/" + encodeURIComponent(id);
    const head = h("div", { class: "page-head" });
    const error = h("p", { class: "alert", role: "alert" });
    const log = h("ol", { class: "transcript", "aria-live": "polite" });
    const prompt = h("textarea", { id: "session-prompt", name: "prompt", rows: "3", required: true, placeholder: "Ask for the next change…" });
    const sendButton = h("button", { type: "submit", class: "primary" }, "Send");
    const form = h("form", { class: "card pad send", onsubmit: async (ev) => {
      ev.preventDefault();
      const text = prompt.value.trim();
      if (!text) return;
      sendButton.disabled = true;
      try {
        const r = await api(path + "/messages", { method: "POST", body: { prompt: text } });
        prompt.value = "";
        toast("Sent as turn " + r.turn);
        refresh();
      } catch (err) { toast(err.message, "error"); } finally { sendButton.disabled = false; }
    } }, h("label", { for: "session-prompt" }, "Message"), prompt, h("div", { class: "actions" }, sendButton));
    let after = 0;
    let view = null;
    main.replaceChildren(h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/sessions" }, "Sessions"), " / ", h("span", { class: "mono" }, id)), head, error, log, form);

    async function act(label, method, suffix, body) {
      try {
        const r = await api(path + suffix, { method, body });
        toast(label);
        if (r && r.sessions) location.hash = "#/sessions/" + encodeURIComponent(r.sessions[0].id);
        else refresh();
      } catch (err) { toast(err.message, "error"); }
    }

    function renderHead() {
      document.title = view.title + " · Forkyard";
      const ended = view.status === "destroyed" || view.status === "failed";
      head.replaceChildren(
        h("div", null, h("h1", null, view.title, " ", badge(view.status)),
          h("p", { class: "muted" }, shortRepo(view.repo) + " · " + view.workBranch + " · " + view.model + " · sandbox " + (view.sandbox.state || "-") + " · " + fmtUsd(view.costUsd.total) + (view.queued ? " · " + view.queued + " queued" : ""))),
        h("div", { class: "actions" },
          h("button", { type: "button", disabled: ended, onclick: () => act("Forked", "POST", "/fork", { count: 1 }) }, "Fork"),
          h("button", { type: "button", disabled: ended || view.status === "running" || view.sandbox.state !== "running", onclick: () => act("Paused", "POST", "/pause") }, "Pause"),
          h("button", { type: "button", disabled: view.status !== "running", onclick: () => act("Cancelling the turn", "POST", "/cancel") }, "Cancel turn"),
          h("button", { type: "button", class: "danger", disabled: view.status === "destroyed", onclick: () => { if (confirm("Destroy this session? Its sandbox is killed; the transcript stays.")) act("Destroyed", "DELETE", ""); } }, "Destroy")),
      );
      form.hidden = ended;
    }

    function entryEl(e) {
      if (e.role === "user") return h("li", { class: "msg user" }, h("div", { class: "muted" }, "Turn " + e.turn), h("p", null, e.text));
      if (e.role === "assistant") {
        return h("li", { class: "msg assistant" }, e.text ? h("p", null, e.text) : null,
          e.toolCalls.map((t) => h("div", { class: "mono muted" }, "⚙ " + t.name + " " + toolLabel(t.input))));
      }
      return h("li", { class: "msg tool" }, h("details", null, h("summary", { class: e.isError ? "bad-text" : "muted" }, (e.isError ? "✗ " : "→ ") + (e.content.split("\n")[0] || "(no output)").slice(0, 120)), h("pre", { class: "out" }, e.content)));
    }

    function toolLabel(input) {
      if (input && typeof input.command === "string" && typeof input.path === "string") return input.command + " " + input.path;
      if (input && typeof input.command === "string") return input.command;
      return JSON.stringify(input);
    }

    async function refresh() {
      try {
        view = await api(path, { signal: controller.signal });
        renderHead();
        for (;;) {
          const page = await api(path + "/transcript?after=" + after + "&limit=200", { signal: controller.signal });
          for (const e of page.entries) { log.append(entryEl(e)); after = e.seq; }
          if (page.next === null) break;
        }
        error.textContent = "";
      } catch (err) {
        if (isAbort(err)) return;
        if (err instanceof ApiError && err.status === 404) { main.replaceChildren(h("div", { class: "card pad narrow" }, h("h1", null, "Session not found"), h("p", null, h("a", { href: "#/sessions" }, "Back to sessions")))); return; }
        if (!(err instanceof ApiError && err.status === 401)) error.textContent = err.message;
      }
    }
    refresh().then(focusHeading);
    const timer = setInterval(() => { if (document.visibilityState === "visible") refresh(); }, 2000);
    leaveView = () => { clearInterval(timer); controller.abort(); };
  }
`;
