/**
 * A decoder-only transformer (GPT-2 shape): token + learned position embeddings,
 * pre-LayerNorm blocks of causal self-attention and an MLP, a final LayerNorm, and
 * an output head tied to the token embedding by default. Linear layers have no bias.
 *
 * Sequences are packed, never padded: a batch of token rows of any lengths is laid
 * end to end as [N, d] rows, positions restart at 0 for each row, and attention
 * never crosses from one row into another.
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { describeZodError, UserError } from "../errors.ts";
import { causalSelfAttention } from "./attention.ts";
import { copyMixturePacked, copyParameters, createCopyWeights, type CopyWeights } from "./copy-head.ts";
import { embed, gelu, layerNorm, matMul, pickTargets, variableFrom } from "./ops.ts";

export const ModelConfig = z
  .object({
    vocabSize: z.number().int().min(2),
    contextLength: z.number().int().min(2),
    dModel: z.number().int().positive(),
    nLayers: z.number().int().positive(),
    nHeads: z.number().int().positive(),
    mlpRatio: z.number().int().positive().default(4),
    tieEmbeddings: z.boolean().default(true),
    /** A pointer over the context mixed into the output (copy-head.ts); absent from older checkpoints. */
    copyHead: z.boolean().default(false),
  })
  .refine((c) => c.dModel % c.nHeads === 0, { message: "must be a multiple of nHeads", path: ["dModel"] });
export type ModelConfig = z.infer<typeof ModelConfig>;
export type ModelConfigInput = z.input<typeof ModelConfig>;

/** The default embedded planner: about 1M parameters with a 1024-token vocabulary, and a copy head. */
export const DEFAULT_MODEL_CONFIG = {
  vocabSize: 1024,
  contextLength: 512,
  dModel: 128,
  nLayers: 4,
  nHeads: 4,
  mlpRatio: 4,
  tieEmbeddings: true,
  copyHead: true,
} as const satisfies ModelConfig;

/**
 * Named shapes for `train pretrain --preset`: `small` is the default planner; `large`
 * (27.8M parameters, context 1024) is sized for a GPU: one CPU core would take about two
 * days over its recipe, `npm run train:large` (BENCHMARKS.md).
 */
export const MODEL_PRESETS = {
  small: DEFAULT_MODEL_CONFIG,
  large: { ...DEFAULT_MODEL_CONFIG, contextLength: 1024, dModel: 512, nLayers: 8, nHeads: 8 },
} as const satisfies Record<string, ModelConfig>;
export type ModelPreset = keyof typeof MODEL_PRESETS;
export const MODEL_PRESET_NAMES = Object.keys(MODEL_PRESETS) as [ModelPreset, ...ModelPreset[]];

/**
 * A preset's config with `overrides` in place of its fields (an undefined one keeps the
 * preset's). A shape that does not hold together (heads that do not divide the width)
 * is a UserError.
 */
export function presetConfig(preset: ModelPreset, overrides: Partial<ModelConfigInput> = {}): ModelConfig {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const shape = { ...MODEL_PRESETS[preset], ...given };
  const result = ModelConfig.safeParse(shape);
  if (!result.success) throw new UserError(`invalid model shape (${describeShape(shape)}): ${describeZodError(result.error)}`);
  return result.data;
}

/** `d128, 4 layers, 4 heads, context 512, vocab 1024`. */
export function describeShape(config: ModelConfigInput): string {
  return `d${config.dModel}, ${config.nLayers} layers, ${config.nHeads} heads, context ${config.contextLength}, vocab ${config.vocabSize}`;
}

interface LayerNormWeights {
  gain: tf.Variable<tf.Rank.R1>;
  bias: tf.Variable<tf.Rank.R1>;
}

interface BlockWeights {
  ln1: LayerNormWeights;
  /** [d, 3d]: queries, keys and values side by side. */
  qkv: tf.Variable<tf.Rank.R2>;
  /** [d, d]: the attention output projection. */
  proj: tf.Variable<tf.Rank.R2>;
  ln2: LayerNormWeights;
  /** [d, mlpRatio*d] and [mlpRatio*d, d]. */
  up: tf.Variable<tf.Rank.R2>;
  down: tf.Variable<tf.Rank.R2>;
}

