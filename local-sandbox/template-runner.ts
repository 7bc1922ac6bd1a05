// Runs a template build: a fresh sandbox of this server (as isolated as any: its namespaces,
// limits, `user`, `sudo` as a user namespace's root) made from the base, each step run in it as a
// command (RUN, COPY from the uploaded build context, ENV, WORKDIR, USER), then the start command
// and its ready check, then its files stored as a template (a snapshot with the name, its env vars,
// working directory and start command). The build's sandbox is killed however the build ends.
import { readFileSync } from "node:fs";
import type { ServerContext } from "./context.ts";
import { HOME } from "./paths.ts";
import type { Sandbox, CreateInput } from "./sandbox-store.ts";
import type { BuildRecord, TemplateBuilds } from "./template-builds.ts";
import { StepError, absolute, baseOf, checkStepType, copyScript, workdirScript, type BuildSpec, type BuildStep } from "./template-steps.ts";
import { runInSandbox } from "./template-exec.ts";
import { startTemplateCmd } from "./template-start.ts";

/** Bounds: one step, and the ready check after the start command. */
const STEP_TIMEOUT_MS = 30 * 60_000;
const READY_TIMEOUT_MS = 120_000;
/** The build's sandbox lives at most this long (a step past it is killed with the sandbox). */
const BUILD_SANDBOX_SEC = 2 * 3600;

interface BuildState {
  envs: Record<string, string>;
  workdir: string;
  root: boolean;
}

async function buildSandbox(ctx: ServerContext, build: BuildRecord, spec: BuildSpec): Promise<Sandbox> {
  const ref = baseOf(spec);
  const input: CreateInput = {
    templateID: ref ?? "base",
    timeoutSec: BUILD_SANDBOX_SEC,
    metadata: { "e2b.template.build": build.buildID },
    envVars: {},
    autoPause: false,
    autoResume: false,
  };
  if (ref === undefined) return ctx.store.create(input);
  const from = ctx.snapshots.resolve(ref);
  if (!from) throw new StepError("base", `fromTemplate("${ref}"): no template or snapshot of that name on this server`);
  const sb = await ctx.store.createFrom({ ...input, envVars: { ...from.envVars }, ...(from.workdir ? { workdir: from.workdir } : {}) }, ctx.snapshots.dir(from));
  // As in any sandbox made from that template, its start command runs (the new one inherits it unless it sets its own).
  if (from.startCmd) await startTemplateCmd(ctx, sb, from.startCmd);
  return sb;
}

async function run(ctx: ServerContext, builds: TemplateBuilds, build: BuildRecord, sb: Sandbox, step: string, script: string, state: BuildState, extra: { env?: Record<string, string>; stdin?: Buffer; timeoutMs?: number } = {}): Promise<void> {
  const { end, stderrTail } = await runInSandbox(ctx, sb, {
    script,
    asRoot: state.root,
    env: { ...state.envs, ...extra.env },
    cwd: state.workdir,
    timeoutMs: extra.timeoutMs ?? STEP_TIMEOUT_MS,
    onLine: (stream, line) => builds.log(build, stream === "stderr" ? "warn" : "info", line, step),
    ...(extra.stdin ? { stdin: extra.stdin } : {}),
  });
  if (end.error !== undefined) throw new StepError(step, `step ${step} failed: ${end.error}${stderrTail.length ? `: ${stderrTail.join(" | ")}` : ""}`);
}

