/** Form fields: a labelled field with an optional hint, a number input. */
import { h } from "./dom.ts";

export function field(id: string, label: string, input: HTMLElement, hint?: string): HTMLDivElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("span", { class: "hint", id: id + "-hint" }, hint) : null);
}

export function numberInput(id: string, value: string, min: number, max: number, extra?: Record<string, string>): HTMLInputElement {
  return h("input", { id, name: id, type: "number", inputmode: "numeric", min, max, value, ...extra });
}
