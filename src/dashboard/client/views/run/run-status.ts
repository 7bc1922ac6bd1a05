/** Which run and fork statuses are final. */
import { TERMINAL_FORK_STATUSES, TERMINAL_RUN_STATUSES } from "../../../../api/client-types.ts";
import type { ForkView, RunView } from "../../lib/api-types.ts";

export const isFinished = (run: Pick<RunView, "status">): boolean => (TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status);
export const isForkTerminal = (status: ForkView["status"]): boolean => (TERMINAL_FORK_STATUSES as readonly string[]).includes(status);
