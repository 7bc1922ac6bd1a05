/** Text for numbers, durations, money, sizes, dates and repositories. */

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !isFinite(ms)) return "–";
  if (ms < 1000) return Math.max(0, Math.round(ms)) + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + "m " + String(Math.floor(s % 60)).padStart(2, "0") + "s";
  return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
}

export function fmtUsd(n: number | null | undefined): string {
  if (typeof n !== "number" || !isFinite(n)) return "–";
  if (n === 0) return "$0.00";
  if (n < 0.01) return "$" + n.toFixed(5);
  if (n < 1) return "$" + n.toFixed(4);
  return "$" + n.toFixed(2);
}

export function fmtBytes(n: number | null | undefined): string {
  if (typeof n !== "number" || !isFinite(n)) return "–";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

export function fmtInt(n: number | null | undefined): string {
  return typeof n === "number" ? n.toLocaleString("en-US") : "–";
}

export function fmtAgo(iso: string): string {
  const t = Date.parse(iso);
  if (!isFinite(t)) return "–";
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  if (s < 86400) return Math.floor(s / 3600) + " h ago";
  return new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** The time of day of an ISO date (24 h). */
export function clock(iso: string): string {
  const d = new Date(iso);
  return isFinite(d.getTime()) ? d.toLocaleTimeString(undefined, { hour12: false }) : "";
}

export function elapsedMs(startIso: string, endIso: string | null | undefined): number | null {
  const start = Date.parse(startIso);
  if (!isFinite(start)) return null;
  const end = endIso ? Date.parse(endIso) : Date.now();
  return Math.max(0, end - start);
}

/** owner/name for a GitHub URL, the last two segments of a path; the full value is in a title. */
export function shortRepo(repo: string): string {
  const text = String(repo);
  const gh = /^https:\/\/github\.com\/([^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(text);
  if (gh) return gh[1]!;
  const parts = text.split("/").filter(Boolean);
  return parts.length > 2 ? "…/" + parts.slice(-2).join("/") : text;
}

export const plural = (n: number, word: string): string => n + " " + word + (n === 1 ? "" : "s");
