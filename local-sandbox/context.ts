// Shared state handed to every router, and the route type the server dispatches on.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultInjector } from "./faults.ts";
import type { Reply } from "./http-util.ts";
import type { Sandbox, SandboxStore } from "./sandbox-store.ts";
import type { SnapshotStore } from "./snapshots.ts";
import type { Stats } from "./stats.ts";
import type { TemplateBuilds } from "./template-builds.ts";

export interface ServerContext {
  store: SandboxStore;
  /** Persistent snapshots (`POST /sandboxes/{id}/snapshots`, create from one). */
  snapshots: SnapshotStore;
  /** Template builds in progress or done (`Template.build()`), and their uploaded files. */
  templates: TemplateBuilds;
  stats: Stats;
  faults: FaultInjector;
  apiKey: string;
  /** Key of the /admin API, distinct from the E2B key. */
  adminKey: string;
  log: (msg: string) => void;
}

export interface RequestInfo {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Path parameters (e.g. the sandbox id). */
  params: Record<string, string>;
  /** The target sandbox for envd requests. */
  sandbox?: Sandbox;
}

/** How an injected error is shaped on the wire for this route. */
export type ErrorFlavor = "api" | "connect" | "connect-stream" | "files";

export interface Route {
  /** Operation name (latency, faults, counters). Undefined = not instrumented (e.g. admin). */
  op?: string;
  flavor: ErrorFlavor;
  handle(ctx: ServerContext, info: RequestInfo): Promise<Reply>;
}
