/**
 * What an optimizer step minimises, as plain data: the masked next-token loss
 * (pretraining, fine-tuning, rejection sampling) and the policy-gradient objective.
 * Plain data, so that a worker thread can rebuild the loss of its share of a batch
 * (`data-parallel.ts`); and each is a mean over the batch's policy tokens, so the
 * shares, weighted by their tokens, add up to the whole.
 */
import * as tf from "@tensorflow/tfjs";
import { batchLoss, tokenLogprobs, type LanguageModel, type LossFunction, type TokenBatch } from "../lm/index.ts";
import { klK3, maskedMean, targetMask } from "./losses.ts";

export type Objective = { kind: "next-token"; batch: TokenBatch } | { kind: "policy-gradient"; batch: TokenBatch; terms: LossTerms };

/** The loss of the objective's batch, and the figures it also measures. */
export function objectiveLoss(objective: Objective): LossFunction<string> {
  if (objective.kind === "next-token") return (model, batch) => ({ loss: batchLoss(model, batch) });
  return (model, batch) => {
    const { loss, ...outputs } = policyGradientLoss(model, batch, objective.terms);
    return { loss, outputs };
  };
}

/** The tokens the loss averages over: the batch's targets whose mask is 1. */
export function objectiveTokens(objective: Objective): number {
  return targetMask(objective.batch).reduce((n, m) => n + m, 0);
}

/** Rows [from, to) of the objective: their part of the batch, and of the terms lined up with its targets. */
export function objectiveRows(objective: Objective, from: number, to: number): Objective {
  const { ids, mask } = objective.batch;
  const batch = { ids: ids.slice(from, to), mask: mask.slice(from, to) };
  if (objective.kind === "next-token") return { kind: objective.kind, batch };
  const targetsBefore = (row: number) => ids.slice(0, row).reduce((n, r) => n + r.length - 1, 0);
  const [start, end] = [targetsBefore(from), targetsBefore(to)];
  const { advantages, refLogprobs, oldLogprobs, ...scalars } = objective.terms;
  const terms: LossTerms = {
    ...scalars,
    advantages: advantages.slice(start, end),
    refLogprobs: refLogprobs.slice(start, end),
    ...(oldLogprobs && { oldLogprobs: oldLogprobs.slice(start, end) }),
  };
  return { kind: objective.kind, batch, terms };
}

/** Outputs lined up with the batch's targets: the shares' are joined, where the others (means over the policy's tokens) are weighted. */
const PER_TARGET_OUTPUTS = new Set(["logprobs"]);

/** A share of a step's batch: the tokens its loss averages over, and what it measured. */
export interface ShareResult {
  tokens: number;
  loss: number;
  outputs: Record<string, Float32Array>;
}

/** The loss and outputs of a whole batch from those of its shares, in row order. */
export function combineShares(shares: readonly ShareResult[]): { loss: number; outputs: Record<string, Float32Array> } {
  const total = Math.max(1, shares.reduce((n, s) => n + s.tokens, 0));
  const mean = (value: (share: ShareResult) => number) => shares.reduce((sum, s) => sum + (s.tokens / total) * value(s), 0);
  const names = Object.keys(shares[0]?.outputs ?? {});
  const outputs = names.map((name) => [name, PER_TARGET_OUTPUTS.has(name) ? joined(shares.map((s) => s.outputs[name]!)) : Float32Array.of(mean((s) => s.outputs[name]![0]!))]);
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

