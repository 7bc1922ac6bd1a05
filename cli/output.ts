import { createColors } from "picocolors";
import type { ApiError } from "./client.ts";
import type { Io, OutStream } from "./io.ts";

export type Colors = ReturnType<typeof createColors>;

/** Colors only for a terminal, honouring NO_COLOR / FORCE_COLOR; never in --json mode. */
export function colorsFor(stream: OutStream, env: Io["env"], json = false): Colors {
  if (json || env.NO_COLOR) return createColors(false);
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return createColors(true);
  return createColors(stream.isTTY === true && env.TERM !== "dumb");
}

/** Where a command writes: human lines or JSON on stdout, diagnostics on stderr. */
export class Output {
  readonly json: boolean;
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly c: Colors;
  readonly ce: Colors;

  constructor(io: Io, json: boolean) {
    this.json = json;
    this.stdout = io.stdout;
    this.stderr = io.stderr;
    this.c = colorsFor(io.stdout, io.env, json);
    this.ce = colorsFor(io.stderr, io.env);
  }

  /** A human-readable line; nothing in --json mode. */
  line(text = ""): void {
    if (!this.json) this.stdout.write(text + "\n");
  }

  /** The one JSON document of a --json command. */
  data(value: unknown): void {
    this.stdout.write(JSON.stringify(value, null, 2) + "\n");
  }

  warn(text: string): void {
    this.stderr.write(`${this.ce.yellow("warning:")} ${text}\n`);
  }

  note(text: string): void {
    this.stderr.write(text + "\n");
  }

  error(text: string): void {
    this.stderr.write(`${this.ce.red("error:")} ${text}\n`);
  }

  apiError(err: ApiError): void {
    this.error(formatApiError(err));
  }
}

/** `<code>: <message> (field: x)` */
export function formatApiError(err: ApiError): string {
  const field = typeof err.details?.field === "string" ? ` (field: ${err.details.field})` : "";
  return `${err.code}: ${err.message}${field}`;
}
