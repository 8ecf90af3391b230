/**
 * Training the language model: the same loop serves pretraining (mask all ones)
 * and fine-tuning on trajectories (mask 1 on the policy's own tokens only).
 * AdamW with decoupled weight decay, linear warmup then cosine decay, and
 * gradient clipping by global norm.
 */
import { setImmediate } from "node:timers/promises";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { forward, maskedLoss, pack, parameters, shiftRows, type LanguageModel } from "./model.ts";
import { variableFrom } from "./ops.ts";

/**
 * A batch of token rows (any lengths; they are packed, never padded) and, for each
 * token, 1 if the model should learn to produce it and 0 if not (a prompt, an
 * observation the environment wrote). The first token of a row is never a target.
 */
export interface TokenBatch {
  ids: number[][];
  mask: number[][];
}

export const TrainOptions = z.object({
  /** Total optimizer steps; the schedule spans them, and a resumed optimizer counts on from its step. */
  steps: z.number().int().positive(),
  learningRate: z.number().positive().default(1e-3),
  minLearningRate: z.number().nonnegative().default(1e-4),
  warmupSteps: z.number().int().nonnegative().default(100),
  weightDecay: z.number().nonnegative().default(0.1),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.95),
  epsilon: z.number().positive().default(1e-8),
  clipNorm: z.number().positive().default(1),
});
export type TrainOptions = z.infer<typeof TrainOptions>;
export type TrainOptionsInput = z.input<typeof TrainOptions>;

export interface StepMetrics {
  /** 1-based number of the optimizer step just taken. */
  step: number;
  loss: number;
  learningRate: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Tokens the model read in this step (all of them, masked or not). */
  tokens: number;
  tokensPerSecond: number;
  ms: number;
}

/**
 * Trains until the optimizer reaches `options.steps`, the batches run out, or `signal`
 * aborts (after the step in flight), calling `onStep` after each step. Pass an optimizer
 * (a restored one) to resume.
 */
export async function trainLM(
  model: LanguageModel,
  batches: Iterable<TokenBatch> | AsyncIterable<TokenBatch>,
  options: TrainOptionsInput,
  hooks: { optimizer?: AdamW; onStep?: (metrics: StepMetrics) => void; step?: BatchStep; signal?: AbortSignal } = {},
): Promise<{ metrics: StepMetrics[]; optimizer: AdamW }> {
  const o = TrainOptions.parse(options);
  const optimizer = hooks.optimizer ?? new AdamW(model, o);
  const metrics: StepMetrics[] = [];
  if (optimizer.step >= o.steps) return { metrics, optimizer };
  for await (const batch of batches) {
    const { outputs: _, ...step } = await (hooks.step ?? trainStep)(model, optimizer, batch, learningRateAt(optimizer.step, o), o.clipNorm);
    metrics.push(step);
    hooks.onStep?.(step);
    if (optimizer.step >= o.steps) break;
    await setImmediate(); // let timers and signal handlers run between steps
    if (hooks.signal?.aborted) break;
  }
  return { metrics, optimizer };
}

/** An optimizer step on the masked next-token loss of a batch: `trainStep`, or one that splits the batch across threads. */
export type BatchStep = (model: LanguageModel, optimizer: AdamW, batch: TokenBatch, learningRate: number, clipNorm: number) => Promise<StepMetrics & { outputs?: unknown }>;

/**
 * The objective of one step: the masked next-token loss for (pre)training, a trainer's
 * own for RL and preferences. `outputs` are tensors computed with the loss that the
 * caller wants back as numbers (read after the update, like the loss).
 */
export type LossFunction<K extends string = never> = (model: LanguageModel, batch: TokenBatch) => { loss: tf.Scalar; outputs?: Record<K, tf.Tensor> };

const nextTokenLoss: LossFunction = (model, batch) => ({ loss: batchLoss(model, batch) });

/**
 * One optimizer step on one batch, minimising `loss` (default: the masked next-token
 * loss). Nothing is read back until the update is queued, and then only with data():
 * a GPU backend runs the whole step without waiting on the host (and tfjs's WebGPU
 * backend in Node has no synchronous read at all).
 */
