/**
 * The dashboard's client, served at /dashboard/app.js: plain modern JavaScript, no framework, no
 * build step. Hash routes: `#/` (runs, `#/?status=failed`), `#/new` (start a run), `#/runs/<id>`.
 *
 * - The API token lives in localStorage only and goes out as an Authorization header; never in a URL.
 * - Everything from the API is rendered with DOM APIs and text nodes (no HTML strings).
 * - A run page follows GET /v1/runs/:id/events with fetch() and a stream reader (EventSource
 *   cannot send the token), re-reads the run (debounced) on each event, and reconnects with
 *   Last-Event-ID when the stream drops before the run ended.
 *
 * Written with String.raw: the text below is served exactly as written (no template escapes).
 */
import { sessionsScript } from "./sessions-script.ts";
export const dashboardScript = String.raw`
(() => {
  "use strict";

  const TOKEN_KEY = "forkyard.token";
  const REPO_KEY = "forkyard.lastRepo";
  const TERMINAL_RUN = ["completed", "cancelled", "failed"];
  const TERMINAL_FORK = ["succeeded", "failed", "cancelled", "timed_out", "budget_exceeded"];
  const RUN_STATUSES = ["running", "paused", "completed", "cancelled", "failed", "budget_exceeded"];
  const EVENT_LOG_MAX = 200;
  const PAGE_SIZE = 25;

  const main = document.getElementById("main");
  const authSlot = document.getElementById("auth");
  const announcer = document.getElementById("announcer");
  const toastBox = document.getElementById("toasts");

  let token = readStorage(TOKEN_KEY);
  let flash = "";
  /** Cleanup of the current view (timers, streams), run before the next view renders. */
  let leaveView = null;

  // ---------------------------------------------------------------- small helpers

  function readStorage(key) {
    try { return localStorage.getItem(key); } catch { return null; }
  }
  function writeStorage(key, value) {
    try { if (value === null) localStorage.removeItem(key); else localStorage.setItem(key, value); } catch { /* private mode */ }
  }

  /** Creates an element. Children are nodes or strings (always text nodes, never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") el.className = value;
        else if (key === "text") el.textContent = String(value);
        else if (key === "dataset") Object.assign(el.dataset, value);
        else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
        else el.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  /** Status values become CSS classes: keep only safe characters. */
  const cls = (s) => String(s).replace(/[^a-z_]/g, "");
  const human = (s) => String(s).replace(/_/g, " ");

  function badge(status, extra) {
    return h("span", Object.assign({ class: "badge s-" + cls(status) }, extra || {}), human(status));
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return "–";
    if (ms < 1000) return Math.max(0, Math.round(ms)) + " ms";
    const s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + "m " + String(Math.floor(s % 60)).padStart(2, "0") + "s";
    return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
  }

  function fmtUsd(n) {
    if (typeof n !== "number" || !isFinite(n)) return "–";
    if (n === 0) return "$0.00";
    if (n < 0.01) return "$" + n.toFixed(5);
    if (n < 1) return "$" + n.toFixed(4);
    return "$" + n.toFixed(2);
  }

  function fmtBytes(n) {
    if (typeof n !== "number" || !isFinite(n)) return "–";
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }

  function fmtInt(n) {
    return typeof n === "number" ? n.toLocaleString("en-US") : "–";
  }

  function fmtAgo(iso) {
    const t = Date.parse(iso);
    if (!isFinite(t)) return "–";
    const s = Math.round((Date.now() - t) / 1000);
    if (s < 5) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  }

  function timeEl(iso) {
    return h("time", { datetime: iso, title: new Date(iso).toLocaleString() }, fmtAgo(iso));
  }

  function clock(iso) {
    const d = new Date(iso);
    return isFinite(d.getTime()) ? d.toLocaleTimeString(undefined, { hour12: false }) : "";
  }

  function elapsedMs(startIso, endIso) {
    const start = Date.parse(startIso);
    if (!isFinite(start)) return null;
    const end = endIso ? Date.parse(endIso) : Date.now();
    return Math.max(0, end - start);
  }

  /** An elapsed-time element; while endIso is empty it ticks (see tickClocks). */
  function elapsedEl(startIso, endIso) {
    if (!startIso) return h("span", null, "–");
    return h("span", endIso ? null : { dataset: { since: startIso } }, fmtMs(elapsedMs(startIso, endIso)));
  }

  function tickClocks() {
    for (const el of main.querySelectorAll("[data-since]")) el.textContent = fmtMs(elapsedMs(el.dataset.since, null));
  }

  function announce(text) {
    announcer.textContent = "";
    setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function toast(text, kind) {
    const el = h("div", { class: "toast" + (kind === "error" ? " error" : "") }, text);
    toastBox.append(el);
    setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
  }

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  function focusHeading() {
    const heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }

  async function api(path, opts) {
    const o = opts || {};
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (o.body !== undefined) headers["Content-Type"] = "application/json";
    Object.assign(headers, o.headers || {});
    let res;
    try {
      res = await fetch(path, {
        method: o.method || "GET",
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: o.signal,
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", "Could not reach the Forkyard API.");
    }
    const text = await res.text();
    let body = null;
    if (text) { try { body = JSON.parse(text); } catch { body = null; } }
    if (!res.ok) {
      const e = (body && body.error) || {};
      if (res.status === 401) forgetToken("The API rejected the token. Enter a valid one.");
      throw new ApiError(res.status, e.code || "http_" + res.status, e.message || "HTTP " + res.status, e.details);
    }
    return body;
  }

  /** crypto.randomUUID needs a secure context; an Idempotency-Key only needs to be unique. */
  function randomKey() {
    if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const isAbort = (err) => err && err.name === "AbortError";

  function forgetToken(message) {
    token = null;
    writeStorage(TOKEN_KEY, null);
    flash = message || "";
    route();
  }

  // ---------------------------------------------------------------- routing

  function parseHash() {
    const raw = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    return { parts: path.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } }), params };
  }

  function setNav(active) {
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === active) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  function renderAuth() {
    authSlot.replaceChildren();
    if (!token) return;
    authSlot.append(
      h("span", { class: "who" }, "Token saved in this browser"),
      h("button", { type: "button", class: "small", onclick: () => forgetToken("Token removed from this browser.") }, "Forget token"),
    );
  }

  function route() {
    if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor, not a route
    if (leaveView) { leaveView(); leaveView = null; }
    renderAuth();
    const { parts, params } = parseHash();
    if (!token) {
      setNav(null);
      return showTokenForm();
    }
    if (parts.length === 0) { setNav("runs"); return showRuns(params); }
    if (parts[0] === "new" && parts.length === 1) { setNav("new"); return showNewRun(); }
    if (parts[0] === "runs" && parts.length === 2) { setNav("runs"); return showRun(parts[1]); }
    if (parts[0] === "sessions" && parts.length === 1) { setNav("sessions"); return showSessions(); }
    if (parts[0] === "sessions" && parts.length === 2) { setNav("sessions"); return showSession(parts[1]); }
    setNav(null);
    document.title = "Not found · Forkyard";
    main.replaceChildren(h("div", { class: "card pad narrow" }, h("h1", null, "Page not found"), h("p", null, h("a", { href: "#/" }, "Back to runs"))));
    focusHeading();
  }

  // ---------------------------------------------------------------- token

  function showTokenForm() {
    document.title = "Connect · Forkyard";
    const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "token-hint" });
    const error = h("p", { class: "alert", role: "alert" }, flash);
    flash = "";
    const submit = h("button", { type: "submit", class: "primary" }, "Save token");
    const form = h("form", { class: "stack", onsubmit: async (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) { error.textContent = "Enter a token."; input.focus(); return; }
      submit.disabled = true;
      error.textContent = "";
      token = value;
      try {
        await api("/v1/runs?limit=1");
        writeStorage(TOKEN_KEY, value);
        announce("Token saved.");
        route();
      } catch (err) {
        token = null;
        submit.disabled = false;
        // A 401 already re-rendered this form with its message.
        if (!(err instanceof ApiError && err.status === 401)) error.textContent = err.message;
      }
    } },
      h("div", { class: "field" },
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

  // ---------------------------------------------------------------- runs list

  function showRuns(params) {
    document.title = "Runs · Forkyard";
    const status = RUN_STATUSES.includes(params.get("status")) ? params.get("status") : "";
    const controller = new AbortController();
    let cursor = null;
    let pages = 0;

    const select = h("select", { id: "status-filter", onchange: () => {
      location.hash = select.value ? "#/?status=" + encodeURIComponent(select.value) : "#/";
    } }, h("option", { value: "" }, "All statuses"), RUN_STATUSES.map((s) => h("option", { value: s, selected: s === status }, human(s))));
    const tbody = h("tbody");
    const more = h("button", { type: "button", hidden: true, onclick: () => load(false) }, "Load more");
    const note = h("div", { class: "empty", hidden: true });
    const error = h("p", { class: "alert", role: "alert" });

    main.replaceChildren(
      h("div", { class: "page-head" },
        h("h1", null, "Runs"),
        h("div", { class: "actions" },
          h("label", { for: "status-filter", class: "sr-only" }, "Filter by status"),
          select,
          h("button", { type: "button", onclick: () => load(true) }, "Refresh"),
          h("a", { class: "button primary", href: "#/new" }, "New run"),
        ),
      ),
      error,
      h("div", { class: "card table-wrap" },
        h("table", { class: "runs" },
          h("caption", { class: "sr-only" }, status ? "Runs with status " + human(status) : "All runs, newest first"),
          h("thead", null, h("tr", null, ["Run", "Status", "Repository", "Forks", "Cost", "Created"].map((t) => h("th", { scope: "col" }, t)))),
          tbody,
        ),
        note,
      ),
      h("div", { class: "list-foot" }, more),
    );
    focusHeading();

    async function load(reset) {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (status) params.set("status", status);
      if (!reset && cursor) params.set("cursor", cursor);
      more.disabled = true;
      try {
        const page = await api("/v1/runs?" + params.toString(), { signal: controller.signal });
        error.textContent = "";
        if (reset) { tbody.replaceChildren(); pages = 0; }
        pages++;
        for (const run of page.runs) tbody.append(runRow(run));
        cursor = page.nextCursor || null;
        more.hidden = !cursor;
        const empty = tbody.children.length === 0;
        note.hidden = !empty;
        note.replaceChildren(...(empty ? [status ? "No " + human(status) + " runs." : "No runs yet. ", status ? "" : h("a", { href: "#/new" }, "Start one.")] : []));
      } catch (err) {
        if (!isAbort(err) && !(err instanceof ApiError && err.status === 401)) error.textContent = err.message;
      } finally {
        more.disabled = false;
      }
    }

    load(true);
    // While only the first page is shown, keep it fresh.
    const timer = setInterval(() => {
      if (pages <= 1 && document.visibilityState === "visible") load(true);
    }, 5000);
    leaveView = () => { clearInterval(timer); controller.abort(); };
  }

  function runRow(run) {
    const total = run.forks || 0;
    const okPct = total ? (100 * run.succeeded) / total : 0;
    const badPct = total ? (100 * run.failed) / total : 0;
    const bar = h("div", { class: "progress", "aria-hidden": "true" }, h("span", { class: "p-ok" }), h("span", { class: "p-bad" }));
    bar.children[0].style.setProperty("width", okPct + "%");
    bar.children[1].style.setProperty("width", badPct + "%");
    return h("tr", { dataset: { run: run.id } },
      h("td", { "data-label": "Run" }, h("a", { href: "#/runs/" + encodeURIComponent(run.id), class: "mono" }, run.id)),
      h("td", { "data-label": "Status" }, badge(run.status)),
      h("td", { class: "repo mono", title: run.repo + " @ " + run.branch, "data-label": "Repo" }, shortRepo(run.repo), h("span", { class: "muted" }, " @ " + run.branch)),
      h("td", { class: "num", "data-label": "Forks" },
        run.succeeded + " / " + total + " succeeded",
        run.failed ? h("span", { class: "bad-text" }, " · " + run.failed + " failed") : null,
        bar),
      h("td", { class: "num", "data-label": "Cost" }, fmtUsd(run.costUsd)),
      h("td", { class: "num", "data-label": "Created" }, timeEl(run.createdAt)),
    );
  }

  /** owner/name for a GitHub URL, the last two segments of a path; the full value is in a title. */
  function shortRepo(repo) {
    const text = String(repo);
    const gh = /^https:\/\/github\.com\/([^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(text);
    if (gh) return gh[1];
    const parts = text.split("/").filter(Boolean);
    return parts.length > 2 ? "…/" + parts.slice(-2).join("/") : text;
  }

  // ---------------------------------------------------------------- new run

  function showNewRun() {
    document.title = "New run · Forkyard";
    let idempotencyKey = randomKey();
    const field = (id, label, input, hint) =>
      h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("span", { class: "hint", id: id + "-hint" }, hint) : null);
    const num = (id, value, min, max, extra) =>
      h("input", Object.assign({ id, name: id, type: "number", inputmode: "numeric", min, max, value }, extra || {}));

    const inputs = {
      repo: h("input", { id: "repo", name: "repo", required: true, autocomplete: "off", spellcheck: "false", placeholder: "https://github.com/acme/app.git", value: readStorage(REPO_KEY) || "", "aria-describedby": "repo-hint" }),
      branch: h("input", { id: "branch", name: "branch", autocomplete: "off", spellcheck: "false", placeholder: "main" }),
      forks: num("forks", "3", 1, 100),
      maxConcurrent: num("maxConcurrent", "5", 1, 50),
      commands: h("textarea", { id: "commands", name: "commands", rows: 4, spellcheck: "false", placeholder: "npm ci\nnpm test -- --shard=$FORKYARD_FORK/$FORKYARD_FORKS", "aria-describedby": "commands-hint" }),
      prompt: h("textarea", { id: "prompt", name: "prompt", rows: 5, placeholder: "Fix the flaky test in src/queue.test.ts" }),
      model: h("input", { id: "model", name: "model", autocomplete: "off", placeholder: "sonnet" }),
      maxTurns: num("maxTurns", "", 1, 500, { placeholder: "default" }),
      check: h("input", { id: "check", name: "check", autocomplete: "off", spellcheck: "false", placeholder: "npm test" }),
      timeoutSeconds: num("timeoutSeconds", "", 10, 86400, { placeholder: "7200" }),
      budgetUsd: h("input", { id: "budgetUsd", name: "budgetUsd", type: "number", min: "0.01", step: "0.01", inputmode: "decimal", placeholder: "none" }),
    };
    const kindCommands = h("input", { type: "radio", name: "kind", value: "commands", checked: true });
    const kindPrompt = h("input", { type: "radio", name: "kind", value: "prompt" });
    const commandsBox = field("commands", "Commands", inputs.commands, "One shell command per line, run in order in the clone. They see FORKYARD_FORK, FORKYARD_FORKS, FORKYARD_RUN_ID and FORKYARD_BRANCH.");
    const promptBox = h("div", { class: "stack", hidden: true },
      field("prompt", "Prompt", inputs.prompt),
      h("div", { class: "grid2" }, field("model", "Model", inputs.model), field("maxTurns", "Max turns", inputs.maxTurns)),
    );
    const syncKind = () => { commandsBox.hidden = !kindCommands.checked; promptBox.hidden = kindCommands.checked; };
    kindCommands.addEventListener("change", syncKind);
    kindPrompt.addEventListener("change", syncKind);

    const error = h("p", { class: "alert", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary" }, "Start run");

    const form = h("form", { class: "card pad stack", novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      for (const el of Object.values(inputs)) el.removeAttribute("aria-invalid");
      error.textContent = "";
      const body = {
        repo: inputs.repo.value.trim(),
        forks: Number(inputs.forks.value || 1),
        maxConcurrent: Number(inputs.maxConcurrent.value || 5),
      };
      if (inputs.branch.value.trim()) body.branch = inputs.branch.value.trim();
      if (kindCommands.checked) {
        body.task = { commands: inputs.commands.value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean) };
      } else {
        body.task = { prompt: inputs.prompt.value.trim() };
        if (inputs.model.value.trim()) body.task.model = inputs.model.value.trim();
        if (inputs.maxTurns.value) body.task.maxTurns = Number(inputs.maxTurns.value);
      }
      if (inputs.check.value.trim()) body.check = inputs.check.value.trim();
      if (inputs.timeoutSeconds.value) body.timeoutSeconds = Number(inputs.timeoutSeconds.value);
      if (inputs.budgetUsd.value) body.budgetUsd = Number(inputs.budgetUsd.value);

      submit.disabled = true;
      submit.textContent = "Starting…";
      try {
        const created = await api("/v1/runs", { method: "POST", body, headers: { "Idempotency-Key": idempotencyKey } });
        writeStorage(REPO_KEY, body.repo);
        idempotencyKey = randomKey();
        toast("Run " + created.id + " started.");
        location.hash = "#/runs/" + encodeURIComponent(created.id);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return;
        if (err instanceof ApiError && err.code === "idempotency_key_reused") idempotencyKey = randomKey();
        error.textContent = err.message;
        const fieldName = err.details && typeof err.details.field === "string" ? err.details.field : "";
        const target = fieldName.startsWith("task")
          ? (kindCommands.checked ? inputs.commands : (fieldName.endsWith("model") ? inputs.model : fieldName.endsWith("maxTurns") ? inputs.maxTurns : inputs.prompt))
          : inputs[fieldName.split(".")[0]];
        if (target) { target.setAttribute("aria-invalid", "true"); target.focus(); }
      } finally {
        submit.disabled = false;
        submit.textContent = "Start run";
      }
    } },
      field("repo", "Repository", inputs.repo, "An https git URL, or an absolute local path when the Worker allows local repos (npm start does)."),
      h("div", { class: "grid2" },
        field("branch", "Base branch", inputs.branch),
        field("forks", "Forks", inputs.forks),
        field("maxConcurrent", "Max concurrent", inputs.maxConcurrent),
      ),
      h("fieldset", { class: "stack" },
        h("legend", null, "Task"),
        h("div", { role: "radiogroup", "aria-label": "Task kind" },
          h("label", { class: "choice" }, kindCommands, "Shell commands"),
          h("label", { class: "choice" }, kindPrompt, "Agent prompt"),
        ),
        commandsBox,
        promptBox,
      ),
      h("div", { class: "grid2" },
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

  // ---------------------------------------------------------------- run page

  function showRun(id) {
    document.title = "Run " + id + " · Forkyard";
    const controller = new AbortController();
    const signal = controller.signal;
    let view = null;
    let lastStatus = null;
    let lastSeq = 0;
    let streamState = "connecting";
    const forkEls = new Map();
    /** Open/closed state of <details> elements, kept across re-renders. */
    const openState = new Map();

    const head = h("div");
    const liveEl = h("span", { class: "live", dataset: { state: "connecting" } }, "Connecting…");
    const stats = h("div", { class: "stats" });
    const forkMap = h("div", { class: "forkmap", role: "list", "aria-label": "Forks at a glance" });
    const forkList = h("div", { class: "forks" });
    const eventList = h("ol", { "aria-label": "Events, newest first" });
    const eventLog = h("details", { class: "card events", open: true }, h("summary", null, "Event log"), eventList);
    const error = h("p", { class: "alert", role: "alert" });

    main.replaceChildren(
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Runs"), " / ", h("span", { class: "mono" }, id)),
      head,
      error,
      h("p", { class: "loading" }, "Loading run…"),
    );

    // ---- data
    let refreshTimer = null;
    let inflight = false;
    let again = false;
    let lastRefreshAt = 0;

    function scheduleRefresh(delay) {
      if (refreshTimer !== null) return;
      refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, delay === undefined ? 250 : delay);
    }

    async function refresh() {
      if (inflight) { again = true; return; }
      inflight = true;
      try {
        const next = await api("/v1/runs/" + encodeURIComponent(id), { signal });
        lastRefreshAt = Date.now();
        error.textContent = "";
        render(next);
      } catch (err) {
        if (isAbort(err) || (err instanceof ApiError && err.status === 401)) return;
        if (err instanceof ApiError && err.status === 404) {
          main.replaceChildren(h("div", { class: "card pad narrow stack" }, h("h1", null, "Run not found"), h("p", null, "There is no run ", h("code", null, id), "."), h("p", null, h("a", { href: "#/" }, "Back to runs"))));
          controller.abort();
          return;
        }
        error.textContent = err.message;
      } finally {
        inflight = false;
        if (again && !signal.aborted) { again = false; scheduleRefresh(); }
      }
    }

    async function act(label, path, body) {
      try {
        const next = await api(path, { method: "POST", body });
        render(next);
        toast(label);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) toast(err.message, "error");
        scheduleRefresh(0);
      }
    }

    const finished = () => view !== null && TERMINAL_RUN.includes(view.status);

    // ---- rendering
    function render(next) {
      const first = view === null;
      view = next;
      if (first) {
        main.replaceChildren(
          h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Runs"), " / ", h("span", { class: "mono" }, id)),
          head,
          error,
          stats,
          forkMap,
          h("div", { class: "section-head" }, h("h2", null, "Forks"), h("span", { class: "muted", id: "fork-count" })),
          forkList,
          eventLog,
        );
      }
      renderHead();
      renderStats();
      renderForks();
      requestAnimationFrame(fitLabels);
      if (first) focusHeading();
      if (lastStatus !== null && lastStatus !== view.status) announce("Run " + human(view.status) + ".");
      lastStatus = view.status;
      document.title = "Run " + id + " · " + human(view.status) + " · Forkyard";
    }

    function renderHead() {
      const run = view;
      const req = run.request || {};
      const task = req.task || {};
      const busy = (btn, fn) => async () => { btn.disabled = true; try { await fn(); } finally { btn.disabled = false; } };
      const buttons = [];
      if (run.status === "running") {
        const b = h("button", { type: "button" }, "Pause");
        b.addEventListener("click", busy(b, () => act("Run paused: no new fork starts.", "/v1/runs/" + encodeURIComponent(id) + "/pause")));
        buttons.push(b);
      }
      if (run.status === "paused") {
        const b = h("button", { type: "button" }, "Resume");
        b.addEventListener("click", busy(b, () => act("Run resumed.", "/v1/runs/" + encodeURIComponent(id) + "/resume")));
        buttons.push(b);
      }
      if (run.status === "budget_exceeded") buttons.push(budgetForm());
      if (!TERMINAL_RUN.includes(run.status)) {
        const b = h("button", { type: "button", class: "danger" }, "Cancel run");
        b.addEventListener("click", busy(b, async () => {
          if (!confirm("Cancel run " + id + "? Running forks stop and their sandboxes are killed.")) return;
          await act("Run cancelled.", "/v1/runs/" + encodeURIComponent(id) + "/cancel");
        }));
        buttons.push(b);
      }
      liveEl.dataset.state = streamState;
      liveEl.textContent = streamLabel();

      const meta = [
        h("span", null, h("span", { class: "sr-only" }, "Repository: "), h("span", { class: "mono strong" }, req.repo || "?"), " @ ", h("span", { class: "mono" }, req.branch || "main")),
        h("span", null, "created ", timeEl(run.createdAt)),
        h("span", null, "elapsed ", elapsedEl(run.createdAt, TERMINAL_RUN.includes(run.status) ? run.updatedAt : null)),
        h("span", null, "max concurrent " + (req.maxConcurrent ?? "–")),
        h("span", null, "timeout " + fmtMs((req.timeoutSeconds || 0) * 1000) + " per fork"),
        req.budgetUsd !== undefined ? h("span", null, "budget " + fmtUsd(req.budgetUsd)) : null,
      ];
      const taskBox = h("section", { class: "card pad task", "aria-label": "Task" },
        Array.isArray(task.commands)
          ? [h("h2", { class: "sr-only" }, "Task"), h("strong", null, task.commands.length === 1 ? "Command" : "Commands"),
             h("ol", null, task.commands.map((c) => h("li", null, h("code", null, c))))]
          : [h("strong", null, "Agent prompt"),
             h("span", { class: "muted" }, " · model " + (task.model || "default") + (task.maxTurns ? " · up to " + task.maxTurns + " turns" : "")),
             h("pre", { class: "tail" }, task.prompt || "")],
        req.check ? h("p", { class: "muted" }, "Check: ", h("code", null, req.check)) : null,
      );
      head.replaceChildren(
        h("div", { class: "page-head" },
          h("div", { class: "title-row" },
            h("h1", null, "Run ", h("span", { class: "mono" }, run.id)),
            badge(run.status, { dataset: { runStatus: run.status }, id: "run-status" }),
            liveEl,
          ),
          h("div", { class: "actions" }, buttons),
        ),
        h("p", { class: "meta" }, meta),
        taskBox,
      );
    }

    function budgetForm() {
      const input = h("input", { type: "number", min: "0.01", step: "0.01", "aria-label": "New budget in USD", placeholder: "New budget $" });
      input.classList.add("small");
      input.style.setProperty("width", "9em");
      const b = h("button", { type: "submit", class: "small primary" }, "Raise budget");
      return h("form", { class: "actions", onsubmit: async (ev) => {
        ev.preventDefault();
        if (!input.value) { input.focus(); return; }
        b.disabled = true;
        await act("Budget raised.", "/v1/runs/" + encodeURIComponent(id) + "/budget", { budgetUsd: Number(input.value) });
        b.disabled = false;
      } }, input, b);
    }

    function renderStats() {
      const t = view.totals;
      const n = view.forks.length;
      const stat = (label, value, sub) => h("div", { class: "card stat" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
      const cost = t.costUsd || { sandbox: 0, llm: 0, total: 0 };
      stats.replaceChildren(
        stat("Forks", String(n)),
        stat("Succeeded", String(t.succeeded)),
        stat("Failed", String(t.failed)),
        stat("Running", String(t.running), t.queued ? t.queued + " queued" : null),
        stat("Cancelled", String(t.cancelled), t.budgetExceeded ? t.budgetExceeded + " over budget" : null),
        stat("Cost", fmtUsd(cost.total), "sandbox " + fmtUsd(cost.sandbox) + " · LLM " + fmtUsd(cost.llm)),
      );
      forkMap.replaceChildren(...view.forks.map((f) =>
        h("div", { role: "listitem" },
          h("button", { type: "button", class: "m-" + cls(f.status), title: "Fork " + f.n + ": " + human(f.status), "aria-label": "Fork " + f.n + ": " + human(f.status) + ". Show it.",
            onclick: () => { const el = forkEls.get(f.n); if (el) { el.el.scrollIntoView({ block: "start" }); el.el.focus({ preventScroll: true }); } } }, String(f.n)))));
      forkMap.hidden = n < 2;
      const count = document.getElementById("fork-count");
      if (count) count.textContent = t.succeeded + " of " + n + " succeeded";
    }

    function renderForks() {
      const seen = new Set();
      let previous = null;
      for (const fork of view.forks) {
        seen.add(fork.n);
        const key = JSON.stringify(fork) + "|" + view.status;
        let entry = forkEls.get(fork.n);
        if (!entry || entry.key !== key) {
          const el = forkCard(fork);
          if (entry) {
            const hadFocus = entry.el.contains(document.activeElement);
            entry.el.replaceWith(el);
            if (hadFocus) el.focus({ preventScroll: true });
          }
          entry = { key, el };
          forkEls.set(fork.n, entry);
        }
        // Keep the DOM in fork order.
        const expectedNext = previous ? previous.nextSibling : forkList.firstChild;
        if (expectedNext !== entry.el) forkList.insertBefore(entry.el, expectedNext);
        previous = entry.el;
      }
      for (const [n, entry] of forkEls) if (!seen.has(n)) { entry.el.remove(); forkEls.delete(n); }
    }

    /** Restores a <details>' open state; only the user's own toggles (summary clicks) are remembered. */
    /** Timeline labels show only where they fit whole. */
    function fitLabels() {
      for (const label of forkList.querySelectorAll(".seg span")) {
        label.classList.toggle("clipped", label.scrollWidth > label.clientWidth);
      }
    }

    function keepOpen(details, key, defaultOpen) {
      details.open = openState.has(key) ? openState.get(key) : defaultOpen;
      const summary = details.querySelector("summary");
      if (summary) summary.addEventListener("click", () => openState.set(key, !details.open));
      return details;
    }

    function forkCard(f) {
      const cost = f.costUsd || { sandbox: 0, llm: 0, total: 0 };
      const running = f.steps.filter((s) => s.status === "running");
      const current = running.length ? running[running.length - 1] : null;
      const terminal = TERMINAL_FORK.includes(f.status) && !(f.status === "budget_exceeded" && view.status === "budget_exceeded");
      let cancel = null;
      if (!terminal && !TERMINAL_RUN.includes(view.status)) {
        cancel = h("button", { type: "button", class: "small danger", "aria-label": "Cancel fork " + f.n }, "Cancel fork");
        cancel.addEventListener("click", async () => {
          if (!confirm("Cancel fork " + f.n + "?")) return;
          cancel.disabled = true;
          await act("Fork " + f.n + " cancelled.", "/v1/runs/" + encodeURIComponent(id) + "/forks/" + f.n + "/cancel");
          cancel.disabled = false;
        });
      }
      const facts = [];
      const fact = (label, ...value) => facts.push(h("div", null, h("dt", null, label), h("dd", null, value)));
      if (f.status === "running") fact("Current step", current ? h("code", null, current.name) : "between steps", current && current.attempts > 1 ? " (attempt " + current.attempts + ")" : "");
      fact("Steps", String(f.steps.length));
      fact("Attempts", String(f.attempts));
      fact("Cost", fmtUsd(cost.total), h("span", { class: "muted" }, " (sandbox " + fmtUsd(cost.sandbox) + " · LLM " + fmtUsd(cost.llm) + ")"));
      if (f.check) fact("Check", h("span", { class: f.check.passed ? "ok-text" : "bad-text" }, f.check.passed ? "passed" : "failed"), " (exit " + f.check.exitCode + ")");
      if (f.diff) fact("Diff", f.diff.files + " files ", h("span", { class: "ok-text" }, "+" + f.diff.insertions), " ", h("span", { class: "bad-text" }, "−" + f.diff.deletions));
      if (f.sandboxId) fact("Sandbox", h("code", null, f.sandboxId));

      return h("article", { class: "card fork", tabindex: "-1", dataset: { fork: String(f.n), status: f.status }, "aria-labelledby": "fork-" + f.n + "-title" },
        h("header", { class: "fork-head" },
          h("h3", { id: "fork-" + f.n + "-title" }, "Fork " + f.n),
          badge(f.status),
          h("span", { class: "branch mono", title: f.branch }, f.branch),
          h("span", { class: "right" },
            h("span", { title: "Elapsed" }, h("span", { class: "sr-only" }, "Elapsed "), elapsedEl(f.startedAt, f.finishedAt)),
            h("span", { title: "Total cost" }, h("span", { class: "sr-only" }, "Cost "), fmtUsd(cost.total)),
            cancel,
          ),
        ),
        h("dl", { class: "facts" }, facts),
        f.steps.length ? timeline(f) : h("p", { class: "muted" }, f.status === "queued" ? "Waiting to start." : "No steps yet."),
        agentBlock(f),
        commandsBlock(f),
        filesBlock(f),
        f.error ? h("div", { class: "error-box", role: "note" }, h("code", null, f.error.code), ": ", f.error.message) : null,
      );
    }

    function timeline(f) {
      const durations = f.steps.map((s) => (typeof s.durationMs === "number" ? s.durationMs : null));
      const known = durations.filter((d) => d !== null);
      const total = known.reduce((a, b) => a + b, 0);
      // A running step has no duration yet: draw it as wide as the average step (at least something).
      const runningGrow = Math.max(total / Math.max(known.length, 1), 1);
      const bar = h("div", { class: "timeline", "aria-hidden": "true" });
      f.steps.forEach((s, i) => {
        const seg = h("div", { class: "seg st-" + cls(s.status) + (s.attempts > 1 ? " retried" : ""), title: stepTitle(s) }, h("span", null, s.name));
        seg.style.setProperty("flex-grow", String(durations[i] === null ? runningGrow : Math.max(durations[i], 1)));
        bar.append(seg);
      });
      const chips = (steps) => h("ol", { class: "steps", "aria-label": "Steps of fork " + f.n }, steps.map((s) =>
        h("li", { class: "st-" + cls(s.status), title: stepTitle(s) },
          h("span", { class: "name" }, s.name),
          h("span", null, s.status === "running" ? "running" : fmtMs(s.durationMs)),
          s.status === "failed" ? h("span", { class: "sr-only" }, "failed") : null,
          s.attempts > 1 ? h("span", { class: "att", title: s.attempts + " attempts" }, "×" + s.attempts) : null,
        )));
      const list = f.steps.length <= 14
        ? chips(f.steps)
        : keepOpen(h("details", { class: "more" }, h("summary", null, "All " + f.steps.length + " steps"), chips(f.steps)), "steps-" + f.n, false);
      return [bar, list];
    }

    function stepTitle(s) {
      return s.name + " — " + s.status + (s.durationMs !== null && s.durationMs !== undefined ? " — " + fmtMs(s.durationMs) : "") + " — " + s.attempts + (s.attempts === 1 ? " attempt" : " attempts");
    }

    function agentBlock(f) {
      const a = f.agent;
      if (!a) return null;
      const tokens = a.tokens || {};
      return h("div", { class: "output" }, h("section", { class: "agent", "aria-label": "Agent" },
        h("div", null, h("strong", null, "Agent"), h("span", { class: "muted" },
          " · " + a.model + " · " + a.turns + " turns · " + a.toolCalls + " tool calls · stop: " + human(a.stopReason))),
        h("div", { class: "muted" }, "Tokens: " + fmtInt(tokens.input) + " in · " + fmtInt(tokens.output) + " out · " + fmtInt(tokens.cacheRead) + " cache read · " + fmtInt(tokens.cacheWrite) + " cache write"),
        a.summary ? h("p", { class: "summary" }, a.summary) : null,
      ));
    }

    /**
     * The fork's stored files and patch, fetched when opened (with the token: no plain links). A
     * file downloads through a blob URL; the patch shows as a readable diff.
     */
    function filesBlock(f) {
      const a = f.artifacts;
      if (!a || (a.files === 0 && !a.patch && a.skippedCount === 0)) return null;
      const base = "/v1/runs/" + encodeURIComponent(id) + "/forks/" + f.n;
      const body = h("div", { class: "files" }, h("p", { class: "muted" }, "Loading…"));
      const globs = view.request.artifacts || [];
      const parts = [];
      if (globs.length) parts.push(a.files + " file" + (a.files === 1 ? "" : "s") + " (" + fmtBytes(a.bytes) + ")" + (a.skippedCount ? ", " + a.skippedCount + " skipped" : ""));
      if (a.patch) parts.push("patch " + fmtBytes(a.patch.bytes));
      const box = keepOpen(h("details", { class: "cmd" }, h("summary", null,
        h("strong", null, globs.length ? "Files and patch" : "Patch"), h("span", { class: "muted" }, " · " + parts.join(" · "))),
        body), "files-" + f.n, false);
      let loaded = false;
      const load = async () => {
        if (loaded || !box.open) return;
        loaded = true;
        try {
          const list = globs.length ? await api(base + "/artifacts") : { artifacts: [], skipped: [] };
          const rows = list.artifacts.map((file) => {
            const button = h("button", { type: "button", class: "small" }, "Download");
            button.addEventListener("click", () => download(base + "/artifacts/" + file.path.split("/").map(encodeURIComponent).join("/"), file.path.split("/").pop()));
            return h("li", null, h("code", null, file.path), h("span", { class: "muted" }, " " + fmtBytes(file.bytes) + " · sha256 " + file.sha256.slice(0, 12) + "… "), button);
          });
          const skipped = list.skipped.map((s) => h("li", { class: "muted" }, h("code", null, s.path), " skipped: " + human(s.reason)));
          body.replaceChildren(
            rows.length || skipped.length ? h("ul", { class: "file-list" }, rows, skipped) : globs.length ? h("p", { class: "muted" }, "No files matched.") : null,
            a.patch ? await patchView(base + "/patch") : null,
          );
        } catch (err) {
          loaded = false;
          body.replaceChildren(h("p", { class: "bad-text" }, err.message || String(err)));
        }
      };
      box.addEventListener("toggle", load);
      queueMicrotask(load);
      return h("div", { class: "output" }, box);
    }

    async function authorizedBlob(path) {
      const res = await fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {}, cache: "no-store", credentials: "omit" });
      if (!res.ok) throw new Error("HTTP " + res.status + " for " + path);
      return res.blob();
    }

    async function download(path, name) {
      const url = URL.createObjectURL(await authorizedBlob(path));
      const link = h("a", { href: url, download: name || "artifact" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    }

    async function patchView(path) {
      const text = await (await authorizedBlob(path)).text();
      const lines = text.split("\n").map((line) => {
        const kind = line.startsWith("diff --git") ? "file" : line.startsWith("@@") ? "hunk" : line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "ctx";
        return h("span", { class: "d-" + kind }, line + "\n");
      });
      return h("pre", { class: "diff", "aria-label": "Patch" }, lines);
    }

    function commandsBlock(f) {
      if (!f.commands || f.commands.length === 0) return null;
      const lastIndex = f.commands.length - 1;
      return h("div", { class: "output" }, f.commands.map((c, i) => {
        const failed = c.exitCode !== 0;
        const streams = [];
        if (c.stdoutTail) streams.push(h("div", { class: "stream-label" }, "stdout"), h("pre", { class: "tail" }, c.stdoutTail));
        if (c.stderrTail) streams.push(h("div", { class: "stream-label" }, "stderr"), h("pre", { class: "tail stderr" }, c.stderrTail));
        if (!streams.length) streams.push(h("pre", { class: "tail muted" }, "(no output)"));
        return keepOpen(h("details", { class: "cmd" },
          h("summary", null,
            h("code", { title: c.command }, "$ " + c.command),
            h("span", { class: "exit" }, h("span", { class: failed ? "bad-text" : "ok-text" }, "exit " + c.exitCode), " · " + fmtMs(c.durationMs)),
          ),
          streams,
        ), "cmd-" + f.n + "-" + i, failed || i === lastIndex || f.commands.length <= 3);
      }));
    }

    // ---- events
    function describe(e) {
      const step = e.step ? e.step : "";
      switch (e.type) {
        case "run.created": return "Run created with " + e.forks + " fork" + (e.forks === 1 ? "" : "s");
        case "fork.started": return "Started";
        case "step.started": return "Step " + step + " started" + (e.attempt > 1 ? " (attempt " + e.attempt + ")" : "");
        case "step.finished": return "Step " + step + (e.ok ? " done" : " failed") + " in " + fmtMs(e.durationMs) + (e.error && e.error.message ? ": " + e.error.message : "");
        case "command.finished": return "$ " + e.command + " → exit " + e.exitCode + " in " + fmtMs(e.durationMs);
        case "cost.recorded": return "Cost +" + fmtUsd(e.usd) + " (" + e.kind + "), run total " + fmtUsd(e.spentUsd);
        case "fork.budget_exceeded": return "Stopped: budget spent (" + fmtUsd(e.spentUsd) + ")";
        case "fork.resumed": return "Resumed";
        case "fork.queued": return "Waiting for a sandbox (position " + e.position + " in the queue)";
        case "fork.finished": return "Finished: " + human(e.status) + (e.error ? " — " + e.error : "");
        case "run.status": return "Run is " + human(e.status);
        case "run.budget": return "Budget raised to " + fmtUsd(e.budgetUsd);
        case "run.finished": return "Run finished: " + human(e.status);
        default: return e.type;
      }
    }

    function logEvent(e) {
      eventList.prepend(h("li", { dataset: { type: e.type } },
        h("time", { datetime: e.at }, clock(e.at)),
        h("span", { class: "who" }, e.fork ? "fork " + e.fork : "run"),
        h("span", { class: "what" }, describe(e)),
      ));
      while (eventList.children.length > EVENT_LOG_MAX) eventList.lastChild.remove();
    }

    function streamLabel() {
      if (finished() && streamState !== "live") return "Finished";
      return { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", ended: "Finished", off: "Not live" }[streamState] || "";
    }

    function setStreamState(state) {
      streamState = state;
      liveEl.dataset.state = state;
      liveEl.textContent = streamLabel();
    }

    async function follow() {
      let lastEventId = null;
      let retryMs = 2000;
      let failures = 0;
      while (!signal.aborted) {
        let sawEnd = false;
        try {
          const headers = { Accept: "text/event-stream", Authorization: "Bearer " + token };
          if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
          const res = await fetch("/v1/runs/" + encodeURIComponent(id) + "/events", { headers, signal, cache: "no-store", credentials: "omit" });
          if (res.status === 401) { forgetToken("The API rejected the token. Enter a valid one."); return; }
          if (res.status === 404) { setStreamState("off"); return; }
          if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
          setStreamState("live");
          failures = 0;
          await readSse(res.body, (frame) => {
            if (frame.id !== undefined) lastEventId = frame.id;
            if (frame.retry !== undefined) retryMs = frame.retry;
            if (frame.data === undefined) return;
            let e;
            try { e = JSON.parse(frame.data); } catch { return; }
            if (typeof e.seq === "number") {
              if (e.seq <= lastSeq) return;
              lastSeq = e.seq;
            }
            logEvent(e);
            if (e.type === "run.finished") sawEnd = true;
            scheduleRefresh(e.type === "run.finished" || e.type === "run.status" ? 0 : 250);
          });
        } catch (err) {
          if (signal.aborted) return;
        }
        if (signal.aborted) return;
        if (!sawEnd) { await refresh(); }
        if (sawEnd || finished()) { setStreamState("ended"); scheduleRefresh(0); return; }
        failures++;
        setStreamState("reconnecting");
        await sleep(Math.min(retryMs * Math.pow(2, Math.min(failures - 1, 4)), 30000), signal);
      }
    }

    /** Reads a text/event-stream body, calling onFrame({ id, event, data, retry }) per dispatched block. */
    async function readSse(body, onFrame) {
      const reader = body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let frame = {};
      let data = [];
      const line = (text) => {
        if (text === "") {
          if (data.length || frame.id !== undefined || frame.retry !== undefined) {
            onFrame({ id: frame.id, event: frame.event, retry: frame.retry, data: data.length ? data.join("\n") : undefined });
          }
          frame = {};
          data = [];
          return;
        }
        if (text.startsWith(":")) return; // comment / keepalive
        const colon = text.indexOf(":");
        const name = colon < 0 ? text : text.slice(0, colon);
        let value = colon < 0 ? "" : text.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (name === "data") data.push(value);
        else if (name === "event") frame.event = value;
        else if (name === "id" && !value.includes("\u0000")) frame.id = value;
        else if (name === "retry" && /^\d+$/.test(value)) frame.retry = Number(value);
      };
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          for (;;) {
            const m = /\r\n|\r|\n/.exec(buffer);
            if (!m) break;
            // A lone CR at the very end may be the first half of CRLF: wait for more input.
            if (m[0] === "\r" && m.index === buffer.length - 1) break;
            line(buffer.slice(0, m.index));
            buffer = buffer.slice(m.index + m[0].length);
          }
        }
      } finally {
        try { reader.releaseLock(); } catch { /* already released */ }
      }
    }

    refresh();
    follow();
    const ticker = setInterval(tickClocks, 1000);
    // A slow safety poll behind the stream (fast while the stream is down).
    const poller = setInterval(() => {
      if (finished() || document.visibilityState !== "visible") return;
      if (streamState !== "live" || Date.now() - lastRefreshAt > 30000) scheduleRefresh(0);
    }, 5000);
    let resizeTimer = null;
    const onResize = () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(fitLabels, 150);
    };
    window.addEventListener("resize", onResize);
    leaveView = () => {
      window.removeEventListener("resize", onResize);
      clearTimeout(resizeTimer);
      controller.abort();
      clearInterval(ticker);
      clearInterval(poller);
      if (refreshTimer !== null) clearTimeout(refreshTimer);
    };
  }

${sessionsScript}
  // ---------------------------------------------------------------- start

  document.getElementById("skip-link").addEventListener("click", (ev) => {
    ev.preventDefault();
    main.focus();
  });
  window.addEventListener("hashchange", route);
  route();
})();
`;
