/** Unified diffs (a fork's patch) shown as text: one span per line, classed by its kind. */
import { h } from "./dom.ts";

export type PatchLineKind = "file" | "hunk" | "add" | "del" | "ctx";

export function patchLineKind(line: string): PatchLineKind {
  if (line.startsWith("diff --git")) return "file";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+") && !line.startsWith("+++")) return "add";
  if (line.startsWith("-") && !line.startsWith("---")) return "del";
  return "ctx";
}

export function patchLine(line: string, kind: PatchLineKind = patchLineKind(line)): HTMLSpanElement {
  return h("span", { class: "d-" + kind }, line + "\n");
}

/** The whole patch as one readable block. */
export function patchView(text: string, label = "Patch"): HTMLPreElement {
  return h("pre", { class: "diff", "aria-label": label }, text.split("\n").map((line) => patchLine(line)));
}