async function runStep(ctx: ServerContext, builds: TemplateBuilds, build: BuildRecord, sb: Sandbox, s: BuildStep, n: string, state: BuildState): Promise<void> {
  checkStepType(s, n);
  const [a0 = "", a1 = "", a2 = "", a3 = ""] = s.args;
  if (s.type === "RUN") {
    await run(ctx, builds, build, sb, n, a0, a1 === "root" ? { ...state, root: true } : a1 === "user" ? { ...state, root: false } : state);
  } else if (s.type === "ENV") {
    for (let i = 0; i + 1 < s.args.length; i += 2) state.envs[s.args[i]!] = s.args[i + 1]!;
  } else if (s.type === "WORKDIR") {
    const dir = absolute(a0, state.workdir);
    let script: string;
    try {
      script = workdirScript(dir);
    } catch (err) {
      throw new StepError(n, (err as Error).message);
    }
    await run(ctx, builds, build, sb, n, script, { ...state, root: false }, { env: { E2B_STEP_DIR: dir } });
    state.workdir = dir;
  } else if (s.type === "USER") {
    if (a0 !== "user" && a0 !== "root") throw new StepError(n, `USER ${a0}: a local sandbox has the users user and root (sudo) only`);
    state.root = a0 === "root";
  } else {
    if (!s.filesHash || !builds.hasFile(s.filesHash)) throw new StepError(n, `COPY ${a0}: its files were not uploaded`);
    const archive = readFileSync(builds.filePath(s.filesHash));
    const gzip = archive[0] === 0x1f && archive[1] === 0x8b;
    const env = { E2B_COPY_SRC: a0, E2B_COPY_DEST: absolute(a1, state.workdir), E2B_COPY_MODE: a3 };
    await run(ctx, builds, build, sb, n, copyScript(gzip), { ...state, root: a2 === "root" }, { env, stdin: archive });
  }
}

/** The start command in the background, then its ready check until it passes (bounded). */
async function finalize(ctx: ServerContext, builds: TemplateBuilds, build: BuildRecord, sb: Sandbox, spec: BuildSpec, state: BuildState): Promise<void> {
  if (spec.startCmd) {
    builds.log(build, "info", `Starting: ${spec.startCmd}`, "finalize");
    void runInSandbox(ctx, sb, { script: spec.startCmd, asRoot: state.root, env: state.envs, cwd: state.workdir, timeoutMs: BUILD_SANDBOX_SEC * 1000, onLine: (_s, line) => builds.log(build, "info", line, "finalize") }).catch(() => {});
  }
  if (!spec.readyCmd) return;
  builds.log(build, "info", `Waiting for: ${spec.readyCmd}`, "finalize");
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await run(ctx, builds, build, sb, "finalize", spec.readyCmd, state, { timeoutMs: READY_TIMEOUT_MS });
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw new StepError("finalize", `ready command did not pass within ${READY_TIMEOUT_MS / 1000} s: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Runs a build to its end: status `ready` with the template stored, or `error` with the reason. */
export async function runBuild(ctx: ServerContext, builds: TemplateBuilds, build: BuildRecord, spec: BuildSpec): Promise<void> {
  build.status = "building";
  let sb: Sandbox | undefined;
  const state: BuildState = { envs: {}, workdir: HOME, root: false };
  try {
    builds.log(build, "info", `Building ${build.name} from ${spec.fromTemplate ?? spec.fromImage ?? "e2bdev/base"}`, "base");
    sb = await buildSandbox(ctx, build, spec);
    Object.assign(state.envs, sb.record.envVars);
    state.workdir = sb.record.workdir ?? HOME;
    for (const [i, s] of spec.steps.entries()) {
      const n = String(i + 1);
      builds.log(build, "info", `[${n}/${spec.steps.length}] ${s.type} ${s.args.join(" ")}`, n);
      await runStep(ctx, builds, build, sb, s, n, state);
    }
    await finalize(ctx, builds, build, sb, spec, state);
    const startCmd = spec.startCmd ?? (spec.fromTemplate ? ctx.snapshots.resolve(spec.fromTemplate)?.startCmd : undefined);
    await ctx.snapshots.create(
      { id: sb.id, dir: sb.dir, templateID: build.templateID, envVars: state.envs },
      build.name,
      { kind: "template", workdir: state.workdir, ...(startCmd ? { startCmd } : {}) },
    );
    builds.log(build, "info", `Template ${build.name} is ready`, "finalize");
    build.status = "ready";
  } catch (err) {
    const step = err instanceof StepError ? err.step : undefined;
    const message = (err as Error).message;
    build.reason = { message, ...(step !== undefined ? { step } : {}) };
    builds.log(build, "error", message, step);
    build.status = "error";
  } finally {
    if (sb) ctx.store.kill(sb.id);
  }
}
