/**
 * A unified diff shown for reading beside another: one section per file, each line with its old
 * and new line numbers, additions and deletions colored.
 */
import { h } from "../../lib/dom.ts";
import { patchLineKind } from "../../lib/patch.ts";

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;
/** Header lines between `diff --git` and the first hunk: shown muted, unnumbered. */
const META = /^(index |--- |\+\+\+ |new file mode|deleted file mode|old mode|new mode|similarity index|rename from|rename to|Binary files)/;

export function numberedDiff(text: string, label: string): HTMLElement {
  const box = h("div", { class: "ndiff", role: "group", "aria-label": label });
  let rows: HTMLElement | null = null;
  let oldLine = 0;
  let newLine = 0;
  const row = (kind: string, oldNo: number | null, newNo: number | null, line: string) => {
    if (!rows) {
      rows = h("div", { class: "ndiff-file" });
      box.append(rows);
    }
    rows.append(h("div", { class: "ndiff-line d-" + kind }, h("span", { class: "ln" }, oldNo ?? ""), h("span", { class: "ln" }, newNo ?? ""), h("code", null, line)));
  };
  for (const line of text.replace(/\n$/, "").split("\n")) {
    const kind = patchLineKind(line);
    if (kind === "file") {
      rows = h("div", { class: "ndiff-file" }, h("div", { class: "ndiff-name" }, line.replace(/^diff --git a\/(.*) b\/.*$/, "$1")));
      box.append(rows);
      continue;
    }
    const hunk = HUNK.exec(line);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      row("hunk", null, null, line);
    } else if (kind === "add") row("add", null, newLine++, line);
    else if (kind === "del") row("del", oldLine++, null, line);
    else if (META.test(line) || line.startsWith("\\")) row("meta", null, null, line);
    else row("ctx", oldLine++, newLine++, line);
  }
  return box;
}
