/**
 * The compare page's files, like a pull request's "Files changed": a file tree of every file either
 * fork's patch touches (what each fork did to it, +/−), then each file with fork A's change beside
 * fork B's — or, switched, a direct diff of fork A's version against fork B's
 * (GET /v1/runs/:id/compare/:a/:b). Git's header lines (index, ---, +++) are not shown: what a
 * change is (added, deleted, renamed, binary, mode) is a tag. A fork without a patch says why.
 */
import { parsePatch, type PatchFile } from "../../../../artifacts/patch-files.ts";
import type { CompareFork, ForkDiffView } from "../../lib/api-types.ts";
import { api, errorMessage, runPath } from "../../lib/api.ts";
import { h, type Child } from "../../lib/dom.ts";
import { treeRows } from "../../lib/file-tree.ts";
import { numberedDiff } from "./numbered-diff.ts";

type Mode = "side" | "direct";

export function compareFiles(runId: string, a: CompareFork, b: CompareFork, state: { mode: Mode }): HTMLElement {
  const filesA = new Map(parsePatch(a.patch?.text ?? "").map((f) => [f.path, f]));
  const filesB = new Map(parsePatch(b.patch?.text ?? "").map((f) => [f.path, f]));
  const rows = treeRows([...filesA.keys(), ...filesB.keys()]);
  const anchor = (path: string) => "cmp-" + a.n + "-" + b.n + "-" + encodeURIComponent(path).replace(/%/g, "_");
  const tree = h(
    "nav",
    { class: "file-tree", "aria-label": "Files changed" },
    rows.length === 0 ? h("p", { class: "muted" }, "Neither fork changed a file.") : null,
    h(
      "ul",
      null,
      rows.map((r) => {
        const li = h(
          "li",
          { class: "tree-" + r.kind, dataset: { path: r.path } },
          r.kind === "dir" ? h("span", { class: "muted" }, r.name + "/") : h("a", { href: "#" + location.hash.slice(1), dataset: { target: anchor(r.path) } }, r.name),
          r.kind === "file" ? h("span", { class: "tree-tags" }, sideTag("A", filesA.get(r.path)), sideTag("B", filesB.get(r.path))) : null,
        );
        li.style.paddingLeft = r.depth * 14 + "px";
        return li;
      }),
    ),
  );
  // Links scroll to the file without changing the page's route.
  tree.addEventListener("click", (ev) => {
    const link = (ev.target as HTMLElement).closest("a[data-target]") as HTMLAnchorElement | null;
    if (!link) return;
    ev.preventDefault();
    document.getElementById(link.dataset.target!)?.scrollIntoView({ block: "start" });
  });
  const paths = rows.filter((r) => r.kind === "file").map((r) => r.path);
  const body = h("div", { class: "file-rows" });
  const show = (mode: Mode) => {
    state.mode = mode;
    side.setAttribute("aria-pressed", String(mode === "side"));
    direct.setAttribute("aria-pressed", String(mode === "direct"));
    if (mode === "side") body.replaceChildren(...notes(a, b), ...paths.map((p) => sideBySide(p, anchor(p), a, b, filesA.get(p), filesB.get(p))));
    else void directDiff(runId, a.n, b.n, body, anchor);
  };
  const side = h("button", { type: "button", class: "small", onclick: () => show("side") }, "Side by side");
  const direct = h("button", { type: "button", class: "small", onclick: () => show("direct") }, "Fork " + a.n + " → fork " + b.n);
  show(state.mode);
  return h(
    "section",
    { class: "compare-files", "aria-label": "Files changed" },
    h("div", { class: "section-head" }, h("h2", null, "Files changed"), h("div", { class: "toggle", role: "group", "aria-label": "How to show the files" }, side, direct)),
    h("div", { class: "files-layout" }, tree, body),
  );
}

