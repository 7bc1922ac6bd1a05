import { estimateInputTokens } from "../agent/loop";
import { expectedCallCostUsd, parseModelPrices, usageCostUsd } from "../agent/pricing";
import { ArtifactStore, patchKey } from "../artifacts/store";
import { unwrap } from "../core/errors";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import { judgeBoundary, judgePatch, JUDGE_PATCH_BYTES, type JudgeInput, type Judgement, type JudgePatch } from "../runs/judging";
import { pairRequest, readPairVerdict } from "../runs/pairwise";
import { combineOrders, eliminationPairs, nextAlive, roundRobinPairs, seedOrder, tournamentFormat, tournamentResult, type Match, type PairVerdict, type TournamentResult } from "../runs/tournament";
import type { JobContext } from "./durable-job";
import type { JudgeParams } from "./judge-workflow";
import { stepConfig } from "./step-policies";

/** Step names of a tournament's calls: fork `shownA` shown as A against `shownB` (each pair meets once, so each order's name is unique). */
export const TOURNAMENT_STEP = { pair: (shownA: number, shownB: number) => `judge-pair-${shownA}-${shownB}` } as const;

/** A bound on one pairwise call's cost: two whole patch heads and summaries, the whole answer. */
function pairCallBoundUsd(input: JudgeInput, prices: ReturnType<typeof parseModelPrices>): number {
  const inputTokensEstimate = Math.ceil((2 * JUDGE_PATCH_BYTES + 2 * 8_000 + 6_000) / 3);
  return expectedCallCostUsd(input.model, { inputTokensEstimate, maxTokens: 1024 }, prices);
}

type Orch = DurableObjectStub<Orchestrator>;

/**
 * The tournament over the forks the pointwise judge scored: the format (from the call cap and the
 * money left, decided from the judging's input, so a replay decides the same), then each pair in
 * both orders, one checkpointed step per call; single elimination round by round from the seeds.
 */
export async function runTournament(job: JobContext<JudgeParams>, orchestrator: Orch, input: JudgeInput, judgements: readonly Judgement[]): Promise<TournamentResult> {
  const settings = input.tournament!;
  const prices = parseModelPrices(job.config.MODEL_PRICES);
  const scores = new Map(judgements.map((j) => [j.n, j.score]));
  const seeded = seedOrder(input.forks.map((f) => ({ n: f.n, score: scores.get(f.n) ?? null })));
  const perCall = pairCallBoundUsd(input, prices);
  const left = settings.budgetLeftUsd === null ? null : settings.budgetLeftUsd - perCall * input.forks.length;
  const format = tournamentFormat(seeded.length, settings.maxComparisons, perCall, left);
  const play = (a: number, b: number, round: number) => playMatch(job, orchestrator, input, a, b, round);
  const matches: Match[] = [];
  if (format === "round_robin") {
    for (const [a, b] of roundRobinPairs(seeded)) matches.push(await play(a, b, 1));
    return tournamentResult(format, seeded, matches, null);
  }
  let alive = seeded;
  for (let round = 1; alive.length > 1; round++) {
    const played: Match[] = [];
    for (const [a, b] of eliminationPairs(alive).pairs) played.push(await play(a, b, round));
    matches.push(...played);
    alive = nextAlive(alive, played, seeded);
  }
  return tournamentResult(format, seeded, matches, alive[0] ?? null);
}

async function playMatch(job: JobContext<JudgeParams>, orchestrator: Orch, input: JudgeInput, a: number, b: number, round: number): Promise<Match> {
  const first = await judgeOrder(job, orchestrator, input, a, b);
  const second = await judgeOrder(job, orchestrator, input, b, a);
  return { round, a, b, first: first.verdict, second: second.verdict, winner: combineOrders(a, b, first.verdict, second.verdict), reasons: [first.reason, second.reason] };
}

/**
 * One order of a pair: a model call reserved in the run's budget first, booked at fork 0 (the run's
 * own costs), both forks' text fenced by a boundary drawn inside the step.
 */
function judgeOrder(job: JobContext<JudgeParams>, orchestrator: Orch, input: JudgeInput, shownA: number, shownB: number): Promise<{ verdict: PairVerdict; reason: string }> {
  const { runId, k } = job.params;
  const prices = parseModelPrices(job.config.MODEL_PRICES);
  const store = new ArtifactStore(job.env.ARTIFACTS);
  const side = async (n: number) => {
    const fork = input.forks.find((f) => f.n === n)!;
    const head = fork.diff && fork.diff.files > 0 ? await store.head(patchKey(runId, n), JUDGE_PATCH_BYTES + 1) : null;
    const patch: JudgePatch | null = head === null ? null : judgePatch(head);
    return { fork, patch };
  };
  return job.steps.run(TOURNAMENT_STEP.pair(shownA, shownB), stepConfig("judge", job.config.RETRY_POLICIES), async ({ attempt }) => {
    const request = pairRequest(input, await side(shownA), await side(shownB), judgeBoundary());
    const key = `judge:${k}:pair:${shownA}-${shownB}:${attempt}`;
    const expected = expectedCallCostUsd(input.model, { inputTokensEstimate: estimateInputTokens(request), maxTokens: request.maxTokens }, prices);
    unwrap(await orchestrator.reserveModelCall(0, key, expected));
    try {
      const turn = await job.callModel(request);
      await orchestrator.recordModelCost(0, key, usageCostUsd(turn.model || input.model, turn.usage, prices));
      return readPairVerdict(turn);
    } catch (err) {
      await orchestrator.releaseReservation(key);
      throw err;
    }
  }, { gated: false });
}
