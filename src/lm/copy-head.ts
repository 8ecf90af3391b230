/**
 * The copy head: a pointer over the context, mixed with the vocabulary softmax
 * (as in pointer-generator networks), so that the model can write names it has
 * never seen: the entities of the test split, which never occur in training.
 *
 * Position t points at a position j ≤ t of its sequence, meaning "write token[j]";
 * one extra score, the sink, means "write from the vocabulary". With a the softmax
 * over [sink, scores]:
 *
 *   p(w | ≤t) = a_sink · softmax(logits)_w + Σ_{j≤t, token[j]=w} a_j
 *
 * A query reads position t's final hidden state and its last two tokens; a key
 * reads position j's hidden state and the two tokens before j. The token parts
 * start as the identity, so at first t points at the positions that follow an
 * earlier occurrence of its own last two tokens (an induction head over bigrams,
 * which a single token would leave ambiguous inside names cut into pieces), for
 * any token, trained or not.
 */
import * as tf from "@tensorflow/tfjs";
import { causalMasks } from "./attention.ts";
import { concatRows, embed, layerNorm, matMul, scatterAdd, variableFrom } from "./ops.ts";

export interface CopyWeights {
  /** [3d, d]: queries from [hidden, normalised embeddings of the position's token and the one before]. */
  query: tf.Variable<tf.Rank.R2>;
  /** [3d, d]: keys from [hidden, normalised embeddings of the two tokens before the position]. */
  key: tf.Variable<tf.Rank.R2>;
  /** [d, 1] and [1]: the sink's score, from the hidden state alone (an unseen token's embedding says nothing). */
  sink: tf.Variable<tf.Rank.R2>;
  sinkBias: tf.Variable<tf.Rank.R1>;
}

/** A full bigram match starts at score 2·s²·√d (5.7 at d 128), under the sink's log(T) + 3. */
const IDENTITY_SCALE = 0.5;
/** Floor under a probability before its log (float32 underflow would give -Infinity). */
const TINY = 1e-30;

export function createCopyWeights(d: number, contextLength: number, normal: (shape: [number, number]) => tf.Variable<tf.Rank.R2>): CopyWeights {
  // The sink starts above even a full bigram match, so the model begins close to a
  // plain language model and learns where copying pays.
  const sinkBias = variableFrom(tf.tensor1d([Math.log(contextLength) + 3]));
  const matching = () => {
    const weights = normal([3 * d, d]);
    tf.tidy(() => {
      const eye = tf.mul(tf.eye(d), IDENTITY_SCALE);
      weights.assign(tf.add(weights, tf.concat([tf.zeros([d, d]), eye, eye])));
    });
    return weights;
  };
  return { query: matching(), key: matching(), sink: normal([d, 1]), sinkBias };
}

export function copyParameters(weights: CopyWeights): [string, tf.Variable][] {
  return [
    ["copy.query", weights.query],
    ["copy.key", weights.key],
    ["copy.sink", weights.sink],
    ["copy.sinkBias", weights.sinkBias],
  ];
}

/**
 * Each position's query [N, d], key [N, d] and sink score [N, 1], given `back`: its
 * token, the one before and the one before that (see tokensBack).
 */
export function copyProjections(weights: CopyWeights, tokenEmbedding: tf.Tensor2D, hidden: tf.Tensor2D, back: [Int32Array, Int32Array, Int32Array]) {
  const d = hidden.shape[1];
  const normalised = (ids: Int32Array) => layerNorm(embed(tokenEmbedding, tf.tensor1d(ids, "int32")), tf.ones([d]), tf.zeros([d]));
  // [hidden, a, b] @ w as a sum over w's row blocks: the gradient of a concat along columns is slow on WASM
  const read = (a: Int32Array, b: Int32Array, w: tf.Tensor2D) =>
    [hidden, normalised(a), normalised(b)].map((x, i) => matMul(x, tf.slice(w, [i * d, 0], [d, -1]))).reduce((sum, x) => tf.add(sum, x));
  return {
    queries: tf.mul(read(back[0], back[1], weights.query), 1 / Math.sqrt(d)) as tf.Tensor2D,
    keys: read(back[1], back[2], weights.key),
    sink: tf.add(matMul(hidden, weights.sink), weights.sinkBias) as tf.Tensor2D,
  };
}

/** Each packed token and its two predecessors in its own sequence (a sequence's first token stands in for those it lacks). */
export function tokensBack(tokens: Int32Array, lengths: number[]): [Int32Array, Int32Array, Int32Array] {
  const back = (k: number) => {
    const shifted = new Int32Array(tokens.length);
    let start = 0;
    for (const length of lengths) {
      for (let t = 0; t < length; t++) shifted[start + t] = tokens[start + Math.max(0, t - k)];
      start += length;
    }
    return shifted;
  };
  return [tokens, back(1), back(2)];
}

/**
 * As tokensBack, for the tokens of each sequence from `starts[s]` on, packed:
 * the tokens before a start (a cached prefix) still count as predecessors.
 */
export function tokensBackAfter(sequences: number[][], starts: number[]): [Int32Array, Int32Array, Int32Array] {
  const back = (k: number) => Int32Array.from(sequences.flatMap((ids, s) => ids.slice(starts[s]).map((_, i) => ids[Math.max(0, starts[s] + i - k)])));
  return [back(0), back(1), back(2)];
}

