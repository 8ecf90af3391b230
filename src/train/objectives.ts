/**
 * What an optimizer step minimises, as plain data: the masked next-token loss
 * (pretraining, fine-tuning, rejection sampling), the policy-gradient objective,
 * DPO's, and the reward model's two. Plain data, so that a worker thread can rebuild
 * the loss of its share of a batch (`data-parallel.ts`); and each is a mean (over the
 * batch's policy tokens, its episodes, or its pairs), so the shares, weighted by what
 * each averages over, add up to the whole.
 */
import * as tf from "@tensorflow/tfjs";
import { batchLoss, readTensors, targetCount, targetMask, tokenLogprobs, type LanguageModel, type LossFunction, type LossGradients, type TokenBatch } from "../lm/index.ts";
import { klK3, maskedMean, maskedRowSums } from "./losses.ts";

export type Objective =
  | { kind: "next-token"; batch: TokenBatch }
  | { kind: "policy-gradient"; batch: TokenBatch; terms: LossTerms }
  /** `batch`: the pairs' chosen rows, then their rejected rows; the reference's sequence log-probabilities of each. */
  | { kind: "dpo"; batch: TokenBatch; refChosen: number[]; refRejected: number[]; beta: number }
  /** The reward model's binary cross-entropy of `labels` (1 success, 0 failure) on P(`verdict` after each row). */
  | { kind: "reward-outcome"; batch: TokenBatch; verdict: number; labels: number[] }
  /** Its Bradley-Terry objective on pairs: `batch` is the pairs' chosen rows, then their rejected rows. */
  | { kind: "reward-preference"; batch: TokenBatch; verdict: number };

/** The loss of the objective's batch, and the figures it also measures. */
export function objectiveLoss(objective: Objective): LossFunction<string> {
  switch (objective.kind) {
    case "next-token":
      return (model, batch) => ({ loss: batchLoss(model, batch) });
    case "policy-gradient":
      return (model, batch) => {
        const { loss, ...outputs } = policyGradientLoss(model, batch, objective.terms);
        return { loss, outputs };
      };
    case "dpo":
      return (model, batch) => {
        const { chosen, rejected } = splitPairs(maskedRowSums(tokenLogprobs(model, batch.ids), batch));
        const out = dpoLoss(chosen, rejected, tf.tensor1d(objective.refChosen), tf.tensor1d(objective.refRejected), objective.beta);
        return { loss: out.loss, outputs: { margins: out.margins, chosenReward: tf.mean(out.chosenRewards), rejectedReward: tf.mean(out.rejectedRewards) } };
      };
    case "reward-outcome":
      return (model, batch) => {
        const logp = verdictLogprobs(model, batch.ids, objective.verdict);
        return { loss: outcomeLoss(logp, objective.labels), outputs: { verdict: logp } };
      };
    case "reward-preference":
      return (model, batch) => {
        const { chosen, rejected } = splitPairs(verdictLogprobs(model, batch.ids, objective.verdict));
        return { loss: preferenceLoss(chosen, rejected), outputs: { chosenVerdict: chosen, rejectedVerdict: rejected } };
      };
  }
}

/** What the loss averages over: the batch's policy tokens, its episodes (reward-outcome), or its pairs. */
function objectiveWeight(objective: Objective): number {
  if (objective.kind === "reward-outcome") return objective.batch.ids.length;
  return pairsOf(objective) ?? targetMask(objective.batch).reduce((n, m) => n + m, 0);
}

/** How many pairs a batch of chosen rows, then rejected rows, holds; none for the other objectives. */
function pairsOf(objective: Objective): number | undefined {
  if (objective.kind === "dpo") return objective.refChosen.length;
  if (objective.kind === "reward-preference") return objective.batch.ids.length / 2;
  return undefined;
}

/** The tokens of each piece a share must not cut: a row, or a pair. */
export function objectivePieces(objective: Objective): number[] {
  const lengths = objective.batch.ids.map((row) => row.length);
  const pairs = pairsOf(objective);
  return pairs === undefined ? lengths : lengths.slice(0, pairs).map((n, i) => n + lengths[pairs + i]!);
}

