import { Hono, type Context } from "hono";
import type { AppEnv } from "../core/app-env";
import { forkPathParams, type ForkView } from "../api/runs";
import { validParams } from "../api/validation";
import { artifactPrefix, ArtifactStore, patchKey } from "../artifacts/store";
import { NotFoundError, unwrap } from "../core/errors";

/** A fork's stored files and patch (mounted under /v1/runs). */
export const artifacts = new Hono<AppEnv>();

/** The fork's view; 404 for an unknown run or fork. */
async function forkOf(env: AppEnv["Bindings"], id: string, n: number): Promise<ForkView> {
  const result = await env.ORCHESTRATOR.getByName(id).forkView(n);
  if (!result.ok && result.error.code === "not_found" && result.error.details?.run !== undefined) throw new NotFoundError("run", id);
  return unwrap(result);
}

export function objectResponse(c: Context<AppEnv>, object: R2ObjectBody, contentType: string, filename?: string): Response {
  const headers = new Headers({ "Content-Type": contentType, "Content-Length": String(object.size), ETag: object.httpEtag });
  const sha256 = object.customMetadata?.sha256;
  if (sha256) headers.set("X-Checksum-Sha256", sha256);
  if (filename) headers.set("Content-Disposition", `attachment; filename="${filename.replace(/["\\\r\n]/g, "_")}"`);
  return c.newResponse(object.body, { headers });
}

const forkPath = validParams(forkPathParams);

artifacts.get("/:id/forks/:n/artifacts", forkPath, async (c) => {
  const { id, n } = c.req.valid("param");
  const fork = await forkOf(c.env, id, n);
  const files = await new ArtifactStore(c.env.ARTIFACTS).list(id, fork.n);
  return c.json({ artifacts: files, skipped: fork.artifacts?.skipped ?? [] });
});

artifacts.get("/:id/forks/:n/artifacts/:path{.+}", forkPath, async (c) => {
  const { id, n } = c.req.valid("param");
  const fork = await forkOf(c.env, id, n);
  const path = c.req.param("path");
  const object = await new ArtifactStore(c.env.ARTIFACTS).get(`${artifactPrefix(id, fork.n)}${path}`, "artifact", `${id}/${fork.n}/${path}`);
  return objectResponse(c, object, "application/octet-stream", path.split("/").pop());
});

artifacts.get("/:id/forks/:n/patch", forkPath, async (c) => {
  const { id, n } = c.req.valid("param");
  const fork = await forkOf(c.env, id, n);
  const object = await new ArtifactStore(c.env.ARTIFACTS).get(patchKey(id, fork.n), "patch", `${id}/${fork.n}`);
  return objectResponse(c, object, "text/x-diff; charset=utf-8");
});
