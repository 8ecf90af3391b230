/**
 * Multi-head causal self-attention, in the two shapes the model needs:
 *
 * - over packed sequences (training, prompt prefill): sequences of any lengths lie
 *   end to end as rows of one [N, 3d] q|k|v tensor, attention never crosses from one
 *   to the next, and no padding is computed. Each (sequence, head) is a plain 2-D
 *   matmul, with a hand-written backward pass, because on WASM batched matmuls run
 *   about 10x slower than 2-D ones;
 * - one new token per sequence against a key/value cache (generation), batched
 *   over all sequences: there the work is small and a batched matmul is fine.
 *   Prefill gathers each prompt's keys and values, left-padded, into that cache.
 */
import * as tf from "@tensorflow/tfjs";
import { customOp, rowIndices } from "./ops.ts";

/** Added to the score of a key a query must not see; exp() of it is exactly 0. */
const MASKED = -1e9;

/** Blocks of a packed tensor, by sequence then column group (head): each [length, headDim]. */
type Blocks = tf.Tensor2D[][];

export function causalSelfAttention(qkv: tf.Tensor2D, lengths: number[], nHeads: number): tf.Tensor2D {
  // Queries are scaled by 1/√hd up front, once for all heads, and so is their gradient at the end
  const attention = customOp(([x], save) => {
    const { q, k, v } = splitQkv(tf.mul(x, queryScale(qkv.shape[1], nHeads)) as tf.Tensor2D, lengths, nHeads);
    const masks = causalMasks(lengths);
    const probs = q.map((heads, s) => heads.map((qh, h) => attentionProbs(qh, k[s][h], masks.get(lengths[s])!)));
    const out = probs.map((heads, s) => heads.map((p, h) => tf.matMul<tf.Tensor2D>(p, v[s][h])));
    save([q, k, v, probs].flat(2));
    return {
      value: mergeBlocks(out),
      gradFunc: (dy, saved) => {
        const [sq, sk, sv, sp] = unflatten(saved as tf.Tensor2D[], 4, lengths.length, nHeads);
        const dOut = splitBlocks(dy as tf.Tensor2D, lengths, nHeads);
        const grads = dOut.map((heads, s) =>
          heads.map((dO, h) => attentionHeadGrads(sq[s][h], sk[s][h], sv[s][h], sp[s][h], dO)),
        );
        // Each sequence's gradient blocks in q|k|v order, heads within, as the qkv columns are laid out
        const merged = mergeBlocks(grads.map((heads) => [...heads.map((g) => g.dq), ...heads.map((g) => g.dk), ...heads.map((g) => g.dv)]));
        return tf.mul(merged, queryScale(merged.shape[1], nHeads));
      },
    };
  });
  return attention(qkv) as tf.Tensor2D;
}

/**
 * One layer's cache: the prompts' keys and values, left-padded to a common length
 * ([B*H, S, hd], sequence-major), and those of the tokens generated since, kept apart
 * so each step appends to a small tensor instead of copying the whole prompt cache.
 */
export type LayerCache = {
  promptKeys: tf.Tensor3D;
  promptValues: tf.Tensor3D;
  newKeys?: tf.Tensor3D;
  newValues?: tf.Tensor3D;
};

/** A layer's cache for packed prompts, from their [N, 3d] q|k|v rows. */
export function promptCache(qkv: tf.Tensor2D, lengths: number[], nHeads: number): LayerCache {
  const [n, width] = qkv.shape;
  const headDim = width / 3 / nHeads;
  const longest = Math.max(...lengths);
  // Rows of [3H, N, hd], plus a zero row at the end that left padding is gathered from
  const rows = tf.concat([headMajorRows(qkv, 3 * nHeads), tf.zeros([1, headDim])]);
  const padding = 3 * nHeads * n;
  const starts = offsets(lengths);
  /** Row numbers for part (1 keys, 2 values) of every (sequence, head), each left-padded to `longest`. */
  const layout = (part: number) => {
    const index = new Int32Array(lengths.length * nHeads * longest).fill(padding);
    lengths.forEach((length, s) => {
      for (let h = 0; h < nHeads; h++) {
        const first = (s * nHeads + h) * longest + longest - length;
        for (let t = 0; t < length; t++) index[first + t] = (part * nHeads + h) * n + starts[s] + t;
      }
    });
    return tf.tensor2d(index, [index.length, 1], "int32");
  };
  const gather = (part: number) => tf.reshape(tf.gatherND(rows, layout(part)), [lengths.length * nHeads, longest, headDim]) as tf.Tensor3D;
  return { promptKeys: gather(1), promptValues: gather(2) };
}

