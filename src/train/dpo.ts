/**
 * Direct preference optimisation (Rafailov et al., 2023) on pairs of a successful
 * and a failed episode of the same question. With s(y) = log π(y) - log π_ref(y),
 * the sum over the policy's own tokens of y, the loss of a pair is
 *
 *   -log σ(β · (s(chosen) - s(rejected)))
 *
 * and β · s(y) is the implicit reward. π_ref is the policy as it starts, frozen.
 */
import * as tf from "@tensorflow/tfjs";
import type { z } from "zod";
import { mean, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { tokenLogprobs, trainStep, type LanguageModel, type TokenBatch } from "../lm/index.ts";
import type { TokenSequence } from "../planner/index.ts";
import { Random } from "../random.ts";
import { DpoSettings } from "./config.ts";
import { maskedRowSums } from "./losses.ts";
import { rowLogprobs } from "./data-parallel.ts";
import { byQuestion, distinctByActions, trainingRows } from "./rollouts.ts";
import { tokenBatch } from "./supervised.ts";
import { disposeWeights, frozenCopy, minibatchPlan, TrainingRun, type EpisodeTrainingOptions, type TrainingResult } from "./runs.ts";

export interface PreferencePair {
  chosen: Trajectory;
  rejected: Trajectory;
}

/** The planner is also, as it is at the start, the frozen reference. */
export type DpoOptions = z.input<typeof DpoSettings> & EpisodeTrainingOptions;

export async function dpo(options: DpoOptions): Promise<TrainingResult> {
  const o = DpoSettings.parse(options);
  const { planner, template } = options;
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

  const run = await TrainingRun.open(options.out, { method: "dpo", config: { model: planner.source, pairs: pairs.length, ...o }, counter: "step", mutable: ["epochs"] });
  const { optimizer } = run.restore(planner);
  const plan = minibatchPlan(pairs.length, o.batchSize, o.epochs, o.seed);
  const { checkpointEvery, signal, onProgress } = options;
  return run.steps(plan, { planner, optimizer, signal, checkpointEvery, onProgress }, async (indices) => {
    const batch = pairBatch(indices.map((i) => chosen[i]!), indices.map((i) => rejected[i]!));
    const refs = { chosen: indices.map((i) => refChosen[i]!), rejected: indices.map((i) => refRejected[i]!) };
    const result = await trainStep(planner.model, optimizer, batch, o.learningRate, o.clipNorm, (model, b) => {
      const { chosen: policyChosen, rejected: policyRejected } = splitPairs(maskedRowSums(tokenLogprobs(model, b.ids), b));
      const out = dpoLoss(policyChosen, policyRejected, tf.tensor1d(refs.chosen), tf.tensor1d(refs.rejected), o.beta);
      return { loss: out.loss, outputs: { margins: out.margins, chosenReward: tf.mean(out.chosenRewards), rejectedReward: tf.mean(out.rejectedRewards) } };
    });
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

export interface DpoLoss {
  /** The mean loss over the pairs. */
  loss: tf.Scalar;
  /** β · (s(chosen) - s(rejected)) per pair: positive where the policy already prefers the success. */
  margins: tf.Tensor1D;
  chosenRewards: tf.Tensor1D;
  rejectedRewards: tf.Tensor1D;
}

/** DPO's loss from the sequence log-probabilities of each pair under the policy and the reference. */
export function dpoLoss(policyChosen: tf.Tensor1D, policyRejected: tf.Tensor1D, refChosen: tf.Tensor1D, refRejected: tf.Tensor1D, beta: number): DpoLoss {
  const chosenRewards = tf.mul(tf.sub(policyChosen, refChosen), beta) as tf.Tensor1D;
  const rejectedRewards = tf.mul(tf.sub(policyRejected, refRejected), beta) as tf.Tensor1D;
  const margins = tf.sub(chosenRewards, rejectedRewards) as tf.Tensor1D;
  return { loss: negLogSigmoid(margins), margins, chosenRewards, rejectedRewards };
}

/** The mean of -log σ(x), as softplus(-x): tf.logSigmoid's gradient fails in tfjs 4.22. */
export function negLogSigmoid(x: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.softplus(tf.neg(x)));
}

/**
 * Up to `perQuestion` pairs for each question that has both a rewarded episode and a
 * failed one (each distinct by its actions), drawn at random among all such pairs.
 */
export function preferencePairs(episodes: readonly Trajectory[], perQuestion: number, seed: number): PreferencePair[] {
  const random = new Random(seed);
  return [...byQuestion(episodes).values()].flatMap((group) => {
    const successes = distinctByActions(group.filter((e) => e.reward > 0));
    const failures = distinctByActions(group.filter((e) => e.reward <= 0));
    const all = successes.flatMap((chosen) => failures.map((rejected) => ({ chosen, rejected })));
    return random.shuffle(all).slice(0, perQuestion);
  });
}

/** Sum of log π over each row's policy tokens, without a gradient. */
async function sequenceLogprobs(model: LanguageModel, rows: readonly TokenSequence[], batchSize = 16): Promise<number[]> {
  const sums: number[] = [];
  for (let at = 0; at < rows.length; at += batchSize) {
    const chunk = rows.slice(at, at + batchSize);
    (await rowLogprobs(model, chunk.map((r) => r.ids))).forEach((lp, k) => sums.push(lp.reduce((total, v, i) => total + v * chunk[k]!.mask[i + 1]!, 0)));
  }
  return sums;
}

/** The chosen rows, then the rejected ones, as one batch. */
function pairBatch(chosen: readonly TokenSequence[], rejected: readonly TokenSequence[]): TokenBatch {
  return tokenBatch([...chosen, ...rejected]);
}

function splitPairs(values: tf.Tensor1D): { chosen: tf.Tensor1D; rejected: tf.Tensor1D } {
  const half = values.shape[0] / 2;
  return { chosen: values.slice(0, half), rejected: values.slice(half, half) };
}
