/** Width-aware string helpers that ignore ANSI color sequences. */
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export const stripAnsi = (s: string): string => s.replace(ANSI, "");

export const visibleWidth = (s: string): number => [...stripAnsi(s)].length;

/** Pads to `width` visible characters (on the left for right alignment). */
export function pad(s: string, width: number, align: "left" | "right" = "left"): string {
  const fill = " ".repeat(Math.max(0, width - visibleWidth(s)));
  return align === "right" ? fill + s : s + fill;
}

/** Cuts plain text to `max` characters with an ellipsis. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, Math.max(0, max - 1)).join("") + "…";
}

/** Cuts a possibly colored line to `width` visible characters, keeping (and closing) its colors. */
export function truncateVisible(line: string, width: number): string {
  if (visibleWidth(line) <= width) return line;
  let out = "";
  let seen = 0;
  let i = 0;
  while (i < line.length && seen < width - 1) {
    ANSI.lastIndex = i;
    const m = line[i] === "\x1b" ? ANSI.exec(line) : null;
    if (m && m.index === i) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    out += ch;
    i += ch.length;
    seen++;
  }
  ANSI.lastIndex = 0;
  return out + "…" + (out.includes("\x1b[") ? "\x1b[0m" : "");
}

/**
 * Text a fork wrote (the model, a command's output), made safe to print: terminal control
 * characters — escape sequences, carriage returns, bells — are shown as `\xNN`, never obeyed.
 */
export function safeText(s: string): string {
  return s.replace(/\r\n/g, "\n").replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
