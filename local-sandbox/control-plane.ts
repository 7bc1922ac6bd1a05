// E2B control-plane REST API (the subset the SDK uses, plus deprecated aliases).
// Shapes follow the OpenAPI spec: Sandbox (create/connect), SandboxDetail (get), ListedSandbox
// (list), errors {code, message}.
import { ApiError } from "./errors.ts";
import { empty, isStringMap, json, readJsonObject, type Reply } from "./http-util.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import { checkRepo } from "./repo-check.ts";
import { parseNetwork } from "./isolation/egress.ts";
import { ENVD_VERSION, type CreateInput, type Sandbox } from "./sandbox-store.ts";
import { snapshotRoutes } from "./control-plane-snapshots.ts";
import { templateRoutes } from "./control-plane-templates.ts";
import { startTemplateCmd } from "./template-start.ts";

const MAX_TIMEOUT_SEC = 24 * 3600;
/** Template names `GET /templates/aliases/{alias}` knows (E2B's default template). */
const KNOWN_TEMPLATES = ["base"];

function parseTimeout(value: unknown, def: number, field = "timeout"): number {
  if (value === undefined || value === null) return def;
  if (typeof value !== "number" || !Number.isInteger(value)) throw new ApiError(400, `${field} must be an integer number of seconds`);
  if (value <= 0) throw new ApiError(400, "Timeout must be greater than 0");
  if (value > MAX_TIMEOUT_SEC) throw new ApiError(400, "Timeout cannot be greater than 24 hours");
  return value;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `Sandbox` schema (create / connect / resume / fork results). */
export function sandboxBody(sb: Sandbox): Record<string, unknown> {
  return {
    templateID: sb.record.templateID,
    sandboxID: sb.id,
    alias: sb.record.alias,
    clientID: "local",
    envdVersion: ENVD_VERSION,
    envdAccessToken: sb.record.envdAccessToken,
    trafficAccessToken: null,
    domain: null,
  };
}

/** `ListedSandbox` schema. */
function listedBody(sb: Sandbox): Record<string, unknown> {
  return {
    templateID: sb.record.templateID,
    alias: sb.record.alias,
    sandboxID: sb.id,
    clientID: "local",
    startedAt: iso(sb.record.startedAt),
    endAt: iso(sb.record.endAt),
    cpuCount: 2,
    memoryMB: 512,
    diskSizeMB: 10240,
    metadata: { ...sb.record.metadata },
    state: sb.record.state,
    envdVersion: ENVD_VERSION,
    volumeMounts: [],
  };
}

/** `SandboxDetail` schema. */
function detailBody(sb: Sandbox): Record<string, unknown> {
  return {
    ...listedBody(sb),
    envdAccessToken: sb.record.envdAccessToken,
    allowInternetAccess: true,
    ...(sb.record.network ? { network: sb.record.network } : {}),
    domain: null,
    lifecycle: { autoResume: sb.record.autoResume, onTimeout: sb.record.autoPause ? "pause" : "kill" },
  };
}

// ---- metadata filter ---------------------------------------------------------------------------

/** Go's url.QueryUnescape: '+' is a space, %XX must be valid. */
function queryUnescape(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    throw new ApiError(400, `Invalid metadata filter: bad escape in ${JSON.stringify(s)}`);
  }
}

/**
 * Parses E2B's `metadata` query value (already URL-decoded once by the query parser): the whole
 * string is unescaped again, split on & and =, and each key and value is unescaped once more.
 */
export function parseMetadataFilter(raw: string | null): Record<string, string> {
  if (!raw) return {};
  const out: Record<string, string> = {};
  for (const pair of queryUnescape(raw).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq < 0) throw new ApiError(400, `Invalid metadata filter: ${JSON.stringify(pair)} is not key=value`);
    out[queryUnescape(pair.slice(0, eq))] = queryUnescape(pair.slice(eq + 1));
  }
  return out;
}

function matchesMetadata(sb: Sandbox, filter: Record<string, string>): boolean {
  return Object.entries(filter).every(([k, v]) => sb.record.metadata[k] === v);
}

// ---- list --------------------------------------------------------------------------------------

function encodeToken(sb: Sandbox): string {
  return Buffer.from(`${sb.record.startedAt}__${sb.id}`).toString("base64url");
}

function decodeToken(token: string): { t: number; id: string } {
  const [t, id] = Buffer.from(token, "base64url").toString("utf8").split("__");
  const n = Number(t);
  if (!id || !Number.isFinite(n)) throw new ApiError(400, "Invalid next token");
  return { t: n, id };
}

