// The template build routes of the control plane, as `Template.build()` drives them: request a
// build (`POST /v3/templates`), an upload link per COPY source (`GET /templates/{id}/files/{hash}`,
// the link signed: `PUT /template-files/{hash}?signature=`, no API key, as the SDK PUTs to S3),
// start it (`POST /v2/templates/{id}/builds/{buildID}`), poll its status and logs
// (`GET /templates/{id}/builds/{buildID}/status?logsOffset=&limit=`).
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError } from "./errors.ts";
import { json, readJsonObject, type Reply } from "./http-util.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import type { RouteDef } from "./control-plane.ts";
import { parseFilesHash, parseTemplateName } from "./template-builds.ts";
import { parseBuildSpec } from "./template-steps.ts";
import { runBuild } from "./template-runner.ts";

/** Largest build-context archive accepted (bytes; a COPY step holds it in memory while it runs). */
const UPLOAD_MAX = 512 * 1024 * 1024;
const STATUS_PAGE = 100;

async function requestBuild(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const body = await readJsonObject(info.req);
  const name = parseTemplateName(body.name, body.tags);
  const build = ctx.templates.request(name);
  return json(202, { templateID: build.templateID, buildID: build.buildID, public: false, names: [name], aliases: [name], tags: [] });
}

function uploadLink(ctx: ServerContext, info: RequestInfo): Reply {
  const hash = parseFilesHash(info.params.hash as string);
  ctx.templates.requireTemplate(info.params.template as string);
  if (ctx.templates.hasFile(hash)) return json(201, { present: true });
  const origin = `http://${info.req.headers.host ?? "127.0.0.1"}`;
  return json(201, { present: false, url: `${origin}/template-files/${hash}?signature=${ctx.templates.uploadToken(hash)}` });
}

async function startBuild(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const build = ctx.templates.require(info.params.template as string, info.params.build as string);
  const spec = parseBuildSpec(await readJsonObject(info.req, 16 * 1024 * 1024));
  if (build.status !== "waiting") throw new ApiError(409, `Build '${build.buildID}' was already started`);
  build.status = "building";
  void runBuild(ctx, ctx.templates, build, spec);
  return json(202, {});
}

function buildStatus(ctx: ServerContext, info: RequestInfo): Reply {
  const build = ctx.templates.require(info.params.template as string, info.params.build as string);
  const q = info.url.searchParams;
  const offset = Number(q.get("logsOffset") ?? 0);
  const limit = Number(q.get("limit") ?? STATUS_PAGE);
  if (!Number.isInteger(offset) || offset < 0) throw new ApiError(400, "logsOffset: must be a non-negative integer");
  if (!Number.isInteger(limit) || limit < 0 || limit > STATUS_PAGE) throw new ApiError(400, `limit: must be an integer in 0..${STATUS_PAGE}`);
  const entries = build.logs.slice(offset, offset + limit);
  return json(200, {
    templateID: build.templateID,
    buildID: build.buildID,
    status: build.status,
    logs: entries.map((e) => `[${e.timestamp}] ${e.message}`),
    logEntries: entries,
    ...(build.reason ? { reason: { ...build.reason, logEntries: build.logs.filter((e) => e.level === "error").slice(-STATUS_PAGE) } } : {}),
  });
}

/** `PUT /template-files/{hash}?signature=`: the archive, kept once complete (bounded in size). */
async function upload(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const hash = parseFilesHash(info.params.hash as string);
  ctx.templates.checkUploadToken(hash, info.url.searchParams.get("signature"));
  ctx.templates.ensureFilesDir();
  const dest = ctx.templates.filePath(hash);
  const partial = `${dest}.${process.pid}.${Date.now()}.part`;
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      done(size > UPLOAD_MAX ? new ApiError(413, `Upload larger than ${UPLOAD_MAX} bytes`) : null, chunk);
    },
  });
  try {
    await pipeline(info.req, limit, createWriteStream(partial, { mode: 0o600 }));
    await rename(partial, dest);
  } catch (err) {
    await rm(partial, { force: true });
    throw err instanceof ApiError ? err : new ApiError(400, `Upload failed: ${(err as Error).message}`);
  }
  return { kind: "raw", status: 200, body: "", headers: {} };
}

export const templateRoutes: RouteDef[] = [
  { method: "POST", pattern: /^\/v3\/templates$/, names: [], op: "templateBuild", handler: requestBuild },
  { method: "GET", pattern: /^\/templates\/([^/]+)\/files\/([^/]+)$/, names: ["template", "hash"], op: "templateFiles", handler: async (c, i) => uploadLink(c, i) },
  { method: "POST", pattern: /^\/v2\/templates\/([^/]+)\/builds\/([^/]+)$/, names: ["template", "build"], op: "templateBuild", handler: startBuild },
  { method: "GET", pattern: /^\/templates\/([^/]+)\/builds\/([^/]+)\/status$/, names: ["template", "build"], op: "templateBuildStatus", handler: async (c, i) => buildStatus(c, i) },
];

/** The signed upload route, matched before the API key check (its signature is its key). */
export function matchTemplateUpload(method: string, pathname: string, params: Record<string, string>): Route | undefined {
  const m = /^\/template-files\/([^/]+)$/.exec(pathname);
  if (!m || method !== "PUT") return undefined;
  params.hash = decodeURIComponent(m[1] ?? "");
  return { op: "templateUpload", flavor: "api", handle: upload };
}
