import { isAbsolute, relative, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  createModel,
  disposeModel,
  loadCheckpoint,
  parameters,
  selectBackend,
  Tokenizer,
  type BackendName,
  type LanguageModel,
  type ModelConfig,
  type TokenizerJson,
} from "../lm/index.ts";
import { PromptTemplateSchema, type PromptTemplate } from "../../prompts/index.ts";
import { describeZodError, UserError } from "../errors.ts";
import { packagePath } from "../package-files.ts";

/** The committed base checkpoint: pretrained on hopworld pages, then fine-tuned on 3,000 expert episodes (every training question of world 1). */
export const BASE_PLANNER = packagePath("models/hopworld-base");

/** The embedded planner: a tiny language model and its tokenizer, as a checkpoint holds them. */
export interface Planner {
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** Where its weights are kept (loaded from; a training run's checkpoint once it saves or restores), for the trajectories' `model` field. */
  source: string;
  /** The weights `source` holds (`Checkpoint.weightsDigest`), for the trajectories' `weightsDigest`; absent for a model made here. */
  weightsDigest?: string;
  meta: Record<string, unknown>;
}

/**
 * A checkpoint's path as given, tidied (`./runs/rl/checkpoint/` is `runs/rl/checkpoint`),
 * as episodes and training runs' config.json record it: a resumed run refuses another model's log, and trainers name
 * every checkpoint `checkpoint`, so the folder's last name alone would not tell two runs'
 * apart. An absolute path (the base planner's) stays one, the same from any working folder.
 */
export function checkpointName(source: string): string {
  return isAbsolute(source) ? resolve(source) : relative(process.cwd(), resolve(source));
}

/** Picks the tfjs backend (once per process), then loads a checkpoint. */
export async function loadPlanner(dir = BASE_PLANNER, backend?: BackendName): Promise<Planner> {
  await ensureBackend(backend);
  const { model, tokenizer, meta, weightsDigest } = await loadCheckpoint(dir);
  return { model, tokenizer, source: dir, weightsDigest, meta };
}

/** The prompt its weights were trained with, as `train sft` and every trainer keep it in the checkpoint's meta; undefined where none is kept. */
export function trainedPrompt(planner: Pick<Planner, "meta" | "source">): PromptTemplate | undefined {
  const kept = PromptTemplateSchema.optional().safeParse(planner.meta.prompt);
  if (!kept.success) throw new UserError(`${planner.source}/manifest.json has a broken prompt in its meta: ${describeZodError(kept.error)}`);
  return kept.data;
}

let backendChoice: ReturnType<typeof selectBackend> | undefined;

/**
 * Selects the fastest present backend, or `preferred`; later calls reuse the first choice
 * (the process's tensors live on it), and refuse to name another. A choice that failed is not kept.
 */
export async function ensureBackend(preferred?: BackendName): ReturnType<typeof selectBackend> {
  backendChoice ??= selectBackend(preferred).catch((error: unknown) => {
    backendChoice = undefined;
    throw error;
  });
  const choice = await backendChoice;
  if (preferred && choice.name !== preferred) throw new UserError(`this process already runs on tfjs backend '${choice.name}': it cannot move to '${preferred}'`);
  return choice;
}

/** A planner as plain data (its weights copied out), for another thread to rebuild. */
export interface PlannerSnapshot {
  config: ModelConfig;
  /** Every weight, by its name in `parameters`. */
  weights: [string, Float32Array][];
  tokenizer: TokenizerJson;
  source: string;
  meta: Record<string, unknown>;
}

/**
 * The planner's weights as they are now: every read starts before this returns, so
 * later training does not change the snapshot.
 */
export async function snapshotPlanner(planner: Planner): Promise<PlannerSnapshot> {
  const params = parameters(planner.model);
  const values = await Promise.all(params.map(([, v]) => v.data() as Promise<Float32Array>));
  const weights = params.map(([name], i) => [name, values[i]!] as [string, Float32Array]);
  return { config: planner.model.config, weights, tokenizer: planner.tokenizer.toJSON(), source: planner.source, meta: planner.meta };
}

/** The planner a snapshot was taken of, and how to free its weights. */
export function plannerFromSnapshot(snapshot: PlannerSnapshot): Planner & { dispose: () => void } {
  const model = createModel(snapshot.config);
  const values = new Map(snapshot.weights);
  for (const [name, variable] of parameters(model)) tf.tidy(() => variable.assign(tf.tensor(values.get(name)!, variable.shape)));
  const tokenizer = Tokenizer.fromJSON(snapshot.tokenizer);
  return { model, tokenizer, source: snapshot.source, meta: snapshot.meta, dispose: () => disposeModel(model) };
}
