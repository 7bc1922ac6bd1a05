import { InvalidArgumentError } from "commander";

/** Any finite number; ranges are the API's to judge, so its message names the field. */
export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("not a number.");
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = parseNumber(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer.");
  return n;
}

/** Collects repeated `k=v` pairs (also `--metadata a=1 b=2`). */
export function collectKeyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}".`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

