/**
 * Building DOM: `h()` creates an element from attributes and children. Children are nodes or
 * strings, and strings always become text nodes: data from the API is never parsed as HTML.
 */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

export interface Attrs {
  class?: string;
  text?: string | number;
  dataset?: Record<string, string>;
  onclick?: (ev: MouseEvent) => void;
  onsubmit?: (ev: SubmitEvent) => void;
  onchange?: (ev: Event) => void;
  ontoggle?: (ev: Event) => void;
  /** Any other attribute: false/null/undefined leave it out, true sets it empty. */
  [name: string]: unknown;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value as EventListener);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Status values become CSS classes: keep only safe characters. */
export const cls = (s: string): string => String(s).replace(/[^a-z_]/g, "");
export const human = (s: string): string => String(s).replace(/_/g, " ");

export function badge(status: string, extra?: Attrs): HTMLSpanElement {
  return h("span", { class: "badge s-" + cls(status), ...extra }, human(status));
}

/** A <details> whose open state survives re-renders: only the user's own toggles are remembered. */
export function openStateKeeper(): (details: HTMLDetailsElement, key: string, defaultOpen: boolean) => HTMLDetailsElement {
  const openState = new Map<string, boolean>();
  return (details, key, defaultOpen) => {
    details.open = openState.get(key) ?? defaultOpen;
    details.querySelector("summary")?.addEventListener("click", () => openState.set(key, !details.open));
    return details;
  };
}
