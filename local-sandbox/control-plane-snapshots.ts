// The snapshot routes of the control plane (local-sandbox/snapshots.ts): create from a sandbox,
// list (filters, pagination as E2B's: `limit` 1..100, opaque `nextToken`, `X-Next-Token` only when
// more pages), delete through the template route, as the SDK does.
import { ApiError } from "./errors.ts";
import { empty, json, readJsonObject, type Reply } from "./http-util.ts";
import type { RequestInfo, ServerContext } from "./context.ts";
import { parseSnapshotName, snapshotInfo } from "./snapshots.ts";
import type { RouteDef } from "./control-plane.ts";

async function createSnapshot(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const body = await readJsonObject(info.req);
  const name = parseSnapshotName(body.name);
  const sb = ctx.store.require(info.params.id as string);
  const s = await ctx.snapshots.create({ id: sb.id, dir: sb.dir, templateID: sb.record.templateID, envVars: sb.record.envVars }, name);
  return json(201, snapshotInfo(s));
}

function listSnapshots(ctx: ServerContext, info: RequestInfo): Reply {
  const q = info.url.searchParams;
  const limitRaw = q.get("limit");
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ApiError(400, "limit must be an integer in 1..100");
  const all = ctx.snapshots.list({ ...(q.get("sandboxID") ? { sandboxID: q.get("sandboxID") as string } : {}), ...(q.get("name") ? { name: q.get("name") as string } : {}) });
  const token = q.get("nextToken");
  let start = 0;
  if (token) {
    const after = Buffer.from(token, "base64url").toString("utf8");
    start = all.findIndex((s) => s.snapshotID === after) + 1;
    if (start === 0) throw new ApiError(400, "Invalid next token");
  }
  const page = all.slice(start, start + limit);
  const last = page[page.length - 1];
  const headers: Record<string, string> = last && start + limit < all.length ? { "X-Next-Token": Buffer.from(last.snapshotID).toString("base64url") } : {};
  return json(200, page.map(snapshotInfo), headers);
}

export const snapshotRoutes: RouteDef[] = [
  { method: "POST", pattern: /^\/sandboxes\/([^/]+)\/snapshots$/, names: ["id"], op: "snapshot", handler: createSnapshot },
  { method: "GET", pattern: /^\/snapshots$/, names: [], op: "snapshots", handler: async (c, i) => listSnapshots(c, i) },
  {
    method: "DELETE",
    pattern: /^\/templates\/([^/]+)$/,
    names: ["template"],
    op: "deleteSnapshot",
    handler: async (c, i) => {
      const ref = i.params.template as string;
      if (!c.snapshots.delete(ref)) throw new ApiError(404, `Template '${ref}' not found`);
      return empty(204);
    },
  },
];
