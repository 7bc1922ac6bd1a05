/**
 * Checkpoint names of the agent's steps (re-exported by workflows/steps.ts). They are the replay
 * keys: a name must denote the same call in every run of the same Workflow instance.
 */

/** The model call of turn `turn` (1-based): `model-1`, `model-2`, ... */
export function modelStepName(turn: number): string {
  return `model-${turn}`;
}

/** The `index`-th (0-based) tool call requested in turn `turn`: `tool-1-1`, `tool-1-2`, ... */
export function toolStepName(turn: number, index: number): string {
  return `tool-${turn}-${index + 1}`;
}
