/**
 * Names that Durable Objects and Workflows share at runtime: the events a Workflow instance waits
 * on and the name of the one global Pool. Objects and workflows both import this leaf module and
 * never each other.
 */

/** The Pool's one global instance (`idFromName(POOL_NAME)`). */
export const POOL_NAME = "global";

/** The event a fork or session turn waiting for budget waits on. */
export const BUDGET_RAISED_EVENT = "budget-raised";

/** The event type the reconciler sends to wake an instance a runtime restart left idle; no step waits on it. */
export const WAKE_EVENT = "forkyard-wake";

/** The event the Pool sends a holder waiting in its queue when its turn for a sandbox comes. */
export const CAPACITY_EVENT = "capacity";
