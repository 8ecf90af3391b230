/**
 * A checkpoint is a directory:
 *
 *   manifest.json   format, model config, training state, and where each tensor lies
 *   weights.bin     the weights, float32 (little-endian, as every supported platform stores them), end to end
 *   optimizer.bin   the AdamW moments, when saved
 *   tokenizer.json
 *
 * It is written into a temporary sibling directory, flushed to disk, then renamed
 * into place, so a crash leaves the old checkpoint or the new one, never half of one.
 * (Replacing an existing checkpoint takes two renames; a crash between them leaves
 * the old one whole, beside the path, as `.<name>.<id>.tmp.old`.)
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { syncPath, writeDurably } from "../../trajectories/store.ts";
import { basename, dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { createModel, ModelConfig, parameters, type LanguageModel } from "./model.ts";
import { Tokenizer } from "./tokenizer.ts";
import type { AdamW } from "./train.ts";

const TensorEntry = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  /** Where the tensor starts in its .bin file, in float32 values. */
  offset: z.number().int().nonnegative(),
});
type TensorEntry = z.infer<typeof TensorEntry>;

const Manifest = z.object({
  format: z.literal("react-rl-lm-checkpoint"),
  version: z.literal(1),
  config: ModelConfig,
  /** Optimizer steps taken when saved. */
  step: z.number().int().nonnegative(),
  /** Whatever the trainer wants to remember (stage, data, options). */
  meta: z.record(z.string(), z.unknown()),
  weights: z.array(TensorEntry),
  optimizer: z.array(TensorEntry).optional(),
});

export interface CheckpointInput {
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** Saved too when given, so training can resume where it stopped. */
  optimizer?: AdamW;
  meta?: Record<string, unknown>;
}

export interface Checkpoint {
  model: LanguageModel;
  tokenizer: Tokenizer;
  step: number;
  meta: Record<string, unknown>;
  /** AdamW moments by name, for `AdamW.restore(step, moments)`; absent if none were saved. */
  optimizerMoments?: Map<string, Float32Array>;
}

export async function saveCheckpoint(dir: string, input: CheckpointInput): Promise<void> {
  const weights = packTensors(parameters(input.model));
  const moments = input.optimizer && packTensors(input.optimizer.moments());
  const manifest: z.input<typeof Manifest> = {
    format: "react-rl-lm-checkpoint",
    version: 1,
    config: input.model.config,
    step: input.optimizer?.step ?? 0,
    meta: input.meta ?? {},
    weights: weights.entries,
    optimizer: moments?.entries,
  };
  await mkdir(dirname(dir), { recursive: true });
  const staging = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.tmp`);
  await mkdir(staging);
  try {
    await writeDurably(join(staging, "weights.bin"), weights.bytes);
    if (moments) await writeDurably(join(staging, "optimizer.bin"), moments.bytes);
    await writeDurably(join(staging, "tokenizer.json"), `${JSON.stringify(input.tokenizer.toJSON())}\n`);
    await writeDurably(join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    await replaceDirectory(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const manifest = await readManifest(dir);
  const tokenizer = Tokenizer.fromJSON(JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8")));
  const weights = unpackTensors(await readFile(join(dir, "weights.bin")), manifest.weights, dir);
  const model = createModel(manifest.config);
  for (const [name, variable] of parameters(model)) {
    const values = weights.get(name);
    if (values?.length !== variable.size) throw new UserError(`checkpoint ${dir} has no weight '${name}' of ${variable.size} values`);
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
  }
  const optimizerMoments = manifest.optimizer && unpackTensors(await readFile(join(dir, "optimizer.bin")), manifest.optimizer, dir);
  return { model, tokenizer, step: manifest.step, meta: manifest.meta, optimizerMoments };
}

async function readManifest(dir: string): Promise<z.infer<typeof Manifest>> {
  let text: string;
  try {
    text = await readFile(join(dir, "manifest.json"), "utf8");
  } catch {
    throw new UserError(`${dir} is not a checkpoint: it has no manifest.json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${dir}/manifest.json is not JSON: ${(error as Error).message}`);
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) throw new UserError(`${dir}/manifest.json is not a valid checkpoint manifest: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Tensors end to end as float32 bytes, with where each one lies. */
function packTensors(tensors: [string, tf.Tensor][]): { entries: TensorEntry[]; bytes: Uint8Array } {
  const total = tensors.reduce((n, [, t]) => n + t.size, 0);
  const values = new Float32Array(total);
  let offset = 0;
  const entries = tensors.map(([name, tensor]) => {
    values.set(tensor.dataSync(), offset);
    offset += tensor.size;
    return { name, shape: tensor.shape, offset: offset - tensor.size };
  });
  return { entries, bytes: new Uint8Array(values.buffer) };
}

function unpackTensors(bytes: Buffer, entries: TensorEntry[], dir: string): Map<string, Float32Array> {
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new Map(
    entries.map(({ name, shape, offset }) => {
      const size = shape.reduce((a, b) => a * b, 1);
      if (offset + size > values.length) throw new UserError(`checkpoint ${dir} is truncated: '${name}' runs past the end of its file`);
      return [name, values.subarray(offset, offset + size)];
    }),
  );
}

/**
 * Moves `staging` to `dir`. A directory cannot be renamed over a non-empty one, so an
 * existing checkpoint is first renamed aside and removed once the new one is in place.
 */
async function replaceDirectory(staging: string, dir: string): Promise<void> {
  const existing = await stat(dir).then(() => true, () => false);
  const aside = `${staging}.old`;
  if (existing) await rename(dir, aside);
  await rename(staging, dir);
  await syncPath(dirname(dir));
  if (existing) await rm(aside, { recursive: true, force: true });
}
