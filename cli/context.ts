import { ForkyardClient } from "./client.ts";
import { resolveConnection } from "./config.ts";
import type { Io } from "./io.ts";
import { Output } from "./output.ts";

/** What a command runs with: the API client and where to write. */
export interface Context {
  io: Io;
  out: Output;
  client: ForkyardClient;
}

export function createContext(io: Io, flags: { url?: string; token?: string; json?: boolean }): Context {
  const connection = resolveConnection(flags, io.env);
  return { io, out: new Output(io, flags.json === true), client: new ForkyardClient({ ...connection, fetch: io.fetch }) };
}
