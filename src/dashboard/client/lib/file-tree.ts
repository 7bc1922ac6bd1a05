/**
 * The compare page's file tree: the paths both forks' patches touch, as rows of directories and
 * files with their depth (like a pull request's file tree). Pure.
 */

export interface TreeRow {
  kind: "dir" | "file";
  /** The segment shown: a directory's name (its single-child chain joined, "src/api"), or a file's. */
  name: string;
  depth: number;
  /** The full path (a file's), or the directory's path. */
  path: string;
}

export function treeRows(paths: readonly string[]): TreeRow[] {
  const sorted = [...new Set(paths)].sort((a, b) => {
    // Files of a directory after its subdirectories, like a file browser.
    const da = a.split("/");
    const db = b.split("/");
    for (let i = 0; i < Math.min(da.length, db.length); i++) {
      if (da[i] === db[i]) continue;
      const aDir = i < da.length - 1;
      const bDir = i < db.length - 1;
      if (aDir !== bDir) return aDir ? -1 : 1;
      return da[i]! < db[i]! ? -1 : 1;
    }
    return da.length - db.length;
  });
  const rows: TreeRow[] = [];
  let open: string[] = [];
  for (const path of sorted) {
    const parts = path.split("/");
    const dirs = parts.slice(0, -1);
    let same = 0;
    while (same < open.length && same < dirs.length && open[same] === dirs[same]) same++;
    open = open.slice(0, same);
    for (let i = same; i < dirs.length; i++) {
      open.push(dirs[i]!);
      rows.push({ kind: "dir", name: dirs[i]!, depth: i, path: dirs.slice(0, i + 1).join("/") });
    }
    rows.push({ kind: "file", name: parts.at(-1)!, depth: dirs.length, path });
  }
  return rows;
}
