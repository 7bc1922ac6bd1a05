/**
 * The page shell's fixed parts (the static HTML of GET /) and what every view does with them:
 * announce to screen readers, toast, focus the heading, show times that tick.
 */
import { h } from "./dom.ts";
import { elapsedMs, fmtAgo, fmtMs } from "./format.ts";

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error("the page has no #" + id);
  return el as T;
}

export const main = byId<HTMLElement>("main");
export const authSlot = byId<HTMLElement>("auth");
const announcer = byId<HTMLElement>("announcer");
const toastBox = byId<HTMLElement>("toasts");

export function announce(text: string): void {
  announcer.textContent = "";
  setTimeout(() => (announcer.textContent = text), 50);
}

export function toast(text: string, kind?: "error"): void {
  const el = h("div", { class: "toast" + (kind === "error" ? " error" : "") }, text);
  toastBox.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

export function focusHeading(): void {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export function timeEl(iso: string): HTMLTimeElement {
  return h("time", { datetime: iso, title: new Date(iso).toLocaleString() }, fmtAgo(iso));
}

/** An elapsed-time element; while endIso is empty it ticks (see tickClocks). */
export function elapsedEl(startIso: string | null, endIso: string | null): HTMLSpanElement {
  if (!startIso) return h("span", null, "–");
  return h("span", endIso ? null : { dataset: { since: startIso } }, fmtMs(elapsedMs(startIso, endIso)));
}

export function tickClocks(): void {
  for (const el of main.querySelectorAll<HTMLElement>("[data-since]")) el.textContent = fmtMs(elapsedMs(el.dataset.since!, null));
}

/** The "not found" card of a view: a heading, what is missing, a way back. */
export function notFound(title: string, what: Node | null, back: { href: string; text: string }): HTMLElement {
  return h("div", { class: "card pad narrow stack" }, h("h1", null, title), what ? h("p", null, what) : null, h("p", null, h("a", { href: back.href }, back.text)));
}