export async function trainStep<K extends string = never>(
  model: LanguageModel,
  optimizer: AdamW,
  batch: TokenBatch,
  learningRate: number,
  clipNorm: number,
  loss: LossFunction<K> = nextTokenLoss as LossFunction<K>,
): Promise<StepMetrics & { outputs: Record<K, Float32Array> }> {
  const start = performance.now();
  const { value, grads, outputs } = outOfMemoryAsUserError(batch, () => lossGradients(model, optimizer.variables, batch, loss));
  let norm: tf.Scalar;
  try {
    norm = outOfMemoryAsUserError(batch, () => applyGradients(optimizer, grads, learningRate, clipNorm));
  } catch (error) {
    tf.dispose([value, ...Object.values<tf.Tensor>(outputs)]);
    throw error;
  } finally {
    tf.dispose(grads);
  }
  const [lossValue, gradNorm, values] = await Promise.all([value.data(), norm.data(), readTensors(outputs)]);
  tf.dispose([value, norm, ...Object.values<tf.Tensor>(outputs)]);
  return { ...stepMetrics(optimizer, batch, lossValue[0]!, learningRate, gradNorm[0]!, start), outputs: values };
}

/** Each tensor's values, by name, read with data() (the one read every backend has); the tensors stay the caller's. */
export async function readTensors<K extends string>(tensors: Record<K, tf.Tensor>): Promise<Record<K, Float32Array>> {
  const names = Object.keys(tensors) as K[];
  const values = await Promise.all(names.map((name) => tensors[name].data() as Promise<Float32Array>));
  return Object.fromEntries(names.map((name, i) => [name, values[i]!])) as Record<K, Float32Array>;
}

/** The targets of token rows: a row of n tokens has n-1 (its first token is never one). */
export function targetCount(rows: readonly number[][]): number {
  return rows.reduce((n, row) => n + row.length - 1, 0);
}

/** A loss's value, its gradients by variable name, and the outputs it keeps: tensors the caller disposes. */
export interface LossGradients<K extends string> {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
  outputs: Record<K, tf.Tensor>;
}

/** The gradient of `loss` on `batch` with respect to `variables` (the optimizer's, or a copy's `parameters`, in that order). */
export function lossGradients<K extends string>(model: LanguageModel, variables: tf.Variable[], batch: TokenBatch, loss: LossFunction<K>): LossGradients<K> {
  return tf.tidy(() => {
    let outputs = {} as Record<K, tf.Tensor>;
    const { value, grads } = tf.variableGrads(() => {
      const out = loss(model, batch);
      outputs = Object.fromEntries(Object.entries<tf.Tensor>(out.outputs ?? {}).map(([name, t]) => [name, tf.keep(t)])) as Record<K, tf.Tensor>;
      return out.loss;
    }, variables);
    return { value, grads, outputs };
  });
}

/** Clips `grads` to a global norm of at most `clipNorm` and takes the optimizer's step; returns the norm before clipping. */
export function applyGradients(optimizer: AdamW, grads: tf.NamedTensorMap, learningRate: number, clipNorm: number): tf.Scalar {
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    optimizer.update(grads, learningRate, clipScale(norm, clipNorm));
    return norm;
  });
}

/** The figures of a step that has just been taken (`start`: when it began, from performance.now()). */
export function stepMetrics(optimizer: AdamW, batch: TokenBatch, loss: number, learningRate: number, gradNorm: number, start: number): StepMetrics {
  const tokens = targetCount(batch.ids);
  const ms = performance.now() - start;
  return { step: optimizer.step, loss, learningRate, gradNorm, tokens, tokensPerSecond: (1000 * tokens) / ms, ms };
}

/**
 * Runs `step`; tfjs's WASM backend running out of its 4 GiB heap becomes a mistake the user
 * can fix. It shows as an abort, or, when an allocation fails as a tensor is registered, as an
 * access out of bounds.
 */
export function outOfMemoryAsUserError<T>(batch: TokenBatch, step: () => T): T {
  try {
    return step();
  } catch (error) {
    const outOfMemory = error instanceof WebAssembly.RuntimeError && (error.message.startsWith("Aborted(") || error.message === "memory access out of bounds");
    if (!outOfMemory) throw error;
    const tokens = targetCount(batch.ids);
    throw new UserError(
      `out of memory: a training step on ${batch.ids.length} rows (${tokens.toLocaleString()} tokens) needs more than the 4 GiB tfjs's WASM backend can hold; take fewer rows a step (a smaller batch or minibatch), or a GPU backend`,
    );
  }
}

