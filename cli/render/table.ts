import type { Colors } from "../output.ts";
import { pad, truncateVisible, visibleWidth } from "./text.ts";

export interface Column {
  header: string;
  align?: "left" | "right";
}

/** Aligned columns separated by two spaces; cells may be colored. Trailing blanks are trimmed. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], c: Colors, maxWidth?: number): string[] {
  const widths = columns.map((col, i) => Math.max(col.header.length, ...rows.map((r) => visibleWidth(r[i] ?? ""))));
  const line = (cells: readonly string[]) =>
    columns
      .map((col, i) => pad(cells[i] ?? "", widths[i] ?? 0, col.align))
      .join("  ")
      .trimEnd();
  const lines = [c.dim(line(columns.map((col) => col.header))), ...rows.map(line)];
  return maxWidth ? lines.map((l) => truncateVisible(l, maxWidth)) : lines;
}
