/**
 * The dashboard's stylesheet, served at /dashboard/app.css. Plain CSS (no build step), light and
 * dark schemes from the system setting, narrow-width layouts, visible focus, reduced motion.
 */
export const dashboardCss = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f5f6f8;
  --surface: #ffffff;
  --surface-2: #f0f2f5;
  --border: #dfe3e8;
  --text: #1a1e24;
  --muted: #5a6473;
  --accent: #4338ca;
  --accent-text: #ffffff;
  --accent-soft: #e0e7ff;
  --danger: #b91c1c;
  --danger-soft: #fee2e2;
  --code-bg: #f3f4f7;
  --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08);
  --radius: 10px;
  --mono: ui-monospace, "SFMono-Regular", "JetBrains Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace;

  --c-running: #2563eb;   --t-running: #1e40af;   --b-running: #dbeafe;
  --c-queued: #94a3b8;    --t-queued: #475569;    --b-queued: #eef1f5;
  --c-paused: #d97706;    --t-paused: #92400e;    --b-paused: #fef3c7;
  --c-succeeded: #16a34a; --t-succeeded: #166534; --b-succeeded: #dcfce7;
  --c-failed: #dc2626;    --t-failed: #991b1b;    --b-failed: #fee2e2;
  --c-cancelled: #6b7280; --t-cancelled: #374151; --b-cancelled: #e5e7eb;
  --c-timed_out: #ea580c; --t-timed_out: #9a3412; --b-timed_out: #ffedd5;
  --c-budget: #7c3aed;    --t-budget: #5b21b6;    --b-budget: #ede9fe;
}

@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1116;
    --surface: #161a21;
    --surface-2: #1d222b;
    --border: #2b323d;
    --text: #e6e9ee;
    --muted: #9aa3b1;
    --accent: #818cf8;
    --accent-text: #0e1116;
    --accent-soft: #272a4d;
    --danger: #f87171;
    --danger-soft: #3b1717;
    --code-bg: #11151b;
    --shadow: none;
    --t-running: #93c5fd;   --b-running: #172554;
    --t-queued: #cbd5e1;    --b-queued: #1f2631;
    --t-paused: #fcd34d;    --b-paused: #3a2a07;
    --t-succeeded: #86efac; --b-succeeded: #0f2e1a;
    --t-failed: #fca5a5;    --b-failed: #3b1414;
    --t-cancelled: #d1d5db; --b-cancelled: #262b33;
    --t-timed_out: #fdba74; --b-timed_out: #3a1d0a;
    --t-budget: #c4b5fd;    --b-budget: #2a1a4d;
  }
}

*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif;
}
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
code, pre, .mono { font-family: var(--mono); font-size: .87em; }
h1, h2, h3 { line-height: 1.25; margin: 0; }
h1 { font-size: 1.45rem; font-weight: 650; }
h2 { font-size: 1.1rem; font-weight: 650; }
h3 { font-size: 1rem; font-weight: 650; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; border-radius: 4px; }
[tabindex="-1"]:focus { outline: none; }
[hidden] { display: none !important; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.skip { position: absolute; left: -999px; top: 8px; background: var(--surface); padding: 8px 12px; z-index: 10; }
.skip:focus { left: 8px; }

/* Top bar */
.topbar {
  position: sticky; top: 0; z-index: 5;
  background: var(--surface);
  border-bottom: 1px solid var(--border);
}
.topbar-inner {
  max-width: 1120px; margin: 0 auto; padding: 10px 20px;
  display: flex; align-items: center; gap: 18px; flex-wrap: wrap;
}
.brand { display: flex; align-items: center; gap: 8px; font-weight: 700; font-size: 1.05rem; color: var(--text); text-decoration: none; }
.brand svg { width: 22px; height: 22px; color: var(--accent); }
.nav { display: flex; gap: 4px; }
.nav a {
  color: var(--muted); text-decoration: none; padding: 6px 10px; border-radius: 8px; font-weight: 550;
}
.nav a:hover { color: var(--text); background: var(--surface-2); }
.nav a[aria-current="page"] { color: var(--text); background: var(--surface-2); }
.auth { margin-left: auto; display: flex; align-items: center; gap: 10px; color: var(--muted); font-size: .88rem; }

main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 64px; }

