/**
 * The arithmetic the trainers share: group-relative advantages, the per-token KL
 * estimate to a reference policy and its adaptive coefficient, and the bookkeeping
 * that lines a batch's policy-token mask up with `tokenLogprobs`.
 */
import * as tf from "@tensorflow/tfjs";
import { targetMask, type TokenBatch } from "../lm/index.ts";

export const ADVANTAGE_ESTIMATORS = ["grpo", "rloo"] as const;
export type AdvantageEstimator = (typeof ADVANTAGE_ESTIMATORS)[number];

/** Keeps GRPO's division finite for groups whose rewards barely differ. */
const STD_EPSILON = 1e-6;

/**
 * Advantages of G rollouts of one question from their rewards, with the group as
 * its own baseline (no value network):
 * - `grpo`: (r - mean) / (std + eps), std over the group (population);
 * - `rloo`: r minus the mean of the other G-1 rewards (leave-one-out).
 * A group of equal rewards teaches nothing: its advantages are all 0.
 */
export function groupAdvantages(rewards: readonly number[], estimator: AdvantageEstimator): number[] {
  const n = rewards.length;
  if (n < 2) return rewards.map(() => 0);
  const sum = rewards.reduce((a, b) => a + b, 0);
  const mean = sum / n;
  if (estimator === "rloo") return rewards.map((r) => r - (sum - r) / (n - 1));
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / n);
  return rewards.map((r) => (r - mean) / (std + STD_EPSILON));
}

/**
 * The k3 estimate of KL(π ‖ π_ref) at each sampled token (Schulman, "Approximating
 * KL divergence"): with d = log π_ref - log π, exp(d) - d - 1. Never negative, 0 where
 * the two agree, and unbiased for tokens drawn from π.
 */
export function klK3(logprobs: tf.Tensor1D, refLogprobs: tf.Tensor1D): tf.Tensor1D {
  const d = tf.sub(refLogprobs, logprobs);
  return tf.sub(tf.sub(tf.exp(d), d), 1) as tf.Tensor1D;
}

/** The mean of `values` where `mask` is 1 (0 when the mask is all zeros). */
export function maskedMean(values: tf.Tensor1D, mask: tf.Tensor1D): tf.Scalar {
  return tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1));
}

/** One value per row spread over that row's targets (n-1 of them), lined up with `targetMask`. */
export function perTarget(batch: TokenBatch, perRow: readonly number[]): Float32Array {
  return Float32Array.from(batch.ids.flatMap((row, r) => Array<number>(row.length - 1).fill(perRow[r]!)));
}

/**
 * The sum of each row's masked values: `values` lined up with `targetMask`, summed per
 * row. A matmul with a 0/1 [rows, targets] matrix, so it is differentiable on every backend.
 */
export function maskedRowSums(values: tf.Tensor1D, batch: TokenBatch): tf.Tensor1D {
  const mask = targetMask(batch);
  const selection = new Float32Array(batch.ids.length * mask.length);
  let at = 0;
  batch.ids.forEach((row, r) => {
    for (let i = 0; i < row.length - 1; i++, at++) selection[r * mask.length + at] = mask[at]!;
  });
  const matrix = tf.tensor2d(selection, [batch.ids.length, mask.length]);
  return tf.reshape(tf.matMul(matrix, tf.reshape(values, [-1, 1])), [-1]) as tf.Tensor1D;
}

export interface KlControl {
  /** The KL per policy token the controller aims for. */
  target: number;
  /** Rollouts over which a persistent error of +-20% changes the coefficient e-fold. */
  horizon: number;
}

/**
 * The adaptive KL controller of Ziegler et al. (2019), as PPO-RLHF uses it: the
 * coefficient grows while the measured KL is above target and shrinks while it is
 * below, by at most 20% of `rollouts / horizon` per update.
 */
export function adaptKlCoefficient(coefficient: number, measuredKl: number, rollouts: number, control: KlControl): number {
  const error = Math.min(0.2, Math.max(-0.2, measuredKl / control.target - 1));
  return coefficient * (1 + (error * rollouts) / control.horizon);
}