export interface LanguageModel {
  readonly config: ModelConfig;
  /** [vocab, d] token embedding (also the output head when tied). */
  readonly tokenEmbedding: tf.Variable<tf.Rank.R2>;
  /** [context, d] learned position embedding. */
  readonly positionEmbedding: tf.Variable<tf.Rank.R2>;
  readonly blocks: BlockWeights[];
  readonly lnFinal: LayerNormWeights;
  /** [d, vocab], only when the head is not tied to the token embedding. */
  readonly head?: tf.Variable<tf.Rank.R2>;
  readonly copy?: CopyWeights;
}

/** Sequences laid end to end: each token's id and its position within its own sequence. */
export interface PackedSequences {
  tokens: Int32Array;
  positions: Int32Array;
  lengths: number[];
}

/**
 * Attention for one layer, given that layer's [N, 3d] q|k|v rows: causal attention
 * over the packed sequences when training, or over a key/value cache when generating.
 */
export type Attend = (layer: number, qkv: tf.Tensor2D) => tf.Tensor2D;

/** Weights drawn as in GPT-2: N(0, 0.02), residual projections scaled by 1/√(2·layers); seeded. */
export function createModel(config: ModelConfigInput, seed = 0): LanguageModel {
  const c = ModelConfig.parse(config);
  let draws = 0;
  const normal = (shape: [number, number], std = 0.02) =>
    // +1: tfjs reads a seed of 0 as "unseeded", which would make seed 0 irreproducible.
    variableFrom(tf.randomNormal<tf.Rank.R2>(shape, 0, std, "float32", seed * 7919 + ++draws));
  const residualStd = 0.02 / Math.sqrt(2 * c.nLayers);
  const layerNormWeights = () => ({
    gain: variableFrom(tf.ones<tf.Rank.R1>([c.dModel])),
    bias: variableFrom(tf.zeros<tf.Rank.R1>([c.dModel])),
  });
  const hidden = c.mlpRatio * c.dModel;
  return {
    config: c,
    tokenEmbedding: normal([c.vocabSize, c.dModel]),
    positionEmbedding: normal([c.contextLength, c.dModel]),
    blocks: Array.from({ length: c.nLayers }, () => ({
      ln1: layerNormWeights(),
      qkv: normal([c.dModel, 3 * c.dModel]),
      proj: normal([c.dModel, c.dModel], residualStd),
      ln2: layerNormWeights(),
      up: normal([c.dModel, hidden]),
      down: normal([hidden, c.dModel], residualStd),
    })),
    lnFinal: layerNormWeights(),
    head: c.tieEmbeddings ? undefined : normal([c.dModel, c.vocabSize]),
    copy: c.copyHead ? createCopyWeights(c.dModel, c.contextLength, normal) : undefined,
  };
}

/** Every weight with a stable name, in a fixed order (checkpoints and the optimizer rely on both). */
export function parameters(model: LanguageModel): [string, tf.Variable][] {
  const named: [string, tf.Variable][] = [
    ["tokenEmbedding", model.tokenEmbedding],
    ["positionEmbedding", model.positionEmbedding],
  ];
  model.blocks.forEach((b, i) => {
    named.push(
      [`blocks.${i}.ln1.gain`, b.ln1.gain],
      [`blocks.${i}.ln1.bias`, b.ln1.bias],
      [`blocks.${i}.qkv`, b.qkv],
      [`blocks.${i}.proj`, b.proj],
      [`blocks.${i}.ln2.gain`, b.ln2.gain],
      [`blocks.${i}.ln2.bias`, b.ln2.bias],
      [`blocks.${i}.up`, b.up],
      [`blocks.${i}.down`, b.down],
    );
  });
  named.push(["lnFinal.gain", model.lnFinal.gain], ["lnFinal.bias", model.lnFinal.bias]);
  if (model.head) named.push(["head", model.head]);
  if (model.copy) named.push(...copyParameters(model.copy));
  return named;
}

export function parameterCount(model: LanguageModel): number {
  return parameters(model).reduce((n, [, v]) => n + v.size, 0);
}

export function disposeModel(model: LanguageModel): void {
  for (const [, v] of parameters(model)) v.dispose();
}