/* Buttons and inputs */
button, .button {
  font: inherit; font-size: .9rem; font-weight: 550;
  display: inline-flex; align-items: center; justify-content: center; gap: 6px;
  min-height: 34px; padding: 5px 14px;
  border-radius: 8px; border: 1px solid var(--border);
  background: var(--surface); color: var(--text);
  cursor: pointer; text-decoration: none; white-space: nowrap;
}
button:hover:not(:disabled), .button:hover { background: var(--surface-2); }
button:disabled { opacity: .55; cursor: not-allowed; }
.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
.primary:hover:not(:disabled) { background: var(--accent); filter: brightness(1.08); }
.danger { color: var(--danger); border-color: color-mix(in srgb, var(--danger) 40%, var(--border)); }
.danger:hover:not(:disabled) { background: var(--danger-soft); }
.small { min-height: 28px; padding: 2px 10px; font-size: .82rem; }
.link-button { border: 0; background: none; padding: 0; min-height: 0; color: var(--accent); font-weight: 500; text-decoration: underline; }
.link-button:hover:not(:disabled) { background: none; }

input, select, textarea {
  font: inherit; color: var(--text); background: var(--surface);
  border: 1px solid var(--border); border-radius: 8px; padding: 7px 10px; width: 100%;
}
textarea { font-family: var(--mono); font-size: .88rem; min-height: 96px; resize: vertical; }
select { width: auto; padding-right: 28px; }
input:focus, select:focus, textarea:focus { outline: 2px solid var(--accent); outline-offset: -1px; border-color: transparent; }
[aria-invalid="true"] { border-color: var(--danger); }
label { font-weight: 600; font-size: .88rem; }
.field { display: flex; flex-direction: column; gap: 5px; }
.hint { color: var(--muted); font-size: .82rem; font-weight: 400; }
fieldset { border: 1px solid var(--border); border-radius: var(--radius); padding: 12px 14px 14px; margin: 0; }
legend { font-weight: 600; font-size: .88rem; padding: 0 6px; }
.choice { display: inline-flex; align-items: center; gap: 6px; font-weight: 500; margin-right: 18px; }
.choice input { width: auto; }

/* Layout pieces */
.card { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); }
.pad { padding: 16px 18px; }
.page-head { display: flex; align-items: flex-start; justify-content: space-between; gap: 12px 16px; flex-wrap: wrap; margin-bottom: 16px; }
.title-row { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.crumbs { font-size: .88rem; color: var(--muted); margin-bottom: 8px; }
.meta { color: var(--muted); font-size: .9rem; margin: 0 0 16px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.meta .strong { color: var(--text); }
.muted { color: var(--muted); }
.empty { padding: 40px 20px; text-align: center; color: var(--muted); }
.loading { color: var(--muted); }
.narrow { max-width: 520px; margin: 40px auto; }
.stack > * + * { margin-top: 14px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 14px; }
.alert { border-radius: 8px; padding: 10px 12px; background: var(--danger-soft); color: var(--danger); font-size: .9rem; }
.alert:empty { display: none; }

/* Status badges */
.badge {
  display: inline-flex; align-items: center; gap: 6px;
  padding: 1px 9px 1px 8px; border-radius: 999px; font-size: .78rem; font-weight: 650;
  text-transform: capitalize; white-space: nowrap;
  background: var(--b-queued); color: var(--t-queued);
}
.badge::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; opacity: .9; }
.s-running { background: var(--b-running); color: var(--t-running); }
.s-queued { background: var(--b-queued); color: var(--t-queued); }
.s-paused { background: var(--b-paused); color: var(--t-paused); }
.s-succeeded, .s-completed { background: var(--b-succeeded); color: var(--t-succeeded); }
.s-failed { background: var(--b-failed); color: var(--t-failed); }
.s-cancelled { background: var(--b-cancelled); color: var(--t-cancelled); }
.s-timed_out { background: var(--b-timed_out); color: var(--t-timed_out); }
.s-budget_exceeded { background: var(--b-budget); color: var(--t-budget); }
.badge.s-running::before { animation: pulse 1.4s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .25; } }

