/**
 * A fork's stored files and patch, fetched when opened (with the token: no plain links). A file
 * downloads through a blob URL; the patch shows as a readable diff.
 */
import type { ArtifactList, ForkView, RunView } from "../../lib/api-types.ts";
import { api, authorizedBlob, download, errorMessage, runPath } from "../../lib/api.ts";
import { h, human } from "../../lib/dom.ts";
import { fmtBytes, plural } from "../../lib/format.ts";
import { patchView } from "../../lib/patch.ts";
import type { KeepOpen } from "./fork-card.ts";

export function filesBlock(run: RunView, f: ForkView, keepOpen: KeepOpen): HTMLElement | null {
  const a = f.artifacts;
  if (!a || (a.files === 0 && !a.patch && a.skippedCount === 0)) return null;
  const base = runPath(run.id) + "/forks/" + f.n;
  const body = h("div", { class: "files" }, h("p", { class: "muted" }, "Loading…"));
  const globs = run.request.artifacts ?? [];
  const parts: string[] = [];
  if (globs.length) parts.push(plural(a.files, "file") + " (" + fmtBytes(a.bytes) + ")" + (a.skippedCount ? ", " + a.skippedCount + " skipped" : ""));
  if (a.patch) parts.push("patch " + fmtBytes(a.patch.bytes));
  const box = keepOpen(
    h("details", { class: "cmd" }, h("summary", null, h("strong", null, globs.length ? "Files and patch" : "Patch"), h("span", { class: "muted" }, " · " + parts.join(" · "))), body),
    "files-" + f.n,
    false,
  );
  let loaded = false;
  const load = async () => {
    if (loaded || !box.open) return;
    loaded = true;
    try {
      const list: ArtifactList = globs.length ? await api<ArtifactList>(base + "/artifacts") : { artifacts: [], skipped: [] };
      const rows = list.artifacts.map((file) => {
        const name = file.path.split("/").pop() ?? "artifact";
        const button = h("button", { type: "button", class: "small" }, "Download");
        button.addEventListener("click", () => void download(base + "/artifacts/" + file.path.split("/").map(encodeURIComponent).join("/"), name));
        return h("li", null, h("code", null, file.path), h("span", { class: "muted" }, " " + fmtBytes(file.bytes) + " · sha256 " + file.sha256.slice(0, 12) + "… "), button);
      });
      const skipped = list.skipped.map((s) => h("li", { class: "muted" }, h("code", null, s.path), " skipped: " + human(s.reason)));
      body.replaceChildren(
        ...[
          rows.length || skipped.length ? h("ul", { class: "file-list" }, rows, skipped) : globs.length ? h("p", { class: "muted" }, "No files matched.") : null,
          a.patch ? patchView(await (await authorizedBlob(base + "/patch")).text()) : null,
        ].filter((n) => n !== null),
      );
    } catch (err) {
      loaded = false;
      body.replaceChildren(h("p", { class: "bad-text" }, errorMessage(err)));
    }
  };
  box.addEventListener("toggle", () => void load());
  queueMicrotask(() => void load());
  return h("div", { class: "output" }, box);
}