function listSandboxes(ctx: ServerContext, url: URL, v2: boolean): Reply {
  const q = url.searchParams;
  const metadata = parseMetadataFilter(q.get("metadata"));
  let states: string[] = ["running"];
  if (v2) {
    const stateRaw = q.getAll("state").flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
    states = stateRaw.length > 0 ? stateRaw : ["running", "paused"];
    for (const s of states) if (s !== "running" && s !== "paused") throw new ApiError(400, `Invalid state: ${s}`);
  }
  const template = q.get("template");
  const startedAfterRaw = q.get("startedAfter");
  const startedAfter = startedAfterRaw ? Date.parse(startedAfterRaw) : undefined;
  if (startedAfterRaw && Number.isNaN(startedAfter)) throw new ApiError(400, "Invalid startedAfter");
  const order = q.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw new ApiError(400, "Invalid order: must be asc or desc");

  const matching = ctx.store.all().filter(
    (sb) =>
      states.includes(sb.record.state) &&
      matchesMetadata(sb, metadata) &&
      (!template || sb.record.templateID === template || sb.record.alias === template) &&
      // Inclusive, as E2B's API: a sandbox started at that very instant is listed.
      (startedAfter === undefined || sb.record.startedAt >= startedAfter),
  );
  const dir = order === "asc" ? 1 : -1;
  const cmp = (a: { t: number; id: string }, b: { t: number; id: string }) =>
    dir * (a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const key = (sb: Sandbox) => ({ t: sb.record.startedAt, id: sb.id });
  matching.sort((a, b) => cmp(key(a), key(b)));

  const headers: Record<string, string> = {};
  if (states.includes("running")) headers["X-Total-Running"] = String(matching.filter((sb) => sb.running).length);
  if (!v2) return json(200, matching.map(listedBody), headers);

  const limitRaw = q.get("limit");
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ApiError(400, "limit must be an integer in 1..100");
  const tokenRaw = q.get("nextToken");
  let start = 0;
  if (tokenRaw) {
    const after = decodeToken(tokenRaw);
    start = matching.findIndex((sb) => cmp(key(sb), after) > 0);
    if (start < 0) start = matching.length;
  }
  const page = matching.slice(start, start + limit);
  const last = page[page.length - 1];
  if (last && start + limit < matching.length) headers["X-Next-Token"] = encodeToken(last);
  return json(200, page.map(listedBody), headers);
}

// ---- handlers ----------------------------------------------------------------------------------

async function create(ctx: ServerContext, info: RequestInfo, v2: boolean): Promise<Reply> {
  const body = await readJsonObject(info.req);
  const templateID = body.templateID;
  if (typeof templateID !== "string" || templateID === "") throw new ApiError(400, "templateID is required");
  const timeoutSec = parseTimeout(body.timeout, v2 ? 300 : 15);
  if (body.metadata !== undefined && body.metadata !== null && !isStringMap(body.metadata)) {
    throw new ApiError(400, "metadata must be an object of string values");
  }
  if (body.envVars !== undefined && body.envVars !== null && !isStringMap(body.envVars)) {
    throw new ApiError(400, "envVars must be an object of string values");
  }
  if (body.autoPause !== undefined && typeof body.autoPause !== "boolean") throw new ApiError(400, "autoPause must be a boolean");
  if (body.autoPauseMemory !== undefined && body.autoPauseMemory !== null && typeof body.autoPauseMemory !== "boolean") {
    throw new ApiError(400, "autoPauseMemory must be a boolean");
  }
  const autoResume = body.autoResume as { enabled?: unknown } | undefined;
  const network = parseNetwork(body.network, body.allow_internet_access);
  const input: CreateInput = {
    templateID,
    timeoutSec,
    metadata: (body.metadata as Record<string, string> | undefined) ?? {},
    envVars: (body.envVars as Record<string, string> | undefined) ?? {},
    autoPause: body.autoPause === true,
    autoResume: typeof autoResume === "object" && autoResume !== null && autoResume.enabled === true,
    ...(body.autoPauseMemory === false ? { autoPauseMemory: false } : {}),
    ...(network ? { network } : {}),
  };
  // A snapshot's ID or name: a new sandbox with a copy of its files (and its environment variables).
  const snapshot = ctx.snapshots.resolve(templateID);
  const sb = snapshot
    ? await ctx.store.createFrom(
        {
          ...input,
          templateID: snapshot.snapshotID,
          alias: snapshot.name ?? snapshot.snapshotID,
          envVars: { ...snapshot.envVars, ...input.envVars },
          ...(snapshot.workdir ? { workdir: snapshot.workdir } : {}),
        },
        ctx.snapshots.dir(snapshot),
      )
    : ctx.store.create(input);
  if (snapshot?.startCmd) await startTemplateCmd(ctx, sb, snapshot.startCmd);
  ctx.stats.createdWith({ sandboxID: sb.id, metadata: { ...sb.record.metadata }, ...(network ? { network } : {}) });
  return json(201, sandboxBody(sb));
}

async function connect(ctx: ServerContext, info: RequestInfo, defaultTimeout: number): Promise<Reply> {
  const body = await readJsonObject(info.req);
  const id = info.params.id as string;
  const { sandbox, resumed } = ctx.store.connect(id, parseTimeout(body.timeout, defaultTimeout));
  if (resumed) loseOnResume(ctx, id);
  return json(resumed ? 201 : 200, sandboxBody(sandbox));
}

/** The `resume.files` fault: the resumed sandbox comes back without some of its files. */
function loseOnResume(ctx: ServerContext, id: string): void {
  const fault = ctx.faults.pick("resume.files", id);
  if (!fault?.lose) return;
  ctx.stats.fault("resume.files");
  ctx.store.loseFiles(id, fault.lose);
}

/** A flat, synthetic `SandboxMetric` (no real accounting). */
function metricsFor(): Record<string, unknown> {
  const now = Date.now();
  return {
    timestamp: new Date(now).toISOString(),
    timestampUnix: Math.floor(now / 1000),
    cpuCount: 2,
    cpuUsedPct: 0,
    memUsed: 0,
    memTotal: 512 * 1024 * 1024,
    memCache: 0,
    diskUsed: 0,
    diskTotal: 10 * 1024 * 1024 * 1024,
  };
}

export type Handler = (ctx: ServerContext, info: RequestInfo) => Promise<Reply>;

export interface RouteDef {
  method: string;
  pattern: RegExp;
  names: string[];
  op: string;
  handler: Handler;
}

const ID = "([^/]+)";
const defs: RouteDef[] = [
  { method: "POST", pattern: /^\/v2\/sandboxes$/, names: [], op: "create", handler: (c, i) => create(c, i, true) },
  { method: "POST", pattern: /^\/sandboxes$/, names: [], op: "create", handler: (c, i) => create(c, i, false) },
  { method: "GET", pattern: /^\/v2\/sandboxes$/, names: [], op: "list", handler: async (c, i) => listSandboxes(c, i.url, true) },
  { method: "GET", pattern: /^\/sandboxes$/, names: [], op: "list", handler: async (c, i) => listSandboxes(c, i.url, false) },
  {
    method: "GET",
    pattern: /^\/sandboxes\/metrics$/,
    names: [],
    op: "metrics",
    handler: async (c, i) => {
      const ids = (i.url.searchParams.get("sandbox_ids") ?? "").split(",").filter(Boolean);
      const out: Record<string, unknown> = {};
      for (const id of ids) {
        const sb = c.store.get(id);
        if (sb?.running) out[id] = metricsFor();
      }
      return json(200, { sandboxes: out });
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/sandboxes/${ID}$`),
    names: ["id"],
    op: "get",
    handler: async (c, i) => json(200, detailBody(c.store.require(i.params.id as string))),
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/sandboxes/${ID}$`),
    names: ["id"],
    op: "kill",
    handler: async (c, i) => {
      const id = i.params.id as string;
      c.store.require(id);
      c.store.kill(id);
      return empty(204);
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sandboxes/${ID}/timeout$`),
    names: ["id"],
    op: "setTimeout",
    handler: async (c, i) => {
      const body = await readJsonObject(i.req);
      if (body.timeout === undefined) throw new ApiError(400, "timeout is required");
      c.store.setTimeout(i.params.id as string, parseTimeout(body.timeout, 0));
      return empty(204);
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sandboxes/${ID}/refreshes$`),
    names: ["id"],
    op: "refresh",
    handler: async (c, i) => {
      const body = await readJsonObject(i.req);
      const d = body.duration;
      if (d !== undefined && (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > 3600)) {
        throw new ApiError(400, "duration must be an integer in 0..3600");
      }
      c.store.refresh(i.params.id as string, Math.max(15, (d as number | undefined) ?? 15));
      return empty(204);
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sandboxes/${ID}/pause$`),
    names: ["id"],
    op: "pause",
    handler: async (c, i) => {
      const body = await readJsonObject(i.req);
      if (body.memory !== undefined && typeof body.memory !== "boolean") throw new ApiError(400, "memory must be a boolean");
      const paused = c.store.pause(i.params.id as string, body.memory !== false);
      // Paused files-only means its processes are gone (a resume lists none of them): wait, bounded, for the kills to land.
      if (!paused.memory) await c.store.require(i.params.id as string).processes.waitIdle(3000);
      return empty(204);
    },
  },
  { method: "POST", pattern: new RegExp(`^/v2/sandboxes/${ID}/connect$`), names: ["id"], op: "connect", handler: (c, i) => connect(c, i, 300) },
  { method: "POST", pattern: new RegExp(`^/sandboxes/${ID}/connect$`), names: ["id"], op: "connect", handler: (c, i) => connect(c, i, 300) },
  {
    method: "POST",
    pattern: new RegExp(`^/sandboxes/${ID}/resume$`),
    names: ["id"],
    op: "resume",
    handler: async (c, i) => {
      const body = await readJsonObject(i.req);
      if (body.autoPause !== undefined && typeof body.autoPause !== "boolean") throw new ApiError(400, "autoPause must be a boolean");
      const sb = c.store.resume(i.params.id as string, parseTimeout(body.timeout, 15), body.autoPause as boolean | undefined);
      loseOnResume(c, sb.id);
      return json(201, sandboxBody(sb));
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sandboxes/${ID}/fork$`),
    names: ["id"],
    op: "fork",
    handler: async (c, i) => {
      const body = await readJsonObject(i.req);
      const timeoutSec = parseTimeout(body.timeout, 15);
      const count = body.count ?? 1;
      if (typeof count !== "number" || !Number.isInteger(count)) throw new ApiError(400, "count must be an integer");
      if (count < 1) throw new ApiError(400, "Count must be at least 1");
      if (count > 100) throw new ApiError(400, "Count cannot be greater than 100");
      const results = await c.store.fork(i.params.id as string, count, timeoutSec);
      return json(
        201,
        results.map((r) => ("sandbox" in r ? { sandbox: sandboxBody(r.sandbox) } : { error: r.error.body() })),
      );
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/sandboxes/${ID}/metrics$`),
    names: ["id"],
    op: "metrics",
    handler: async (c, i) => {
      const sb = c.store.require(i.params.id as string);
      // `start`/`end` (unix seconds) bound the samples, as E2B's: the one synthetic sample is "now".
      const bound = (name: string) => {
        const raw = i.url.searchParams.get(name);
        if (raw === null) return undefined;
        if (!/^\d+$/.test(raw)) throw new ApiError(400, `Invalid ${name}: unix seconds expected`);
        return Number(raw);
      };
      const start = bound("start");
      const end = bound("end");
      const now = Math.floor(Date.now() / 1000);
      const inWindow = (start === undefined || now >= start) && (end === undefined || now <= end);
      return json(200, sb.running && inWindow ? [metricsFor()] : []);
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/(?:v2/)?sandboxes/${ID}/logs$`),
    names: ["id"],
    op: "logs",
    handler: async (c, i) => {
      c.store.require(i.params.id as string);
      return json(200, { logs: [], logEntries: [] });
    },
  },
  {
    method: "GET",
    pattern: /^\/templates\/aliases\/([^/]+)$/,
    names: ["alias"],
    op: "templateAlias",
    handler: async (c, i) => {
      // Every templateID creates a sandbox (nothing is installed), but only `base` is a known name.
      const alias = i.params.alias as string;
      const snapshot = c.snapshots.resolve(alias);
      if (snapshot) return json(200, { templateID: snapshot.snapshotID, public: false });
      if (!KNOWN_TEMPLATES.includes(alias)) throw new ApiError(404, `Template alias '${alias}' not found`);
      return json(200, { templateID: alias, public: true });
    },
  },
  {
    method: "GET",
    pattern: /^\/forkyard\/repo-check$/,
    names: [],
    op: "repoCheck",
    handler: async (c, i) => json(200, checkRepo(i.url.searchParams.get("path") ?? "", c.store.repoVisibility())),
  },
  {
    method: "PUT",
    pattern: new RegExp(`^/sandboxes/${ID}/network$`),
    names: ["id"],
    op: "network",
    handler: async (c, i) => {
      await readJsonObject(i.req);
      c.store.requireRunning(i.params.id as string);
      return empty(204);
    },
  },
  ...snapshotRoutes,
  ...templateRoutes,
];

/** Finds the control-plane route for a request. `params` is filled in. */
export function matchControlPlane(
  method: string,
  pathname: string,
  params: Record<string, string>,
): Route | "method-not-allowed" | undefined {
  let pathMatched = false;
  for (const d of defs) {
    const m = d.pattern.exec(pathname);
    if (!m) continue;
    pathMatched = true;
    if (d.method !== method) continue;
    d.names.forEach((name, idx) => {
      params[name] = decodeURIComponent(m[idx + 1] ?? "");
    });
    return { op: d.op, flavor: "api", handle: d.handler };
  }
  return pathMatched ? "method-not-allowed" : undefined;
}