/** [B*H, 1, S] scores to add so that each sequence's padding keys are never attended to. */
export function paddingBias(lengths: number[], nHeads: number): tf.Tensor3D {
  const longest = Math.max(...lengths);
  const bias = new Float32Array(lengths.length * nHeads * longest);
  lengths.forEach((n, s) => {
    for (let h = 0; h < nHeads; h++) bias.fill(MASKED, (s * nHeads + h) * longest, (s * nHeads + h) * longest + longest - n);
  });
  return tf.tensor3d(bias, [lengths.length * nHeads, 1, longest]);
}

/**
 * Attention of one new token per sequence ([B, 3d] q|k|v) over its cache. Returns the
 * [B, d] output and the layer's cache with this token's key and value appended.
 */
export function attendCached(qkv: tf.Tensor2D, nHeads: number, cache: LayerCache, bias: tf.Tensor3D): { out: tf.Tensor2D; cache: LayerCache } {
  const [batch, width] = qkv.shape;
  const headDim = width / 3 / nHeads;
  const [q, k, v] = tf
    .split(tf.transpose(tf.reshape(tf.mul(qkv, queryScale(width, nHeads)), [batch, 3, nHeads, headDim]), [1, 0, 2, 3]), 3)
    .map((t) => tf.reshape(t, [batch * nHeads, 1, headDim]) as tf.Tensor3D);
  const newKeys = cache.newKeys ? tf.concat([cache.newKeys, k], 1) : k;
  const newValues = cache.newValues ? tf.concat([cache.newValues, v], 1) : v;
  const scores = tf.concat([tf.add(tf.matMul(q, cache.promptKeys, false, true), bias), tf.matMul(q, newKeys, false, true)], 2);
  const promptLength = cache.promptKeys.shape[1];
  const [promptProbs, newProbs] = tf.split(tf.softmax(scores), [promptLength, newKeys.shape[1]], 2);
  const out = tf.add(tf.matMul(promptProbs, cache.promptValues), tf.matMul(newProbs, newValues));
  return { out: tf.reshape(out, [batch, nHeads * headDim]), cache: { ...cache, newKeys, newValues } };
}

/** One sequence's keys or values, heads first: [H, T, hd]. */
export type SequenceKv = { keys: tf.Tensor3D; values: tf.Tensor3D };

/**
 * Causal self-attention of tokens that continue sequences already read (prefix
 * caching): each sequence's new [n, 3d] q|k|v rows attend to its cached prefix,
 * then causally to each other. For generation only (no gradient); the heads of a
 * sequence go together in one batched matmul, since a sequence's few new tokens
 * make small products. Returns the [N, d] output and each sequence's keys and
 * values through its new tokens.
 */
export function attendAfterPrefix(qkv: tf.Tensor2D, lengths: number[], prefixes: (SequenceKv | undefined)[], nHeads: number): { out: tf.Tensor2D; sequences: SequenceKv[] } {
  const width = qkv.shape[1];
  const headDim = width / 3 / nHeads;
  const scaled = tf.mul(qkv, queryScale(width, nHeads)) as tf.Tensor2D;
  const starts = offsets(lengths);
  const outs: tf.Tensor2D[] = [];
  const sequences = lengths.map((n, s) => {
    const rows = tf.gather(scaled, tf.range(starts[s], starts[s] + n, 1, "int32"));
    // [n, 3d] -> [3, H, n, hd]: queries, keys and values, heads first
    const [q, k, v] = tf.split(tf.transpose(tf.reshape(rows, [n, 3, nHeads, headDim]), [1, 2, 0, 3]), 3).map((t) => tf.squeeze(t, [0]) as tf.Tensor3D);
    const prefix = prefixes[s];
    const keys = prefix ? (tf.concat([prefix.keys, k], 1) as tf.Tensor3D) : k;
    const values = prefix ? (tf.concat([prefix.values, v], 1) as tf.Tensor3D) : v;
    const scores = tf.add(tf.matMul(q, keys, false, true), offsetCausalMask(n, keys.shape[1] - n));
    const out = tf.matMul(tf.softmax(scores), values);
    outs.push(tf.reshape(tf.transpose(out, [1, 0, 2]), [n, nHeads * headDim]) as tf.Tensor2D);
    return { keys, values };
  });
  return { out: tf.concat(outs, 0), sequences };
}

/** Sequences' keys and values laid out as a decoding cache: [B*H, S, hd], each left-padded to `slots`. */
export function leftPaddedCache(sequences: SequenceKv[], slots: number): LayerCache {
  const pad = (t: tf.Tensor3D) => {
    const [heads, length, headDim] = t.shape;
    return length === slots ? t : tf.concat([tf.zeros([heads, slots - length, headDim]), t], 1);
  };
  return {
    promptKeys: tf.concat(sequences.map((s) => pad(s.keys)), 0) as tf.Tensor3D,
    promptValues: tf.concat(sequences.map((s) => pad(s.values)), 0) as tf.Tensor3D,
  };
}

