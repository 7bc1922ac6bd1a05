// The build spec of E2B's `POST /v2/templates/{id}/builds/{buildID}` (`TemplateBuildStartV2`,
// what `Template.build()` sends), checked, and what its base names here: the `base` template (also
// the SDK's default image, `e2bdev/base`) or another local template or snapshot. Docker images,
// Dockerfiles and registries need an image builder, which the local server has not.
import { posix } from "node:path";
import { ApiError } from "./errors.ts";
import { HOME } from "./paths.ts";

export interface BuildStep {
  type: string;
  args: string[];
  filesHash?: string;
}

export interface BuildSpec {
  fromImage?: string;
  fromTemplate?: string;
  registry: boolean;
  steps: BuildStep[];
  startCmd?: string;
  readyCmd?: string;
}

/** The SDK's default image (`Template()`, `fromBaseImage()`): E2B's `base` template. */
const BASE_IMAGES = ["e2bdev/base", "e2bdev/base:latest"];
const STEP_TYPES = ["RUN", "COPY", "ENV", "WORKDIR", "USER"];

function optString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new ApiError(400, `${field}: must be a string`);
  return v;
}

function parseStep(raw: unknown, i: number): BuildStep {
  const s = raw as { type?: unknown; args?: unknown; filesHash?: unknown } | null;
  if (typeof s !== "object" || s === null || typeof s.type !== "string") throw new ApiError(400, `steps[${i}].type: required`);
  const args = s.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) throw new ApiError(400, `steps[${i}].args: must be an array of strings`);
  if (s.filesHash !== undefined && typeof s.filesHash !== "string") throw new ApiError(400, `steps[${i}].filesHash: must be a string`);
  return { type: s.type, args: args as string[], ...(typeof s.filesHash === "string" ? { filesHash: s.filesHash } : {}) };
}

/** Checks a build request's body (the shape only: what cannot run here fails the build instead). */
export function parseBuildSpec(body: Record<string, unknown>): BuildSpec {
  const steps = body.steps ?? [];
  if (!Array.isArray(steps)) throw new ApiError(400, "steps: must be an array");
  const spec: BuildSpec = { registry: body.fromImageRegistry !== undefined && body.fromImageRegistry !== null, steps: steps.map(parseStep) };
  for (const field of ["fromImage", "fromTemplate", "startCmd", "readyCmd"] as const) {
    const v = optString(body, field);
    if (v !== undefined) spec[field] = v;
  }
  return spec;
}

/** A build failure at a step E2B's way: "base", "1".."n" (the steps), "finalize". */
export class StepError extends Error {
  readonly step: string;
  constructor(step: string, message: string) {
    super(message);
    this.step = step;
  }
}

/** The template a build starts from: `base` (undefined) or a local template/snapshot reference. */
export function baseOf(spec: BuildSpec): string | undefined {
  if (spec.fromTemplate !== undefined) return spec.fromTemplate === "base" ? undefined : spec.fromTemplate;
  const image = spec.fromImage ?? BASE_IMAGES[0]!;
  if (spec.registry || !BASE_IMAGES.includes(image)) {
    throw new StepError(
      "base",
      `fromImage("${image}")${spec.registry ? " with registry credentials" : ""}: Docker images (fromImage, fromDockerfile, registries) are not supported ` +
        "by the local sandbox server, which has no image builder; build from fromBaseImage(), fromTemplate(\"base\") or another local template",
    );
  }
  return undefined;
}

/** A step that is not one of the kinds the SDK sends. */
export function checkStepType(step: BuildStep, n: string): void {
  if (!STEP_TYPES.includes(step.type)) throw new StepError(n, `${step.type}: unknown step type`);
}

/** A sandbox path for a step's path argument (relative ones against the working directory; a final `/` kept). */
export function absolute(path: string, workdir: string): string {
  const abs = posix.resolve(workdir || HOME, path);
  return path.endsWith("/") && abs !== "/" ? `${abs}/` : abs;
}

/** `mkdir -p` for WORKDIR, refused clearly outside the folders a local sandbox can write. */
export function workdirScript(dir: string): string {
  if (dir !== HOME && !dir.startsWith(`${HOME}/`) && dir !== "/tmp" && !dir.startsWith("/tmp/")) {
    throw new Error(`WORKDIR ${dir}: a local sandbox can write only under /home/user and /tmp (its root filesystem is the host's, read-only)`);
  }
  return 'mkdir -p -- "$E2B_STEP_DIR"';
}

/**
 * COPY as Docker's: the archive (stdin, gzipped or not) is unpacked in a temporary folder, each
 * match of the source pattern copied to the destination (a folder's contents into it; into the
 * destination as a folder when several match, it ends with `/` or exists as one), then `chmod`.
 * Paths come in the environment, never in the script's text.
 */
export function copyScript(gzip: boolean): string {
  return [
    "set -e",
    'ctx=$(mktemp -d /tmp/.e2b-copy.XXXXXX); trap \'rm -rf "$ctx"\' EXIT',
    `tar -x${gzip ? "z" : ""}f - -C "$ctx"`,
    'cd "$ctx"',
    "IFS='\n'; set -- $E2B_COPY_SRC; unset IFS",
    '[ -e "$1" ] || [ -L "$1" ] || { echo "COPY: no file matches $E2B_COPY_SRC in the build context" >&2; exit 1; }',
    'dest=$E2B_COPY_DEST; todir=',
    'case "$dest" in */) todir=1 ;; esac; [ $# -gt 1 ] && todir=1; [ -d "$dest" ] && todir=1',
    'for f; do',
    '  if [ -d "$f" ] && [ ! -L "$f" ]; then mkdir -p -- "$dest"; cp -a -- "$f"/. "$dest"/',
    '  elif [ -n "$todir" ]; then mkdir -p -- "$dest"; cp -a -- "$f" "$dest"/',
    '  else mkdir -p -- "$(dirname -- "$dest")"; cp -a -- "$f" "$dest"; fi',
    "done",
    '[ -z "$E2B_COPY_MODE" ] || chmod -R "$E2B_COPY_MODE" -- "$dest"',
  ].join("\n");
}
