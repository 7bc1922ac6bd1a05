/**
 * Structured logs: one flat JSON object per line with `level` and `event`, plus the context
 * fields that apply (runId, fork, sandboxId, step, attempt, durationMs). Fields whose names look
 * like credentials are redacted, so a secret cannot reach the log by accident.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /(key|token|secret|password|authorization|credential)/i;

let threshold: LogLevel = "info";

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

export function log(level: LogLevel, event: string, fields: LogFields = {}): void {
  if (LEVELS[level] < LEVELS[threshold]) return;
  const line: Record<string, unknown> = { level, event };
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    line[name] = SECRET_FIELD.test(name) ? "[redacted]" : value;
  }
  const text = JSON.stringify(line);
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { errorName: err.name, errorMessage: err.message, errorCode: (err as { code?: unknown }).code as string | undefined };
  return { errorMessage: String(err) };
}
