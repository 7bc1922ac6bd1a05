import type { Config } from "../core/env";
import { ModelProxyUnavailableError } from "../core/errors";

/** Where the model proxy of a run's forks lives: `<PUBLIC_URL>/v1/model-proxy/<run>` (an SDK appends `/v1/messages`). */
export function modelProxyUrl(config: Pick<Config, "PUBLIC_URL">, runId: string): string {
  if (!config.PUBLIC_URL) throw new ModelProxyUnavailableError();
  return `${config.PUBLIC_URL.replace(/\/+$/, "")}/v1/model-proxy/${encodeURIComponent(runId)}`;
}
