/** The most characters of one tool result the model sees. */
export const MAX_TOOL_OUTPUT_CHARS = 16 * 1024;

/** Keeps the head and the tail of `text` within `limit` characters, marking what was left out. */
export function boundOutput(text: string, limit = MAX_TOOL_OUTPUT_CHARS): string {
  if (text.length <= limit) return text;
  const half = Math.max(0, Math.floor((limit - 64) / 2));
  return `${text.slice(0, half)}\n\n[... ${text.length - 2 * half} characters truncated ...]\n\n${text.slice(text.length - half)}`;
}
