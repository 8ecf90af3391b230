/**
 * Direct preference optimisation (Rafailov et al., 2023) on pairs of a successful
 * and a failed episode of the same question. With s(y) = log π(y) - log π_ref(y),
 * the sum over the policy's own tokens of y, the loss of a pair is
 *
 *   -log σ(β · (s(chosen) - s(rejected)))
 *
 * and β · s(y) is the implicit reward. π_ref is the policy as it starts, frozen.
 */
import type { z } from "zod";
import { byQuestion, mean, succeeded, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import type { LanguageModel } from "../lm/index.ts";
import type { TokenSequence } from "../planner/index.ts";
import { Random } from "../random.ts";
import { DpoSettings } from "./config.ts";
import { parseOptions } from "../options.ts";
import { objectiveStep, rowLogprobsInChunks } from "./data-parallel.ts";
import { distinctByActions, trainingRows } from "./rollouts.ts";
import { tokenBatch } from "./supervised.ts";
import { disposeWeights, frozenCopy, minibatchPlan, refuseOtherPrompt, TrainingRun, EPISODE_OPTIONS, type EpisodeTrainingOptions, type TrainingResult } from "./runs.ts";

export interface PreferencePair {
  chosen: Trajectory;
  rejected: Trajectory;
}

/** The planner is also, as it is at the start, the frozen reference. */
export type DpoOptions = z.input<typeof DpoSettings> & EpisodeTrainingOptions;

export async function dpo(options: DpoOptions): Promise<TrainingResult> {
  const o = parseOptions("dpo", DpoSettings, options, EPISODE_OPTIONS);
  const { planner, template } = options;
  refuseOtherPrompt("dpo", options.episodes, template);
  const pairs = preferencePairs(options.episodes, o.pairsPerQuestion, o.seed);
  if (pairs.length === 0) throw new UserError("no question has both a successful and a failed episode: DPO has no pairs to learn from");
  const chosen = trainingRows(pairs.map((p) => p.chosen), template, planner);
  const rejected = trainingRows(pairs.map((p) => p.rejected), template, planner);

  // log π_ref of each episode, once: the policy as it starts, before any resumed weights.
  const reference = frozenCopy(planner.model);
  let refChosen: number[];
  let refRejected: number[];
  try {
    refChosen = await sequenceLogprobs(reference, chosen);
    refRejected = await sequenceLogprobs(reference, rejected);
  } finally {
    disposeWeights(reference);
  }

  const run = await TrainingRun.open(options.out, { method: "dpo", start: planner, config: { pairs: pairs.length, ...o }, counter: "step", mutable: ["epochs"], template });
  const { optimizer } = run.restore(planner);
  const plan = minibatchPlan(pairs.length, o.batchSize, o.epochs, o.seed);
  const { checkpointEvery, signal, onProgress } = options;
  return run.steps(plan, { planner, optimizer, signal, checkpointEvery, onProgress }, async (indices) => {
    const batch = tokenBatch([...indices.map((i) => chosen[i]!), ...indices.map((i) => rejected[i]!)]);
    const refs = { refChosen: indices.map((i) => refChosen[i]!), refRejected: indices.map((i) => refRejected[i]!) };
    const result = await objectiveStep(planner.model, optimizer, { kind: "dpo", batch, ...refs, beta: o.beta }, o.learningRate, o.clipNorm);
    const { margins, chosenReward, rejectedReward } = result.outputs;
    return {
      loss: result.loss,
      accuracy: mean([...margins].map((m) => (m > 0 ? 1 : 0))),
      margin: mean([...margins]),
      chosenReward: chosenReward[0]!,
      rejectedReward: rejectedReward[0]!,
      gradNorm: result.gradNorm,
    };
  });
}

/**
 * Up to `perQuestion` pairs for each question that has both a rewarded episode and a
 * failed one (each distinct by its actions), drawn at random among all such pairs.
 */
export function preferencePairs(episodes: readonly Trajectory[], perQuestion: number, seed: number): PreferencePair[] {
  const random = new Random(seed);
  return [...byQuestion(episodes).values()].flatMap((group) => {
    const successes = distinctByActions(group.filter(succeeded));
    const failures = distinctByActions(group.filter((e) => e.reward <= 0));
    const all = successes.flatMap((chosen) => failures.map((rejected) => ({ chosen, rejected })));
    return random.shuffle(all).slice(0, perQuestion);
  });
}

/** Sum of log π over each row's policy tokens, without a gradient. */
async function sequenceLogprobs(model: LanguageModel, rows: readonly TokenSequence[]): Promise<number[]> {
  const logprobs = await rowLogprobsInChunks(model, rows.map((row) => row.ids));
  return logprobs.map((lp, k) => lp.reduce((total, v, i) => total + v * rows[k]!.mask[i + 1]!, 0));
}