/** Lays token rows end to end. Every row needs 1..contextLength tokens, each inside the vocabulary. */
export function pack(config: ModelConfig, rows: number[][]): PackedSequences {
  const lengths = rows.map((row) => row.length);
  const tokens = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  const positions = new Int32Array(tokens.length);
  let at = 0;
  rows.forEach((row, r) => {
    if (row.length === 0) throw new RangeError(`row ${r} has no tokens`);
    if (row.length > config.contextLength) {
      throw new UserError(`a sequence of ${row.length} tokens does not fit the model's context of ${config.contextLength}`);
    }
    row.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
        throw new RangeError(`token id ${id} (row ${r}) is outside the vocabulary of ${config.vocabSize}`);
      }
      tokens[at] = id;
      positions[at++] = i;
    });
  });
  return { tokens, positions, lengths };
}

/** Logits [N, vocab] for every position of the packed sequences (log-probabilities, with a copy head). */
export function forward(model: LanguageModel, packed: PackedSequences): tf.Tensor2D {
  const causal: Attend = (_, qkv) => causalSelfAttention(qkv, packed.lengths, model.config.nHeads);
  const hidden = transformer(model, packed.tokens, packed.positions, causal);
  const logits = matMul(hidden, outputHead(model));
  if (!model.copy) return logits;
  return copyMixturePacked(model.copy, model.tokenEmbedding, hidden, logits, packed.tokens, packed.lengths);
}

/** The transformer trunk: embeddings, the blocks, the final LayerNorm; [N, d]. */
export function transformer(model: LanguageModel, tokens: Int32Array, positions: Int32Array, attend: Attend): tf.Tensor2D {
  let x = tf.add(
    embed(model.tokenEmbedding, tf.tensor1d(tokens, "int32")),
    embed(model.positionEmbedding, tf.tensor1d(positions, "int32")),
  ) as tf.Tensor2D;
  model.blocks.forEach((block, layer) => {
    const attended = attend(layer, matMul(layerNorm(x, block.ln1.gain, block.ln1.bias), block.qkv));
    x = tf.add(x, matMul(attended, block.proj));
    const mlp = matMul(gelu(matMul(layerNorm(x, block.ln2.gain, block.ln2.bias), block.up)), block.down);
    x = tf.add(x, mlp);
  });
  return layerNorm(x, model.lnFinal.gain, model.lnFinal.bias);
}

/** The [d, vocab] matrix that turns hidden states into logits: the head, or the token embedding transposed when tied. */
export function outputHead(model: LanguageModel): tf.Tensor2D {
  return model.head ?? tf.transpose(model.tokenEmbedding);
}

/**
 * Mean cross-entropy over the positions where mask is 1 (the tokens to learn);
 * masked-out positions add nothing to the loss or its gradient.
 */
export function maskedLoss(logits: tf.Tensor2D, targets: tf.Tensor1D, mask: tf.Tensor1D): tf.Scalar {
  const logProbs = pickTargets(tf.logSoftmax(logits), targets);
  return tf.div(tf.neg(tf.sum(tf.mul(logProbs, mask))), tf.maximum(tf.sum(mask), 1));
}

/**
 * log p(ids[r][i] | ids[r][<i]) for i ≥ 1 of every row, packed row after row
 * (a row of n tokens gives n-1 values). Differentiable: the RL trainer's ratios and
 * KL terms are built on it.
 */
export function tokenLogprobs(model: LanguageModel, rows: number[][]): tf.Tensor1D {
  const { inputs, targets } = shiftRows(rows);
  const logits = forward(model, pack(model.config, inputs));
  return pickTargets(tf.logSoftmax(logits), tf.tensor1d(targets, "int32"));
}

/** Next-token pairs: each row without its last token as input, without its first as targets. */
export function shiftRows(rows: number[][]): { inputs: number[][]; targets: Int32Array } {
  for (const [r, row] of rows.entries()) {
    if (row.length < 2) throw new RangeError(`row ${r} needs at least 2 tokens to have a next token, has ${row.length}`);
  }
  return { inputs: rows.map((row) => row.slice(0, -1)), targets: Int32Array.from(rows.flatMap((row) => row.slice(1))) };
}
