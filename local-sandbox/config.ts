// Environment -> server options (used by main.ts; tests pass options directly).
import { validateFaults, validateLatency } from "./faults.ts";
import { ISOLATION_MODES, type IsolationMode } from "./isolation.ts";
import { EGRESS_MODES, type EgressMode } from "./isolation/egress-check.ts";
import { SPAWNER_MODES, type SpawnerMode } from "./spawner.ts";
import { DEFAULT_PORT, type SandboxServerOptions } from "./server.ts";

function parseJsonEnv(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

function intEnv(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxServerOptions {
  const opts: SandboxServerOptions = {
    port: intEnv("SANDBOX_PORT", env.SANDBOX_PORT, 0) ?? DEFAULT_PORT,
    host: env.SANDBOX_HOST || "127.0.0.1",
    dataDir: env.SANDBOX_DATA_DIR || ".sandbox-data",
  };
  if (env.E2B_API_KEY) opts.apiKey = env.E2B_API_KEY;
  const maxLive = intEnv("SANDBOX_MAX_LIVE", env.SANDBOX_MAX_LIVE, 0);
  if (maxLive !== undefined) opts.maxLive = maxLive;
  if (env.SANDBOX_LATENCY) {
    try {
      opts.latency = validateLatency(parseJsonEnv("SANDBOX_LATENCY", env.SANDBOX_LATENCY));
    } catch (err) {
      throw new Error(`SANDBOX_LATENCY: ${(err as Error).message}`);
    }
  }
  if (env.SANDBOX_FAULTS) {
    try {
      opts.faults = validateFaults(parseJsonEnv("SANDBOX_FAULTS", env.SANDBOX_FAULTS));
    } catch (err) {
      throw new Error(`SANDBOX_FAULTS: ${(err as Error).message}`);
    }
  }
  const iso = env.SANDBOX_ISOLATION || "auto";
  if (!ISOLATION_MODES.includes(iso as IsolationMode)) throw new Error(`SANDBOX_ISOLATION must be one of ${ISOLATION_MODES.join(", ")}`);
  opts.isolation = iso as IsolationMode;
  if (env.SANDBOX_SHARED_NAMESPACE) {
    const v = env.SANDBOX_SHARED_NAMESPACE.toLowerCase();
    if (!["0", "1", "true", "false"].includes(v)) throw new Error("SANDBOX_SHARED_NAMESPACE must be 0/1/true/false");
    opts.sharedNamespace = v === "1" || v === "true";
  }
  if (env.SANDBOX_SPAWNER) {
    if (!(SPAWNER_MODES as readonly string[]).includes(env.SANDBOX_SPAWNER)) throw new Error(`SANDBOX_SPAWNER must be one of ${SPAWNER_MODES.join(", ")}`);
    opts.spawner = env.SANDBOX_SPAWNER as SpawnerMode;
  }
  if (env.SANDBOX_EXPOSE_PATHS) opts.exposePaths = env.SANDBOX_EXPOSE_PATHS.split(":").filter(Boolean);
  if (env.SANDBOX_HIDE_PATHS) opts.hidePaths = env.SANDBOX_HIDE_PATHS.split(":").filter(Boolean);
  if (env.SANDBOX_FORWARD_HOSTS) opts.forwardHosts = env.SANDBOX_FORWARD_HOSTS.split(/[\s,]+/).filter(Boolean);
  if (env.SANDBOX_EGRESS) {
    if (!EGRESS_MODES.includes(env.SANDBOX_EGRESS as EgressMode)) throw new Error(`SANDBOX_EGRESS must be one of ${EGRESS_MODES.join(", ")}`);
    opts.egress = env.SANDBOX_EGRESS as EgressMode;
  }
  if (env.SANDBOX_EGRESS_LOOPBACK) {
    const v = env.SANDBOX_EGRESS_LOOPBACK.toLowerCase();
    if (!["0", "1", "true", "false"].includes(v)) throw new Error("SANDBOX_EGRESS_LOOPBACK must be 0/1/true/false");
    opts.egressLoopback = v === "1" || v === "true";
  }
  if (env.SANDBOX_LIMITS !== undefined && ["off", "0", "false"].includes(env.SANDBOX_LIMITS.toLowerCase())) opts.limits = false;
  else {
    const limits = {
      memoryMB: intEnv("SANDBOX_MEMORY_MB", env.SANDBOX_MEMORY_MB, 16),
      pids: intEnv("SANDBOX_PIDS_MAX", env.SANDBOX_PIDS_MAX, 16),
      cpus: intEnv("SANDBOX_CPUS", env.SANDBOX_CPUS, 1),
      diskMB: intEnv("SANDBOX_DISK_MB", env.SANDBOX_DISK_MB, 1),
    };
    const set = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
    if (Object.keys(set).length > 0) opts.limits = set;
  }
  const frozenMemoryMB = intEnv("SANDBOX_FROZEN_MEMORY_MB", env.SANDBOX_FROZEN_MEMORY_MB, 0);
  if (frozenMemoryMB !== undefined) opts.frozenMemoryMB = frozenMemoryMB;
  if (env.SANDBOX_ADMIN_KEY) opts.adminKey = env.SANDBOX_ADMIN_KEY;
  return opts;
}