/** [n, p+n]: new token i sees the p prefix keys and the new keys up to itself. */
function offsetCausalMask(n: number, p: number): tf.Tensor2D {
  const values = new Float32Array(n * (p + n));
  for (let i = 0; i < n; i++) values.fill(MASKED, i * (p + n) + p + i + 1, (i + 1) * (p + n));
  return tf.tensor2d(values, [n, p + n]);
}

/** [3d] column factors for q|k|v rows: 1/√hd on the queries, 1 on keys and values. */
function queryScale(width: number, nHeads: number): tf.Tensor1D {
  const d = width / 3;
  const scale = new Float32Array(width).fill(1);
  scale.fill(1 / Math.sqrt(d / nHeads), 0, d);
  return tf.tensor1d(scale);
}

/** softmax(q kᵀ + mask) for one sequence and head (q already scaled). */
function attentionProbs(q: tf.Tensor2D, k: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.softmax(tf.add(tf.matMul(q, tf.transpose(k)), mask)) as tf.Tensor2D;
}

/**
 * Backward pass of out = softmax(q kᵀ + mask) v for one sequence and head. The
 * [T, T] matrices are never transposed: dv and dk are computed transposed
 * (dvᵀ = dOutᵀ p, dkᵀ = qᵀ dScores), which moves only [T, hd] blocks around.
 */
function attentionHeadGrads(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, probs: tf.Tensor2D, dOut: tf.Tensor2D) {
  const dProbs = tf.matMul(dOut, tf.transpose(v));
  const dv = tf.transpose(tf.matMul(tf.transpose(dOut), probs)) as tf.Tensor2D;
  // Softmax backward: dScores = p * (dp - Σ_j dp_j p_j), row by row
  const dScores = tf.mul<tf.Tensor2D>(probs, tf.sub(dProbs, tf.sum(tf.mul(dProbs, probs), -1, true)));
  const dq = tf.matMul<tf.Tensor2D>(dScores, k);
  const dk = tf.transpose(tf.matMul(tf.transpose(q), dScores)) as tf.Tensor2D;
  return { dq, dk, dv };
}

/** One [T, T] causal mask per distinct sequence length: 0 on and below the diagonal, MASKED above. */
export function causalMasks(lengths: number[]): Map<number, tf.Tensor2D> {
  const masks = new Map<number, tf.Tensor2D>();
  for (const n of new Set(lengths)) {
    const values = new Float32Array(n * n);
    for (let i = 0; i < n; i++) values.fill(MASKED, i * n + i + 1, (i + 1) * n);
    masks.set(n, tf.tensor2d(values, [n, n]));
  }
  return masks;
}

function splitQkv(qkv: tf.Tensor2D, lengths: number[], nHeads: number): { q: Blocks; k: Blocks; v: Blocks } {
  const blocks = splitBlocks(qkv, lengths, 3 * nHeads);
  return {
    q: blocks.map((groups) => groups.slice(0, nHeads)),
    k: blocks.map((groups) => groups.slice(nHeads, 2 * nHeads)),
    v: blocks.map((groups) => groups.slice(2 * nHeads)),
  };
}

/** Cuts packed rows [N, G*w] into blocks [sequence][group] of [length, w]. */
function splitBlocks(x: tf.Tensor2D, lengths: number[], groups: number): Blocks {
  const n = x.shape[0];
  const rows = headMajorRows(x, groups);
  const starts = offsets(lengths);
  // gatherND copies only the block; on WASM, slice copies the whole input for every block
  return lengths.map((length, s) =>
    Array.from({ length: groups }, (_, g) => tf.gatherND(rows, rowIndices(g * n + starts[s], length)) as tf.Tensor2D),
  );
}

/** [N, G*w] -> [G*N, w]: the rows of one (group, sequence) block become contiguous. */
function headMajorRows(x: tf.Tensor2D, groups: number): tf.Tensor2D {
  const [n, width] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, groups, width / groups]), [1, 0, 2]), [groups * n, width / groups]);
}

/** Inverse of splitBlocks: blocks [sequence][group] of [length, w] back to packed rows [N, G*w]. */
function mergeBlocks(blocks: Blocks): tf.Tensor2D {
  const groups = blocks[0].length;
  const columns = Array.from({ length: groups }, (_, g) => tf.concat(blocks.map((seq) => seq[g]), 0));
  const [n, w] = columns[0].shape;
  return tf.reshape(tf.transpose(tf.reshape(tf.concat(columns, 0), [groups, n, w]), [1, 0, 2]), [n, groups * w]);
}

function offsets(lengths: number[]): number[] {
  let total = 0;
  return lengths.map((n) => (total += n) - n);
}

function unflatten<T>(flat: T[], parts: number, sequences: number, heads: number): T[][][] {
  return Array.from({ length: parts }, (_, p) =>
    Array.from({ length: sequences }, (_, s) => flat.slice((p * sequences + s) * heads, (p * sequences + s + 1) * heads)),
  );
}
