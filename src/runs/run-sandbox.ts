import type { CreateRunRequest, RunSandbox } from "../api/runs";
import type { Config } from "../core/env";
import { resolveProfiles } from "../core/sandbox-profiles";
import type { TemplateAliases } from "../sandbox/template-aliases";
import { globalSandboxRate } from "../core/costs";

/**
 * Fills what a run's profile implies and the request left out (its template, its timeout), given
 * the fields the body itself set. Part of normalising the request, before its hash.
 */
export function applyProfile(request: CreateRunRequest, given: { template: boolean; timeoutSeconds: boolean }, config: Config): void {
  if (!request.profile) return;
  const profile = resolveProfiles(config.PROFILES)[request.profile];
  if (!given.template) request.template = profile.template;
  if (!given.timeoutSeconds) request.timeoutSeconds = profile.timeoutSeconds;
}

/** The sandbox a new run's forks (or a new session) get: its template alias resolved now, its profile's size or the global one. */
export async function resolveRunSandbox(request: Pick<CreateRunRequest, "template" | "profile">, config: Config, aliases: TemplateAliases): Promise<RunSandbox> {
  const { templateId, alias } = await aliases.resolve(request.template);
  const rate = request.profile ? resolveProfiles(config.PROFILES)[request.profile] : globalSandboxRate(config);
  return { profile: request.profile ?? null, templateId, alias, vcpu: rate.vcpu, memoryGib: rate.memoryGib };
}

/** The sandbox of a run stored before runs recorded theirs. */
export function legacyRunSandbox(request: CreateRunRequest, config: Config): RunSandbox {
  return { profile: null, templateId: request.template, alias: null, ...globalSandboxRate(config) };
}