.live { font-size: .8rem; color: var(--muted); display: inline-flex; align-items: center; gap: 6px; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--c-queued); }
.live[data-state="live"]::before { background: var(--c-succeeded); box-shadow: 0 0 0 3px color-mix(in srgb, var(--c-succeeded) 25%, transparent); }
.live[data-state="reconnecting"]::before { background: var(--c-paused); }

/* Runs table */
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .92rem; }
th { text-align: left; font-size: .76rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 650; }
th, td { padding: 10px 14px; border-bottom: 1px solid var(--border); vertical-align: middle; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: var(--surface-2); }
td.repo { max-width: 340px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.progress { display: flex; height: 6px; width: 90px; border-radius: 3px; overflow: hidden; background: var(--b-queued); margin-top: 4px; }
.progress span { display: block; height: 100%; }
.p-ok { background: var(--c-succeeded); }
.p-bad { background: var(--c-failed); }
.list-foot { display: flex; justify-content: center; padding: 14px; }

/* Run page */
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 10px; margin-bottom: 16px; }
.stat { padding: 10px 14px; }
.stat .label { font-size: .74rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 650; }
.stat .value { font-size: 1.35rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .sub { font-size: .78rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.task { margin-bottom: 16px; }
.task ol { margin: 6px 0 0; padding-left: 22px; }
.task li code, .cmd code { word-break: break-word; }
.task pre { margin: 6px 0 0; }
.task p { margin: 10px 0 0; }
.forkmap { display: flex; flex-wrap: wrap; gap: 4px; margin: 0 0 16px; }
.forkmap button {
  min-height: 0; width: 22px; height: 22px; padding: 0; border-radius: 5px; border: 0;
  font-size: .66rem; font-weight: 700; color: #fff; background: var(--c-queued);
}
.forkmap button:hover:not(:disabled) { background: var(--c-queued); filter: brightness(1.1); }
.forkmap .m-running, .forkmap .m-running:hover:not(:disabled) { background: var(--c-running); }
.forkmap .m-succeeded, .forkmap .m-succeeded:hover:not(:disabled) { background: var(--c-succeeded); }
.forkmap .m-failed, .forkmap .m-failed:hover:not(:disabled) { background: var(--c-failed); }
.forkmap .m-cancelled, .forkmap .m-cancelled:hover:not(:disabled) { background: var(--c-cancelled); }
.forkmap .m-timed_out, .forkmap .m-timed_out:hover:not(:disabled) { background: var(--c-timed_out); }
.forkmap .m-budget_exceeded, .forkmap .m-budget_exceeded:hover:not(:disabled) { background: var(--c-budget); }

.section-head { display: flex; align-items: baseline; justify-content: space-between; gap: 10px; margin: 22px 0 10px; }
.forks { display: grid; grid-template-columns: minmax(0, 1fr); gap: 12px; }
.fork { min-width: 0; padding: 14px 16px; border-left: 4px solid var(--c-queued); scroll-margin-top: 70px; }
.fork[data-status="running"] { border-left-color: var(--c-running); }
.fork[data-status="succeeded"] { border-left-color: var(--c-succeeded); }
.fork[data-status="failed"] { border-left-color: var(--c-failed); }
.fork[data-status="cancelled"] { border-left-color: var(--c-cancelled); }
.fork[data-status="timed_out"] { border-left-color: var(--c-timed_out); }
.fork[data-status="budget_exceeded"] { border-left-color: var(--c-budget); }
.fork-head { display: flex; align-items: center; gap: 8px 12px; flex-wrap: wrap; }
.fork-head .branch { color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; max-width: 100%; }
.fork-head .right { margin-left: auto; display: flex; align-items: center; gap: 12px; font-variant-numeric: tabular-nums; color: var(--muted); font-size: .88rem; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 10px 0 0; font-size: .86rem; }
.facts div { display: flex; gap: 6px; min-width: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.ok-text { color: var(--t-succeeded); font-weight: 600; }
.bad-text { color: var(--t-failed); font-weight: 600; }

.timeline { display: flex; gap: 2px; height: 20px; margin: 12px 0 8px; border-radius: 5px; overflow: hidden; background: var(--surface-2); }
.seg { flex: 1 1 0; min-width: 4px; background: var(--c-succeeded); position: relative; overflow: hidden; }
.seg:nth-child(even) { background-color: color-mix(in srgb, var(--c-succeeded) 78%, #000); }
.seg.st-failed:nth-child(even) { background-color: color-mix(in srgb, var(--c-failed) 80%, #000); }
.seg span {
  position: absolute; inset: 0; padding: 0 5px; font-size: .68rem; line-height: 20px; color: #fff; font-weight: 600;
  white-space: nowrap; overflow: hidden; font-family: var(--mono);
}
.seg span.clipped { visibility: hidden; }
.seg.st-failed { background: var(--c-failed); }
.seg.st-running {
  background: var(--c-running);
  background-image: linear-gradient(135deg, rgba(255,255,255,.28) 25%, transparent 25%, transparent 50%, rgba(255,255,255,.28) 50%, rgba(255,255,255,.28) 75%, transparent 75%);
  background-size: 14px 14px;
  animation: stripes 1s linear infinite;
}
.seg.retried { box-shadow: inset 0 -3px 0 rgba(0,0,0,.35); }
@keyframes stripes { to { background-position: 14px 0; } }
.steps { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 6px; margin: 0; padding: 0; font-size: .76rem; }
.steps li {
  display: inline-flex; align-items: center; gap: 5px; padding: 1px 8px; border-radius: 6px;
  background: var(--surface-2); color: var(--muted); font-variant-numeric: tabular-nums;
}
.steps li::before { content: ""; width: 6px; height: 6px; border-radius: 2px; background: var(--c-succeeded); }
.steps li.st-failed::before { background: var(--c-failed); }
.steps li.st-running::before { background: var(--c-running); }
.steps li .name { color: var(--text); font-family: var(--mono); font-size: .95em; }
.steps li .att { color: var(--t-paused); font-weight: 700; }
details.more > summary { cursor: pointer; color: var(--muted); font-size: .82rem; margin-top: 4px; }
details.more[open] > summary { margin-bottom: 6px; }

.output { margin-top: 12px; display: grid; gap: 8px; }
.files { padding: 8px 12px; }
.file-list { margin: 0 0 8px; padding-left: 18px; display: grid; gap: 4px; }
.diff { max-height: 480px; overflow: auto; margin: 0; padding: 8px; border-radius: 6px; background: var(--code-bg, rgba(127,127,127,.08)); white-space: pre; }
.d-file { font-weight: 700; }
.d-hunk { color: var(--muted); }
.d-add { color: var(--t-succeeded); }
.d-del { color: var(--t-failed); }
.cmd { border: 1px solid var(--border); border-radius: 8px; overflow: hidden; }
.cmd > summary {
  cursor: pointer; list-style-position: inside; padding: 6px 10px; background: var(--surface-2);
  display: flex; gap: 10px; align-items: baseline; font-size: .86rem;
}
.cmd > summary::-webkit-details-marker { display: none; }
.cmd > summary::before { content: "\25B8"; color: var(--muted); }
.cmd[open] > summary::before { content: "\25BE"; }
.cmd > summary code { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.cmd > summary .exit { white-space: nowrap; font-variant-numeric: tabular-nums; color: var(--muted); font-size: .8rem; }
pre.tail {
  margin: 0; padding: 8px 12px; background: var(--code-bg); max-height: 260px; overflow: auto;
  white-space: pre-wrap; word-break: break-word; font-size: .8rem; line-height: 1.45;
}
pre.tail.stderr { color: var(--danger); }
.stream-label { font-size: .7rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); padding: 4px 12px 0; background: var(--code-bg); }
.agent { border: 1px solid var(--border); border-radius: 8px; padding: 10px 12px; font-size: .88rem; }
.agent .summary { white-space: pre-wrap; margin: 6px 0 0; }
.error-box { margin-top: 12px; padding: 8px 12px; border-radius: 8px; background: var(--danger-soft); color: var(--danger); font-size: .86rem; overflow-wrap: anywhere; }
.error-box code { font-weight: 700; }

.events { margin-top: 22px; }
.events > summary { cursor: pointer; padding: 12px 16px; font-weight: 650; }
.events ol { list-style: none; margin: 0; padding: 0 16px 12px; max-height: 320px; overflow: auto; font-size: .82rem; }
.events li { display: grid; grid-template-columns: 74px 56px 1fr; gap: 8px; padding: 3px 0; border-top: 1px solid var(--border); }
.events time, .events .who { color: var(--muted); font-variant-numeric: tabular-nums; }
.events .what { overflow-wrap: anywhere; }

/* Toasts */
.toasts { position: fixed; right: 16px; bottom: 16px; display: grid; gap: 8px; z-index: 20; max-width: min(420px, calc(100vw - 32px)); }
.toast { background: var(--text); color: var(--bg); padding: 10px 14px; border-radius: 8px; font-size: .88rem; box-shadow: 0 4px 14px rgba(0,0,0,.2); }
.toast.error { background: var(--danger); color: #fff; }

/* Narrow screens */
@media (max-width: 720px) {
  body { font-size: 14px; }
  main { padding: 16px 12px 48px; }
  .topbar-inner { padding: 8px 12px; gap: 10px; }
  .auth .who { display: none; }
  .page-head { flex-direction: column; }
  table.runs thead { display: none; }
  table.runs, table.runs tbody, table.runs tr, table.runs td { display: block; width: 100%; }
  table.runs tr { padding: 10px 14px; border-bottom: 1px solid var(--border); }
  table.runs td { border: 0; padding: 2px 0; max-width: none; }
  table.runs td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .8rem; }
  table.runs td:nth-child(-n+2) { display: inline-block; width: auto; margin: 0 10px 4px 0; }
  table.runs td:nth-child(-n+2)::before { content: none; }
  table.runs td.repo { white-space: normal; overflow-wrap: anywhere; }
  .fork-head .right { margin-left: 0; width: 100%; }
  .events li { grid-template-columns: 64px 1fr; }
  .stats { grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; }
  .stat { padding: 8px 10px; }
  .stat .value { font-size: 1.15rem; }
  .stat .label { font-size: .68rem; }
  .events .who { display: none; }
}

/* Sessions: the transcript and the send box */
.transcript { list-style: none; margin: 16px 0; padding: 0; display: grid; gap: 10px; }
.msg { border-radius: 10px; padding: 10px 14px; overflow-wrap: anywhere; }
.msg p { margin: 4px 0; white-space: pre-wrap; }
.msg.user { background: var(--b-running); }
.msg.assistant { background: var(--card, transparent); border: 1px solid var(--line, rgba(127,127,127,.3)); }
.msg.tool { padding: 0 14px; }
.msg.tool pre { max-height: 320px; overflow: auto; }
.s-idle, .s-setting_up { background: var(--b-running); color: var(--t-running); }
.s-destroyed { background: var(--b-cancelled); color: var(--t-cancelled); }
.send textarea { width: 100%; box-sizing: border-box; }

@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; }
}
`;