/**
 * log p for every position of packed sequences (training, recomputation): [N, vocab].
 * Each sequence's [T, T] scores are a plain 2-D matmul, as in the self-attention.
 */
export function copyMixturePacked(weights: CopyWeights, tokenEmbedding: tf.Tensor2D, hidden: tf.Tensor2D, logits: tf.Tensor2D, tokens: Int32Array, lengths: number[]): tf.Tensor2D {
  const vocab = logits.shape[1];
  const { queries, keys, sink } = copyProjections(weights, tokenEmbedding, hidden, tokensBack(tokens, lengths));
  const sinkProbs: tf.Tensor2D[] = [];
  // Each sequence's pointer probabilities summed into its own [T, vocab] rows
  const copied: tf.Tensor2D[] = [];
  const masks = causalMasks(lengths);
  let start = 0;
  for (const length of lengths) {
    const rows = tf.range(start, start + length, 1, "int32") as tf.Tensor1D;
    const scores = tf.add(matMul(embed(queries, rows), tf.transpose(embed(keys, rows))), masks.get(length)!);
    const probs = tf.softmax(tf.concat([embed(sink, rows), scores], 1)) as tf.Tensor2D;
    sinkProbs.push(tf.slice(probs, [0, 0], [length, 1]));
    const indices = new Int32Array(length * length);
    for (let t = 0, k = 0; t < length; t++) {
      for (let j = 0; j < length; j++) indices[k++] = t * vocab + tokens[start + j];
    }
    const scattered = scatterAdd(tf.reshape(tf.slice(probs, [0, 1], [length, length]), [-1]), indices, length * vocab);
    copied.push(tf.reshape(scattered, [length, vocab]));
    start += length;
  }
  return mix(concatRows(sinkProbs), concatRows(copied), logits);
}

/** A copy-head cache: keys of the prompt positions, left-padded, and of generated ones. */
export interface CopyCache {
  /** [B, S, d]. */
  promptKeys: tf.Tensor3D;
  /** [B, 1, S]: hides each prompt's left padding. */
  promptBias: tf.Tensor3D;
  /** [B, n, d]. */
  newKeys?: tf.Tensor3D;
}

/** Packed rows [N, w] laid out per sequence, left-padded with zeros to `slots`: [B, slots, w]. */
export function leftPadded(rows: tf.Tensor2D, lengths: number[], slots: number): tf.Tensor3D {
  const [n, width] = rows.shape;
  const index = new Int32Array(lengths.length * slots).fill(n); // row n: the zero row appended below
  let start = 0;
  lengths.forEach((length, s) => {
    for (let t = 0; t < length; t++) index[s * slots + slots - length + t] = start + t;
    start += length;
  });
  const padded = tf.gatherND(tf.concat([rows, tf.zeros([1, width])]), tf.tensor2d(index, [index.length, 1], "int32"));
  return tf.reshape(padded, [lengths.length, slots, width]) as tf.Tensor3D;
}

/**
 * The token each cached key would write, [B * (S + n)] in the cache's layout: the
 * tokens of `sequences` (prompt, then generated), 0 on padding (which is masked).
 */
export function cachedValues(sequences: number[][], promptLengths: number[], slots: number, newSlots: number): Int32Array {
  const width = slots + newSlots;
  const values = new Int32Array(sequences.length * width);
  sequences.forEach((tokens, b) => {
    for (let k = 0; k < width; k++) {
      const position = k < slots ? k - (slots - promptLengths[b]) : promptLengths[b] + k - slots;
      if (position >= 0) values[b * width + k] = tokens[position] ?? 0;
    }
  });
  return values;
}

/**
 * log p [B, vocab] for one query row per sequence against its cache, which already
 * holds the query's own position; the values are laid out as `cachedValues` gives them.
 */
export function copyMixtureCached(query: tf.Tensor2D, sink: tf.Tensor2D, cache: CopyCache, values: Int32Array, logits: tf.Tensor2D): tf.Tensor2D {
  const [batch, vocab] = logits.shape;
  const q = tf.expandDims(query, 1) as tf.Tensor3D;
  const parts: tf.Tensor3D[] = [tf.add(tf.matMul(q, cache.promptKeys, false, true), cache.promptBias)];
  if (cache.newKeys) parts.push(tf.matMul(q, cache.newKeys, false, true));
  const slots = parts.reduce((n, p) => n + p.shape[2], 0);
  const probs = tf.softmax(tf.concat([sink, tf.reshape(tf.concat(parts, 2), [batch, slots])], 1)) as tf.Tensor2D;
  const indices = values.map((token, k) => Math.floor(k / slots) * vocab + token);
  const copied = scatterAdd(tf.reshape(tf.slice(probs, [0, 1], [batch, slots]), [-1]), indices, batch * vocab);
  return mix(tf.slice(probs, [0, 0], [batch, 1]), tf.reshape(copied, [batch, vocab]) as tf.Tensor2D, logits);
}

/** log(a_sink · softmax(logits) + copied). */
function mix(sinkProbs: tf.Tensor2D, copied: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor2D {
  return tf.log(tf.maximum(tf.add(tf.mul(sinkProbs, tf.softmax(logits)), copied), TINY)) as tf.Tensor2D;
}