/**
 * √(Σ ‖g‖²) over all gradients. Summed by pairs: tfjs's WebGPU AddN binds all its
 * inputs at once, and a shader gets 8 storage buffers by default.
 */
function globalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.sqrt(Object.values(grads).map((g) => tf.sum(tf.square(g))).reduce((sum, x) => tf.add(sum, x))) as tf.Scalar;
}

/** What gradients are multiplied by so that their global norm is at most `clipNorm`: a tensor, so that nothing waits to read the norm. */
function clipScale(norm: tf.Scalar, clipNorm: number): tf.Scalar {
  return tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6)));
}

/**
 * The mask lined up with a batch's targets (`tokenLogprobs(model, batch.ids)`): a row of n
 * tokens has n-1 targets, tokens 1..n-1, so each mask row loses its first entry.
 */
export function targetMask(batch: TokenBatch): Float32Array {
  batch.ids.forEach((row, r) => {
    if (batch.mask[r]?.length !== row.length) throw new RangeError(`mask row ${r} must have one entry per token (${row.length})`);
  });
  return Float32Array.from(batch.mask.flatMap((row) => row.slice(1)));
}

/** The masked next-token loss of a batch. */
export function batchLoss(model: LanguageModel, batch: TokenBatch): tf.Scalar {
  const mask = targetMask(batch);
  const { inputs, targets } = shiftRows(batch.ids);
  const logits = forward(model, pack(model.config, inputs));
  return maskedLoss(logits, tf.tensor1d(targets, "int32"), tf.tensor1d(mask));
}

/** Linear warmup to the peak rate, then cosine decay to the minimum at the last step. */
export function learningRateAt(step: number, o: Pick<TrainOptions, "steps" | "learningRate" | "minLearningRate" | "warmupSteps">): number {
  if (step < o.warmupSteps) return (o.learningRate * (step + 1)) / o.warmupSteps;
  const progress = Math.min(1, (step - o.warmupSteps) / Math.max(1, o.steps - o.warmupSteps));
  return o.minLearningRate + 0.5 * (o.learningRate - o.minLearningRate) * (1 + Math.cos(Math.PI * progress));
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter). Only matrices decay;
 * LayerNorm gains and biases do not.
 */
export class AdamW {
  /** Steps taken so far. */
  step = 0;
  private readonly slots: { name: string; param: tf.Variable; m: tf.Variable; v: tf.Variable }[];

  constructor(
    model: LanguageModel,
    private readonly options: Pick<TrainOptions, "beta1" | "beta2" | "epsilon" | "weightDecay">,
  ) {
    this.slots = parameters(model).map(([name, param]) => ({
      name,
      param,
      m: variableFrom(tf.zerosLike(param), false),
      v: variableFrom(tf.zerosLike(param), false),
    }));
  }

  get variables(): tf.Variable[] {
    return this.slots.map((s) => s.param);
  }

  /** Applies gradients (keyed by variable name, as tf.variableGrads gives them), first scaled by `gradScale`. */
  update(grads: tf.NamedTensorMap, learningRate: number, gradScale: number | tf.Scalar): void {
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    this.step += 1;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      for (const { param, m, v } of this.slots) {
        const grad = tf.mul(grads[param.name], gradScale);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2)));
        const adam = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
        const change = param.rank >= 2 ? tf.add(adam, tf.mul(param, weightDecay)) : adam;
        param.assign(tf.sub(param, tf.mul(change, learningRate)));
      }
    });
  }

  /** The moment estimates by name (`m.<param>`, `v.<param>`), for checkpoints. */
  moments(): [string, tf.Tensor][] {
    return this.slots.flatMap(({ name, m, v }): [string, tf.Tensor][] => [[`m.${name}`, m], [`v.${name}`, v]]);
  }

  /** Restores a saved state; every moment must be present, with its parameter's size. */
  restore(step: number, moments: Map<string, Float32Array>): void {
    for (const slot of this.slots) {
      for (const [key, variable] of [[`m.${slot.name}`, slot.m], [`v.${slot.name}`, slot.v]] as const) {
        const saved = moments.get(key);
        if (saved?.length !== variable.size) throw new Error(`optimizer state has no '${key}' of ${variable.size} values`);
        tf.tidy(() => variable.assign(tf.tensor(saved, variable.shape)));
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const { m, v } of this.slots) {
      m.dispose();
      v.dispose();
    }
  }
}
