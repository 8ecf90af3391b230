/** Choosing the next token from a row of logits: greedy, or temperature and nucleus (top-p) sampling. */
import type { Random } from "../random.ts";

export interface SampledToken {
  token: number;
  /** The token's log-probability under the model itself (temperature 1, no top-p), as the trainer computes it. */
  logprob: number;
}

/**
 * Temperature 0 picks the most likely token. Otherwise tokens are drawn from
 * softmax(logits / temperature), cut to the smallest set of most likely tokens
 * whose probability reaches `topP`. With `allowed` (1 for each token that may come
 * next), only those are candidates; the logprob stays the model's own.
 */
export function sampleToken(logits: Float32Array, temperature: number, topP: number, random: Random, allowed?: Uint8Array): SampledToken {
  const max = maxOf(logits);
  const atOne = weightsAt(logits, max, 1);
  const logZ = max + Math.log(sum(atOne));
  const best = allowed ? argmaxAllowed(logits, allowed) : logits.indexOf(max);
  if (temperature === 0) return { token: best, logprob: logits[best] - logZ };
  // Weights relative to the best allowed token, so that they cannot all underflow
  const weights = temperature === 1 && !allowed ? atOne : weightsAt(logits, logits[best], temperature, allowed);
  const token = sampleNucleus(weights, topP, random);
  return { token, logprob: logits[token] - logZ };
}

/** exp((l - max) / t) for every token (0 for those not allowed): the sampling weights at temperature t, unnormalised. */
function weightsAt(logits: Float32Array, max: number, t: number, allowed?: Uint8Array): Float32Array {
  const w = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) w[i] = allowed && !allowed[i] ? 0 : Math.exp((logits[i] - max) / t);
  return w;
}

function argmaxAllowed(logits: Float32Array, allowed: Uint8Array): number {
  let best = -1;
  for (let i = 0; i < logits.length; i++) if (allowed[i] && (best < 0 || logits[i] > logits[best])) best = i;
  return best;
}

/** A token drawn from the nucleus of the distribution proportional to `weights`. */
function sampleNucleus(weights: Float32Array, topP: number, random: Random): number {
  const total = sum(weights);
  if (topP >= 1) return draw(weights, total, random);
  // Tokens below (1 - topP) / V of the mass hold less than 1 - topP between them, so
  // the nucleus lies among the others: only those need sorting.
  const floor = (total * (1 - topP)) / weights.length;
  const candidates = [];
  for (let i = 0; i < weights.length; i++) if (weights[i] >= floor) candidates.push(i);
  candidates.sort((a, b) => weights[b] - weights[a] || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < candidates.length && mass < topP * total) mass += weights[candidates[kept++]];
  return draw(weights, mass, random, candidates.slice(0, kept));
}

/** One of `candidates` (all tokens if none given), drawn in proportion to its weight; `mass` is their total. */
function draw(weights: Float32Array, mass: number, random: Random, candidates?: number[]): number {
  const count = candidates?.length ?? weights.length;
  let r = random.next() * mass;
  let last = 0;
  for (let k = 0; k < count; k++) {
    const i = candidates ? candidates[k] : k;
    if (weights[i] === 0) continue;
    r -= weights[i];
    if (r < 0) return i;
    last = i;
  }
  return last; // rounding left r a hair above 0
}

function maxOf(values: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  return max;
}

function sum(values: Float32Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}
