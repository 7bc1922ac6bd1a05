import { z } from "zod";

export const PROFILE_NAMES = ["light", "medium", "heavy", "ml"] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/**
 * A sandbox size. On E2B a template fixes its sandboxes' vCPU and memory, so a profile names the
 * template built for that size; its vCPU and GiB are what its sandbox time is costed at.
 */
export interface SandboxProfile {
  template: string;
  vcpu: number;
  memoryGib: number;
  /** A run's timeoutSeconds when it names the profile and no timeout. */
  timeoutSeconds: number;
}

export const DEFAULT_PROFILES: Readonly<Record<ProfileName, SandboxProfile>> = {
  light: { template: "base", vcpu: 1, memoryGib: 1, timeoutSeconds: 1800 },
  medium: { template: "base", vcpu: 2, memoryGib: 4, timeoutSeconds: 3600 },
  heavy: { template: "base", vcpu: 4, memoryGib: 8, timeoutSeconds: 7200 },
  ml: { template: "base", vcpu: 8, memoryGib: 32, timeoutSeconds: 14_400 },
};

export const templateName = z.string().min(1).max(200).regex(/^[A-Za-z0-9._:\/-]+$/, "may contain only letters, digits and . _ : / -");

const profileOverride = z.strictObject({
  template: templateName.optional(),
  vcpu: z.number().positive().max(256).optional(),
  memoryGib: z.number().positive().max(2048).optional(),
  timeoutSeconds: z.number().int().min(10).max(86_400).optional(),
});

/** The PROFILES variable: JSON overriding any field of any profile, e.g. `{"heavy":{"template":"my-heavy"}}`. */
export const profileOverrides = z.partialRecord(z.enum(PROFILE_NAMES), profileOverride);

export function resolveProfiles(overrides: z.infer<typeof profileOverrides>): Record<ProfileName, SandboxProfile> {
  return Object.fromEntries(PROFILE_NAMES.map((name) => [name, { ...DEFAULT_PROFILES[name], ...overrides[name] }])) as Record<ProfileName, SandboxProfile>;
}
