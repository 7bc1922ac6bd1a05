/**
 * zod schemas of what a run's view shows of its selectors and its search: the tournament of a
 * judging (judge.mode "tournament") and the waves of an adaptive run (strategy.kind "adaptive").
 * The TypeScript types the code uses are inferred from them, so the OpenAPI document and the code
 * cannot drift.
 *
 * Imports carry their `.ts` extension: the Node-side OpenAPI test imports this module too.
 */
import { z } from "zod";

const verdict = z.enum(["A", "B", "tie"]).nullable().describe("the answer of one order: which attempt shown was better (null: unreadable, counts as a tie)");

export const tournamentView = z.object({
  format: z.enum(["round_robin", "single_elimination"]).describe("round-robin when every pair in both orders fit maxComparisons and the budget, else single elimination seeded by the scores"),
  matches: z.array(
    z.object({
      round: z.number().int().describe("the elimination round (1 for every round-robin match)"),
      a: z.number().int(),
      b: z.number().int(),
      first: verdict.describe("fork a shown as A, b as B"),
      second: verdict.describe("fork b shown as A, a as B"),
      winner: z.number().int().nullable().describe("the fork both orders preferred; null: a tie (the orders disagreed, or either said tie)"),
      reasons: z.array(z.string()).describe("the judge's reason in each order"),
    }),
  ),
  standings: z.array(
    z.object({
      n: z.number().int(),
      seed: z.number().int().describe("its place by the pointwise scores (1 = best)"),
      wins: z.number().int(),
      ties: z.number().int(),
      losses: z.number().int(),
      reached: z.number().int().optional().describe("single elimination: the last round it played"),
    }),
  ),
  order: z.array(z.number().int()).describe("the forks best first by the tournament"),
  calls: z.number().int().describe("judge calls the tournament made"),
});

export const selectionView = z.object({
  rankedBy: z.enum(["pointwise", "tournament"]).describe("the selector whose order the ranking (and its winner) follows after the check"),
  pointwise: z.number().int().nullable().describe("the fork the pointwise scores rank first"),
  tournament: z.number().int().nullable().describe("the fork the tournament ranks first (null without a tournament)"),
});

export const adaptiveStop = z.object({
  reason: z.enum(["check_pass", "min_score", "max", "budget"]).describe("a fork passed its check; a judged fork reached minScore; every fork up to max was launched; the budget was spent"),
  wave: z.number().int(),
  fork: z.number().int().optional().describe("the fork that passed (check_pass) or reached the score (min_score)"),
  message: z.string(),
});

export const adaptiveView = z.object({
  initial: z.number().int(),
  max: z.number().int(),
  waves: z.array(
    z.object({
      wave: z.number().int(),
      forks: z.array(z.number().int()),
      costUsd: z.number().describe("what the wave's forks cost"),
      passed: z.array(z.number().int()).describe("its forks whose check passed"),
    }),
  ),
  stopped: adaptiveStop.nullable().describe("why no further wave was launched (null: still searching)"),
});

export type TournamentView = z.output<typeof tournamentView>;
export type SelectionView = z.output<typeof selectionView>;
export type AdaptiveView = z.output<typeof adaptiveView>;
export type AdaptiveStop = z.output<typeof adaptiveStop>;