/** Pieces [from, to) of the objective (see `objectivePieces`): their part of the batch, and of what is lined up with it. */
export function objectiveShare(objective: Objective, from: number, to: number): Objective {
  const { ids, mask } = objective.batch;
  const rows = <T>(xs: T[]) => xs.slice(from, to);
  if (objective.kind === "dpo" || objective.kind === "reward-preference") {
    const pairs = pairsOf(objective)!;
    const both = <T>(xs: T[]) => [...xs.slice(from, to), ...xs.slice(pairs + from, pairs + to)];
    const batch = { ids: both(ids), mask: both(mask) };
    return objective.kind === "dpo" ? { ...objective, batch, refChosen: rows(objective.refChosen), refRejected: rows(objective.refRejected) } : { ...objective, batch };
  }
  const batch = { ids: rows(ids), mask: rows(mask) };
  if (objective.kind === "next-token") return { kind: objective.kind, batch };
  if (objective.kind === "reward-outcome") return { ...objective, batch, labels: rows(objective.labels) };
  const [start, end] = [targetCount(ids.slice(0, from)), targetCount(ids.slice(0, to))];
  const { advantages, refLogprobs, oldLogprobs, ...scalars } = objective.terms;
  const terms: LossTerms = {
    ...scalars,
    advantages: advantages.slice(start, end),
    refLogprobs: refLogprobs.slice(start, end),
    ...(oldLogprobs && { oldLogprobs: oldLogprobs.slice(start, end) }),
  };
  return { kind: objective.kind, batch, terms };
}

/** Outputs with a value per target, row or pair: the shares' are joined, where the others (means) are weighted. */
const JOINED_OUTPUTS = new Set(["logprobs", "margins", "verdict", "chosenVerdict", "rejectedVerdict"]);

/** A share of a step's batch: what its loss averages over (`objectiveWeight`), and what it measured. */
export interface ShareResult {
  weight: number;
  loss: number;
  outputs: Record<string, Float32Array>;
}

/** A share's figures, read from what its loss computed (the tensors stay the caller's). */
export async function shareResult(objective: Objective, { value, outputs }: Pick<LossGradients<string>, "value" | "outputs">): Promise<ShareResult> {
  const [loss, values] = await Promise.all([value.data(), readTensors(outputs)]);
  return { weight: objectiveWeight(objective), loss: loss[0]!, outputs: values };
}

/** The loss and outputs of a whole batch from those of its shares, in row order. */
export function combineShares(shares: readonly ShareResult[]): { loss: number; outputs: Record<string, Float32Array> } {
  const total = Math.max(1, shares.reduce((n, s) => n + s.weight, 0));
  const mean = (value: (share: ShareResult) => number) => shares.reduce((sum, s) => sum + (s.weight / total) * value(s), 0);
  const names = Object.keys(shares[0]?.outputs ?? {});
  const outputs = names.map((name) => [name, JOINED_OUTPUTS.has(name) ? joined(shares.map((s) => s.outputs[name]!)) : Float32Array.of(mean((s) => s.outputs[name]![0]!))]);
  return { loss: mean((s) => s.loss), outputs: Object.fromEntries(outputs) };
}

/** Packed per-target values cut back into rows (n-1 values for a row of n tokens). */
export function splitRows(values: Float32Array, rows: readonly number[][]): Float32Array[] {
  let at = 0;
  return rows.map((row) => values.slice(at, (at += row.length - 1)));
}

