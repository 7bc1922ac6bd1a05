import { CommanderError } from "commander";
import { ApiError } from "./client.ts";
import { EXIT } from "./outcome.ts";
import type { Output } from "./output.ts";

/** Bad command-line input found by the CLI itself (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Prints an error that ended a command and returns the exit code it stands for. */
export function reportError(err: unknown, out: Output): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
  if (err instanceof ApiError) {
    out.apiError(err);
    return EXIT.usage;
  }
  if (err instanceof UsageError) {
    out.error(err.message);
    return EXIT.usage;
  }
  out.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return EXIT.failed;
}
