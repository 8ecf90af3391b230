/**
 * A checkpoint is a directory:
 *
 *   manifest.json   format, model config, training state, and where each tensor lies
 *   weights.bin     the weights, float32 (little-endian, as every supported platform stores them), end to end
 *   optimizer.bin   the AdamW moments, when saved
 *   tokenizer.json
 *
 * A save writes a temporary sibling `.<name>.<id>.tmp` and flushes it to disk; then the
 * old checkpoint is renamed aside to `.<name>.<id>.tmp.old`, the new one renamed into
 * place, and the old one removed. (A directory cannot be renamed over a non-empty one,
 * hence two renames.) A kill between the renames leaves no `<name>`, only the old
 * checkpoint aside: `recoverCheckpoint` puts it back and removes the temporary folders,
 * so after a crash at any instant there is the old checkpoint or the new one. Every save
 * recovers first, as must whoever resumes from a checkpoint; readers do not, as they
 * would move folders under a save in progress.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { parseJson, pathExists, readJsonFile, syncPath, writeDurably } from "../files.ts";
import { createModel, disposeModel, ModelConfig, parameters, type LanguageModel } from "./model.ts";
import { Tokenizer } from "./tokenizer.ts";
import type { AdamW } from "./train.ts";
import { shortDigest } from "../digest.ts";

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
  /** Its weights.bin in a short line (`sha256 0123456789ab`): a checkpoint retrained in place is another model under the same path. */
  weightsDigest: string;
  /** AdamW moments by name, for `AdamW.restore(step, moments)`; absent if none were saved. */
  optimizerMoments?: Map<string, Float32Array>;
}

/** Saves `input` at `dir` (replacing what was there, whole or not at all); gives the saved weights' `weightsDigest`. */
export async function saveCheckpoint(dir: string, input: CheckpointInput): Promise<string> {
  // Both reads start before either is awaited: weights and moments of the same step
  const [weights, moments] = await Promise.all([packTensors(parameters(input.model)), input.optimizer && packTensors(input.optimizer.moments())]);
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
  await recoverCheckpoint(dir);
  const staging = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.tmp`);
  await mkdir(staging);
  try {
    await writeDurably(join(staging, "weights.bin"), weights.bytes);
    if (moments) await writeDurably(join(staging, "optimizer.bin"), moments.bytes);
    await writeDurably(join(staging, "tokenizer.json"), `${JSON.stringify(input.tokenizer.toJSON())}\n`);
    await writeDurably(join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    await syncPath(staging); // its entries too, or a power cut could leave the new checkpoint without files
    await replaceDirectory(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return shortDigest([weights.bytes]);
}

/**
 * Undoes a save that was killed midway: puts the old checkpoint back if the new one never
 * reached `dir`, and removes the temporary folders. Only for the one who writes `dir`.
 */
export async function recoverCheckpoint(dir: string): Promise<void> {
  const parent = dirname(dir);
  const leftovers = (await readdir(parent).catch(() => [])).filter((name) => isTemporary(name, basename(dir)));
  if (leftovers.length === 0) return;
  const aside = leftovers.find((name) => name.endsWith(".tmp.old"));
  const restore = aside !== undefined && !(await pathExists(dir));
  if (restore) await rename(join(parent, aside), dir);
  const garbage = restore ? leftovers.filter((name) => name !== aside) : leftovers;
  for (const name of garbage) await rm(join(parent, name), { recursive: true, force: true });
  // Lasting before the next save renames anything, so a power cut cannot bring back a second old checkpoint.
  await syncPath(parent);
}

/** `.<base>.<uuid>.tmp` or `.tmp.old`, as `saveCheckpoint` names them: nothing of the user's. */
function isTemporary(name: string, base: string): boolean {
  return name.startsWith(`.${base}.`) && /^[0-9a-f-]{36}\.tmp(\.old)?$/.test(name.slice(base.length + 2));
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const manifest = await readManifest(dir);
  const tokenizer = Tokenizer.fromJSON(await readJsonFile(join(dir, "tokenizer.json"), z.unknown(), "checkpoint tokenizer"));
  const weightsFile = await readPart(dir, "weights.bin");
  const weights = unpackTensors(weightsFile, manifest.weights, dir);
  // Read before the model is made, whose tensors a refused checkpoint would otherwise leave behind
  const optimizerMoments = manifest.optimizer && unpackTensors(await readPart(dir, "optimizer.bin"), manifest.optimizer, dir);
  const model = createModel(manifest.config);
  try {
    for (const [name, variable] of parameters(model)) {
      const values = weights.get(name);
      if (values?.length !== variable.size) throw new UserError(`checkpoint ${dir} has no weight '${name}' of ${variable.size} values`);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
    }
  } catch (error) {
    disposeModel(model);
    throw error;
  }
  return { model, tokenizer, step: manifest.step, meta: manifest.meta, weightsDigest: shortDigest([weightsFile]), optimizerMoments };
}

/** A file its manifest promises: one missing is a checkpoint copied or saved in part. */
async function readPart(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new UserError(`checkpoint ${dir} is incomplete: it has no ${name} (copy it again, or train it again)`);
  }
}

async function readManifest(dir: string): Promise<z.infer<typeof Manifest>> {
  let text: string;
  try {
    text = await readFile(join(dir, "manifest.json"), "utf8");
  } catch {
    throw new UserError((await pathExists(dir)) ? `${dir} is not a checkpoint: it has no manifest.json` : `checkpoint not found: ${dir}`);
  }
  const parsed = Manifest.safeParse(parseJson(text, `${dir}/manifest.json`, z.unknown()));
  if (!parsed.success) throw new UserError(`${dir}/manifest.json is not a valid checkpoint manifest: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Tensors end to end as float32 bytes, with where each one lies. */
async function packTensors(tensors: [string, tf.Tensor][]): Promise<{ entries: TensorEntry[]; bytes: Uint8Array }> {
  const read = await Promise.all(tensors.map(([, tensor]) => tensor.data()));
  const values = new Float32Array(read.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  const entries = tensors.map(([name, tensor], i) => {
    values.set(read[i]!, offset);
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
  const existing = await pathExists(dir);
  const aside = `${staging}.old`;
  if (existing) await rename(dir, aside);
  await rename(staging, dir);
  await syncPath(dirname(dir));
  if (existing) await rm(aside, { recursive: true, force: true });
}