/** "A: modified +3 −1" (or nothing when the fork left the file as in the base). */
function sideTag(side: string, f: PatchFile | undefined): HTMLElement | null {
  if (!f) return null;
  return h("span", { class: "tag ch-" + f.change, title: "Fork " + side + ": " + f.change }, side + " ", changeLabel(f), f.insertions ? h("span", { class: "ok-text" }, " +" + f.insertions) : null, f.deletions ? h("span", { class: "bad-text" }, " −" + f.deletions) : null);
}

function changeLabel(f: PatchFile): string {
  if (f.change === "renamed") return "renamed from " + f.oldPath;
  return f.change + (f.mode ? " (mode " + f.mode + ")" : "");
}

/** Why a side shows less than its whole change: no patch, or a patch cut at 64 KiB. */
function notes(a: CompareFork, b: CompareFork): HTMLElement[] {
  return [a, b].flatMap((f) => {
    if (!f.patch) return [h("p", { class: "muted", dataset: { noPatch: String(f.n) } }, f.noPatch ?? "Fork " + f.n + " has no patch.")];
    if (f.patch.truncated) return [h("p", { class: "muted" }, "Fork " + f.n + "'s patch is longer than shown here: files after its first 64 KiB are not listed (its full patch is above).")];
    return [];
  });
}

/** One file: fork A's hunks beside fork B's. */
function sideBySide(path: string, id: string, a: CompareFork, b: CompareFork, fa: PatchFile | undefined, fb: PatchFile | undefined): HTMLElement {
  const column = (fork: CompareFork, f: PatchFile | undefined): Child => {
    if (!f) return h("p", { class: "muted unchanged" }, fork.patch ? "Unchanged in fork " + fork.n + "." : (fork.noPatch ?? "No patch."));
    if (f.change === "binary") return h("p", { class: "muted" }, "Binary file changed.");
    if (f.hunks.length === 0) return h("p", { class: "muted" }, changeLabel(f) + ", content unchanged.");
    return numberedDiff(hunksText(f.hunks), "Fork " + fork.n + ": " + path);
  };
  return h(
    "section",
    { class: "file-row", id, dataset: { path }, "aria-label": path },
    h("header", { class: "file-row-head" }, h("code", null, path), sideTag("A", fa), sideTag("B", fb)),
    h("div", { class: "split" }, h("div", { class: "pane", "aria-label": "Fork " + a.n }, column(a, fa)), h("div", { class: "pane", "aria-label": "Fork " + b.n }, column(b, fb))),
  );
}

function hunksText(hunks: readonly { header: string; lines: readonly string[] }[]): string {
  return hunks.map((hunk) => [hunk.header, ...hunk.lines].join("\n")).join("\n");
}

/** Fork A's version of each file against fork B's, read from the API. */
async function directDiff(runId: string, a: number, b: number, body: HTMLElement, anchor: (path: string) => string): Promise<void> {
  body.replaceChildren(h("p", { class: "loading" }, "Diffing fork " + a + " against fork " + b + "…"));
  try {
    const diff = await api<ForkDiffView>(runPath(runId) + "/compare/" + a + "/" + b);
    body.replaceChildren(
      diff.files.length === 0 ? h("p", { class: "muted" }, "Neither fork changed a file.") : h("p", { class: "muted" }, "Lines starting with − are fork " + a + "'s, with + fork " + b + "'s."),
      ...diff.files.map((f) =>
        h(
          "section",
          { class: "file-row", id: anchor(f.path), dataset: { path: f.path, status: f.status } },
          h("header", { class: "file-row-head" }, h("code", null, f.path), h("span", { class: "tag st-" + f.status }, f.status === "same" ? "same in both" : f.status === "differs" ? (f.missingIn ? "only in fork " + (f.missingIn === "a" ? b : a) : "differs") : "not diffed")),
          f.status === "differs" && f.hunks ? numberedDiff(hunksText(f.hunks), "Fork " + a + " against fork " + b + ": " + f.path) : f.reason ? h("p", { class: "muted" }, f.reason) : null,
        ),
      ),
    );
  } catch (err) {
    body.replaceChildren(h("p", { class: "bad-text" }, errorMessage(err)));
  }
}