/** Arrays one after another, in one. */
export function joined(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What the loss needs besides the batch, each lined up with `targetMask(batch)`. */
export interface LossTerms {
  /** Each token's advantage: its episode's. */
  advantages: Float32Array;
  refLogprobs: Float32Array;
  /** log π_old; absent on a row's first step, where π_old is the current policy itself (ρ = 1). */
  oldLogprobs?: Float32Array;
  klCoefficient: number;
  clipRatio: number;
}

/** The loss and what it is made of, each averaged over the policy's tokens. */
export interface PolicyGradientLoss {
  loss: tf.Scalar;
  /** log π of every target, lined up with `targetMask(batch)`. */
  logprobs: tf.Tensor1D;
  kl: tf.Scalar;
  entropy: tf.Scalar;
  clipFraction: tf.Scalar;
}

/**
 * The clipped surrogate plus the KL penalty, averaged over the policy's tokens: the
 * whole objective of an update. Returns the parts it is made of, for logging.
 */
export function policyGradientLoss(model: LanguageModel, batch: TokenBatch, terms: LossTerms): PolicyGradientLoss {
  const mask = tf.tensor1d(targetMask(batch));
  const logprobs = tokenLogprobs(model, batch.ids);
  // π_old is a constant: no gradient flows through it.
  const old = terms.oldLogprobs ? tf.tensor1d(terms.oldLogprobs) : stopGradient(logprobs);
  const advantages = tf.tensor1d(terms.advantages);
  const ratio = tf.exp(tf.sub(logprobs, old));
  const unclipped = tf.mul(ratio, advantages);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - terms.clipRatio, 1 + terms.clipRatio), advantages);
  const surrogate = tf.neg(tf.minimum(unclipped, clipped)) as tf.Tensor1D;
  const kl = klK3(logprobs, tf.tensor1d(terms.refLogprobs));
  const loss = maskedMean(tf.add(surrogate, tf.mul(kl, terms.klCoefficient)) as tf.Tensor1D, mask);
  return {
    loss,
    logprobs,
    kl: maskedMean(kl, mask),
    entropy: tf.neg(maskedMean(logprobs, mask)),
    clipFraction: maskedMean(tf.cast(tf.less(clipped, unclipped), "float32") as tf.Tensor1D, mask),
  };
}

/** x's values, through which no gradient flows. */
const stopGradient = tf.customGrad((x) => ({ value: tf.clone(x as tf.Tensor), gradFunc: (dy) => tf.zerosLike(dy as tf.Tensor) }));

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
function negLogSigmoid(x: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.softplus(tf.neg(x)));
}

/** A DPO batch's per-row values cut into its chosen half and its rejected half. */
function splitPairs(values: tf.Tensor1D): { chosen: tf.Tensor1D; rejected: tf.Tensor1D } {
  const half = values.shape[0] / 2;
  return { chosen: values.slice(0, half), rejected: values.slice(half, half) };
}

/** Keeps log(1 - p) finite when the model is sure of success. */
const MIN_PROBABILITY = 1e-7;

/** log P(verdict | row) for each row: the reward model's log-probability of success. */
export function verdictLogprobs(model: LanguageModel, rows: readonly number[][], verdict: number): tf.Tensor1D {
  const ids = rows.map((row) => [...row, verdict]);
  const lastOnly = ids.map((row) => row.map((_, i) => (i === row.length - 1 ? 1 : 0)));
  return maskedRowSums(tokenLogprobs(model, ids), { ids, mask: lastOnly });
}

/** log(1 - p) from log p. */
function logComplement(logp: tf.Tensor1D): tf.Tensor1D {
  return tf.log(tf.maximum(tf.neg(tf.expm1(logp)), MIN_PROBABILITY)) as tf.Tensor1D;
}

/** Binary cross-entropy of success labels (1 success, 0 failure) given log P(success). */
export function outcomeLoss(logp: tf.Tensor1D, labels: readonly number[]): tf.Scalar {
  const y = tf.tensor1d(labels as number[]);
  const likelihood = tf.add(tf.mul(y, logp), tf.mul(tf.sub(1, y), logComplement(logp)));
  return tf.neg(tf.mean(likelihood)) as tf.Scalar;
}

/** Bradley-Terry: -log σ(z(chosen) - z(rejected)), z = log p - log(1 - p), given log P(success) of each. */
export function preferenceLoss(chosen: tf.Tensor1D, rejected: tf.Tensor1D): tf.Scalar {
  const logOdds = (logp: tf.Tensor1D) => tf.sub(logp, logComplement(logp));
  return negLogSigmoid(tf.sub(logOdds(chosen), logOdds(rejected)));
}
