/**
 * A training run's folder, which is all a rerun needs to continue after a kill:
 *
 *   config.json     the settings it was started with (a resumed run must match them)
 *   checkpoint/     the model and optimizer after the last finished round, update or
 *                   step, whose number is in the checkpoint's meta (`completed`)
 *   metrics.jsonl   one line per round, update or step, only ever appended to
 *   rollouts/NNNN/  the episodes sampled for round or update NNNN (each resumable)
 *
 * A round is logged, then checkpointed. A kill in between leaves a metrics line past
 * the checkpoint: the round runs again and logs again, and the later line of a round
 * is the one that counts. The log is never cut, so a kill loses no line of it.
 *
 * Resuming is here and nowhere else: every trainer goes through `TrainingRun.resume`,
 * and `train pretrain|sft`, whose run is the checkpoint itself, through `savedCheckpoint`
 * and `resumedOptimizer`.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { promptDigest, PromptTemplateOption, type PromptTemplate } from "../../prompts/index.ts";
import type { EnvironmentFactory, Task } from "../../tools/environment.ts";
import { questionsShortDigest } from "../../trajectories/digest.ts";
import { otherPrompt, recalledExemplars, TrajectoryShapeSchema, type Trajectory } from "../../trajectories/index.ts";
import { EnvironmentFactoryOption, TasksOption } from "../agent/episode.ts";
import { UserError } from "../errors.ts";
import { appendDurably, claimFolder, JsonObjectSchema, parseJson, writeFileAtomic } from "../files.ts";
import { otherOptions, RUN_FOLDER_OPTIONS } from "../options.ts";
import { AdamW, createModel, loadCheckpoint, parameters, recoverCheckpoint, saveCheckpoint, TrainOptions, type Checkpoint, type LanguageModel } from "../lm/index.ts";
import { checkpointName, type Planner } from "../planner/index.ts";
import { Random } from "../random.ts";
import { changedSettings } from "../settings.ts";

/** One line of metrics.jsonl: named numbers, with the round, update or step they belong to. */
export type MetricsRecord = Record<string, number | string>;

/** Where a trainer is: the phase of a round (or update, or epoch) and how far along. */
export interface TrainingProgress {
  phase: "sample" | "rationalize" | "train" | "score";
  /** The round, update or epoch (1-based). */
  index: number;
  done: number;
  total: number;
  /** A short figure to show beside the bar (success so far, the loss). */
  status?: string;
}

export interface TrainingResult {
  /** The metrics record of every round of the run, resumed rounds included (the latest line of each in metrics.jsonl). */
  metrics: MetricsRecord[];
  /** True when the signal stopped the run early: rerun with the same settings to continue. */
  interrupted: boolean;
  /** The rounds (updates, steps) this call ran: 0 when a rerun found the run finished. */
  ran: number;
}

/** What a trainer that samples its own episodes (rejection sampling, policy gradient) is given besides its settings. */
export interface SamplingTrainingOptions<T extends Task> {
  /** The policy to improve, in place. */
  planner: Planner;
  /** Training questions, taken `questions` at a time, in turn. */
  tasks: readonly T[];
  environment: EnvironmentFactory<T>;
  template: PromptTemplate;
  /** The name each rollout episode's log records as its dataset (e.g. `hotpotqa-train`). */
  dataset?: string;
  /** The run folder; a rerun with the same folder and settings continues where it stopped. */
  out: string;
  signal?: AbortSignal;
  onProgress?: (progress: TrainingProgress) => void;
}

/** What a trainer takes besides its settings, checked where a slip would fail late: any other key is refused as a likely slip. */
const RUN_OPTIONS = { ...RUN_FOLDER_OPTIONS, planner: true, template: PromptTemplateOption } as const;

/** What a sampling trainer (rejection sampling, policy gradient) takes besides its settings. */
export const SAMPLING_OPTIONS = otherOptions<SamplingTrainingOptions<Task>>({
  ...RUN_OPTIONS,
  tasks: TasksOption,
  environment: EnvironmentFactoryOption,
  dataset: z.string().optional(),
});

/** What a trainer on logged episodes (DPO, the reward model) is given besides its settings. */
export interface EpisodeTrainingOptions {
  /** The model to train in place, starting from the planner's weights. */
  planner: Planner;
  /** Logged episodes, several per question, successes and failures alike. */
  episodes: readonly Trajectory[];
  template: PromptTemplate;
  /** The run folder; a rerun with the same folder and settings continues where it stopped. */
  out: string;
  /** Steps between checkpoints (default 50; the last step is always saved). */
  checkpointEvery?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TrainingProgress) => void;
}

/**
 * Logged episodes rendered with a prompt they never ran with would teach the planner
 * another task than the one it meets: episodes recording another prompt, or exemplars
 * recalled per question, are refused.
 */
export function refuseOtherPrompt(caller: string, episodes: readonly Trajectory[], template: PromptTemplate): void {
  if (episodes.some(recalledExemplars)) {
    throw new UserError(`${caller}: episodes ran with exemplars recalled per question (meta.recall), which template's own exemplars would stand in for`);
  }
  const digest = promptDigest(template);
  const ranWith = otherPrompt(episodes, digest);
  if (ranWith !== undefined) throw new UserError(`${caller}: episodes ran with another prompt (${ranWith}) than template (${digest}): pass the template they ran with`);
}

/** What a trainer on logged episodes (DPO, the reward model) takes besides its settings. */
export const EPISODE_OPTIONS = otherOptions<EpisodeTrainingOptions>({
  ...RUN_OPTIONS,
  episodes: z.array(TrajectoryShapeSchema),
  checkpointEvery: z.number().int().min(1).optional(),
});

export interface RunOptions {
  /** The method (`rs`, `rl`, `dpo`, `rm`): the checkpoints' stage. */
  method: string;
  /** The planner it starts from: config.json keeps its checkpoint's path and weights digest, so a base retrained in place is another run's. */
  start?: Pick<Planner, "source" | "weightsDigest">;
  /** Its settings, as config.json keeps them. */
  config: Record<string, unknown>;
  /** The prompt its episodes are rendered with: config.json keeps its digest, so a resumed run renders them alike. */
  template: PromptTemplate;
  /** The metrics field that numbers the records (`round`, `update`, `step`). */
  counter: string;
  /** Config keys a resumed run may change: how it runs (concurrency), or how long (more rounds). */
  mutable?: readonly string[];
}

/** What a finished round (update, step) leaves: its metrics, and the trainer's state to keep with its checkpoint. */
export interface Completed {
  record: MetricsRecord;
  /** Trainer state besides the weights (a KL coefficient), kept in the checkpoint's meta. */
  state?: Record<string, unknown>;
}

/** What `TrainingRun.resume` checkpoints, and when it stops. */
export interface ResumeOptions {
  planner: Planner;
  optimizer: AdamW;
  signal?: AbortSignal;
  /** Rounds between checkpoints (default 1: every one); the last, and the one the signal stopped after, are always saved. */
  checkpointEvery?: number;
}

/** What a finished round leaves to resume from. */
export interface Progress {
  completed: number;
  planner: Planner;
  optimizer: AdamW;
  /** Trainer state besides the weights (a KL coefficient), kept in the checkpoint's meta. */
  state?: Record<string, unknown>;
}

export class TrainingRun {
  private constructor(
    readonly dir: string,
    private readonly method: string,
    private readonly counter: string,
    /** The number of the last round, update or step saved; 0 for a fresh run. */
    readonly completed: number,
    /** The metrics record of each round completed so far, in order. */
    readonly metrics: MetricsRecord[],
    private saved: Checkpoint | undefined,
    private readonly template: PromptTemplate,
    private readonly claim: { release(): Promise<void> },
  ) {}

  /** Opens `dir`, creating it, or resuming it when its config matches `options.config`. */
  static async open(dir: string, options: RunOptions): Promise<TrainingRun> {
    const claim = await claimFolder(dir); // until `resume` ends, or the process does
    try {
      const start = options.start && { model: checkpointName(options.start.source), weightsDigest: options.start.weightsDigest };
      await checkConfig(join(dir, "config.json"), { method: options.method, ...start, ...options.config, prompt: promptDigest(options.template) }, options.mutable ?? []);
      const checkpoint = join(dir, "checkpoint");
      const saved = await savedCheckpoint(checkpoint, "remove it to start the run over, or pick another run folder (another out, or --name on the command line)");
      const completed = saved === undefined ? 0 : completedOf(saved, checkpoint);
      const metrics = latestUpTo(await openMetrics(join(dir, "metrics.jsonl")), options.counter, completed);
      return new TrainingRun(dir, options.method, options.counter, completed, metrics, saved, options.template, claim);
    } catch (error) {
      await claim.release();
      throw error;
    }
  }

  get checkpointDir(): string {
    return join(this.dir, "checkpoint");
  }

  /** The folder for round or update `index`'s episodes. */
  rolloutDir(index: number): string {
    return join(this.dir, "rollouts", String(index).padStart(4, "0"));
  }

  /**
   * The optimizer to go on with: a fresh one for a fresh run; else the saved one, with
   * the saved weights copied into `planner.model` (which then names the checkpoint as its
   * source), and the trainer's saved state.
   */
  restore(planner: Planner): { optimizer: AdamW; state: Record<string, unknown> } {
    const { saved } = this;
    if (!saved) return { optimizer: resumedOptimizer(planner.model), state: {} };
    this.saved = undefined;
    try {
      copyWeights(saved.model, planner.model);
    } finally {
      disposeWeights(saved.model);
    }
    this.relabel(planner, saved.weightsDigest);
    return { optimizer: resumedOptimizer(planner.model, saved), state: (saved.meta.state as Record<string, unknown> | undefined) ?? {} };
  }

  /**
   * Runs what is left of the run: rounds (updates, steps) `completed + 1` to `total`.
   * `round` returns what a finished one leaves, or undefined when the signal cut it short
   * (it logs nothing, and the rerun runs it again). Each finished one is logged, then
   * checkpointed; after one the signal stopped, the run stops, saved.
   */
  async resume(total: number, options: ResumeOptions, round: (index: number) => Promise<Completed | undefined>): Promise<TrainingResult> {
    const { planner, optimizer, signal, checkpointEvery = 1 } = options;
    const result = (interrupted: boolean, last: number) => ({ metrics: this.metrics, interrupted, ran: Math.max(0, last - this.completed) });
    try {
      for (let index = this.completed + 1; index <= total; index++) {
        const completed = await round(index);
        if (!completed) return result(true, index - 1);
        await this.log(index, completed.record);
        const stopping = signal?.aborted === true;
        if (index === total || stopping || index % checkpointEvery === 0) await this.save({ completed: index, planner, optimizer, state: completed.state });
        if (stopping && index < total) return result(true, index);
      }
      return result(false, total);
    } finally {
      await this.claim.release();
    }
  }

  /**
   * `resume` for a trainer on logged episodes: one optimizer step per minibatch of `plan`,
   * `step` training on its indices and giving its figures; checkpointed every
   * `checkpointEvery` steps (default 50), progress reported after each.
   */
  steps(plan: ReturnType<typeof minibatchPlan>, options: ResumeOptions & Pick<EpisodeTrainingOptions, "onProgress">, step: (indices: number[]) => Promise<MetricsRecord & { loss: number }>): Promise<TrainingResult> {
    return this.resume(plan.length, { ...options, checkpointEvery: options.checkpointEvery ?? 50 }, async (index) => {
      const { epoch, indices } = plan[index - 1]!;
      const figures = await step(indices);
      options.onProgress?.({ phase: "train", index: epoch + 1, done: index, total: plan.length, status: `loss ${figures.loss.toFixed(3)}` });
      return { record: { epoch: epoch + 1, ...figures } };
    });
  }

  /** Appends the metrics of round (update, step) `index`. */
  async log(index: number, record: MetricsRecord): Promise<void> {
    const line = { [this.counter]: index, ...record };
    await appendDurably(join(this.dir, "metrics.jsonl"), `${JSON.stringify(line)}\n`);
    this.metrics.push(line);
  }

  /** Checkpoints the model and optimizer after round (update, step) `progress.completed`. */
  async save(progress: Progress): Promise<void> {
    const { planner, optimizer } = progress;
    // The prompt it trained with: a LocalPolicy of the checkpoint defaults to it (`trainedPrompt`)
    const meta = { ...planner.meta, prompt: this.template, stage: this.method, completed: progress.completed, state: progress.state ?? {} };
    this.relabel(planner, await saveCheckpoint(this.checkpointDir, { model: planner.model, tokenizer: planner.tokenizer, optimizer, meta }));
  }

  /**
   * Names the checkpoint (by its absolute path, however the run folder was written) as the
   * planner's source: the next round's episodes, and a run started from it, record the weights that made them.
   */
  private relabel(planner: Planner, weightsDigest: string): void {
    planner.source = resolve(this.checkpointDir);
    planner.weightsDigest = weightsDigest;
  }
}

/**
 * The checkpoint at `dir`, once a save a kill cut short is undone; undefined when there is
 * none (no folder, or an empty one). Anything else there is a user error saying what is
 * wrong with it (not a checkpoint, truncated, unreadable), then `advice`.
 */
export async function savedCheckpoint(dir: string, advice: string): Promise<Checkpoint | undefined> {
  await recoverCheckpoint(dir);
  if ((await readdir(dir).catch(() => [])).length === 0) return undefined;
  return loadCheckpoint(dir).catch((error: unknown) => {
    const what = error instanceof UserError ? error.message : `${dir} exists and cannot be read as a checkpoint (${(error as Error).message})`;
    throw new UserError(`${what}; ${advice}`, { cause: error });
  });
}

/** The trainers' optimizer for `model`: fresh, or going on from the step and moments a checkpoint saved. */
export function resumedOptimizer(model: LanguageModel, saved?: Pick<Checkpoint, "step" | "optimizerMoments">): AdamW {
  const optimizer = new AdamW(model, TrainOptions.parse({ steps: 1 }));
  if (saved?.optimizerMoments) optimizer.restore(saved.step, saved.optimizerMoments);
  return optimizer;
}

/**
 * The minibatches of every step of `epochs` passes over `size` items, each pass in
 * its own seeded order: fixed in advance, so a resumed run goes on with the same batches.
 */
export function minibatchPlan(size: number, batchSize: number, epochs: number, seed: number): { epoch: number; indices: number[] }[] {
  const random = new Random(seed);
  const items = Array.from({ length: size }, (_, i) => i);
  return Array.from({ length: epochs }, (_, epoch) => {
    const order = random.shuffle(items);
    return Array.from({ length: Math.ceil(size / batchSize) }, (_, b) => ({ epoch, indices: order.slice(b * batchSize, (b + 1) * batchSize) }));
  }).flat();
}

/**
 * The training questions a sampling run draws from, in a line config.json can keep:
 * resuming with other questions (another world, another --skip-questions) is then
 * a changed setting, not a silent switch.
 */
export function questionsDigest(tasks: readonly Task[]): string {
  return `${tasks.length} from ${tasks[0]?.id ?? "none"} (${questionsShortDigest(tasks)})`;
}

/**
 * A round's fine-tune, `train`, which gives undefined when the signal cut it short: then the
 * planner's weights are put back as they were before it, so that the planner stays the last
 * finished round's (a rerun in the same process, or a checkpoint-less round 1, starts from them).
 */
export async function fineTuneOrUndo<R>(planner: Planner, signal: AbortSignal | undefined, train: () => Promise<R | undefined>): Promise<R | undefined> {
  if (!signal) return train();
  const before = frozenCopy(planner.model);
  try {
    const trained = await train();
    if (trained === undefined) copyWeights(before, planner.model);
    return trained;
  } finally {
    disposeWeights(before);
  }
}

/** A frozen copy of a model's weights: the reference policy the trainer's KL is measured against. */
export function frozenCopy(model: LanguageModel): LanguageModel {
  const copy = createModel(model.config);
  copyWeights(model, copy);
  return copy;
}

function copyWeights(from: LanguageModel, to: LanguageModel): void {
  const source = new Map(parameters(from));
  for (const [name, variable] of parameters(to)) {
    const value = source.get(name);
    if (!value || value.size !== variable.size) throw new UserError(`the checkpoint has no weight '${name}' of ${variable.size} values: it belongs to another model`);
    variable.assign(value);
  }
}

export function disposeWeights(model: LanguageModel): void {
  tf.dispose(parameters(model).map(([, v]) => v));
}

/** Settings older config.json files do not keep: a run without them resumes on the rest. */
const UNRECORDED_IN_OLDER_CONFIGS = ["prompt", "weightsDigest", "rewardModel", "rewardModelDigest"];

async function checkConfig(path: string, config: Record<string, unknown>, mutable: readonly string[]): Promise<void> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) {
    await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  const saved = asDamagedConfig(() => parseJson(text, path, JsonObjectSchema));
  // Older configs kept the model's path as given (`./m/`): compared tidied, it is the same model
  if (typeof saved.model === "string" && checkpointName(saved.model) === config.model) saved.model = config.model;
  // A run started before config.json kept some settings resumes on the rest, and keeps them from now on;
  // a checkpoint moved (the demo's rs, with its folder) is the same start by its weights
  const identifiedBy = { model: "weightsDigest", rewardModel: "rewardModelDigest" };
  const changed = changedSettings(saved, config, { ignore: mutable, olderMayLack: UNRECORDED_IN_OLDER_CONFIGS, identifiedBy });
  if (changed.length > 0) {
    throw new UserError(`${path} holds a run started with other settings (${changed.join(", ")}): rerun with its settings to resume, or pick another run folder (another out, or --name on the command line)`);
  }
  // Mutable keys follow the latest run.
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** A damaged config.json is the user's to mend: the run's checkpoint and metrics stay as they are. */
function asDamagedConfig<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new UserError(`${(error as Error).message}: fix or remove it (the run's checkpoint and metrics are kept)`);
  }
}

function completedOf(saved: Checkpoint, dir: string): number {
  const { completed } = saved.meta;
  if (typeof completed !== "number") throw new UserError(`${dir} is not a training run's checkpoint: its meta has no 'completed'`);
  return completed;
}

/**
 * The log's records. A torn last line (a kill mid-write) is ended, not cut, so the next
 * line starts on its own; it does not parse, and its round runs again.
 */
async function openMetrics(path: string): Promise<MetricsRecord[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  if (text !== "" && !text.endsWith("\n")) await appendDurably(path, "\n");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as MetricsRecord];
      } catch {
        return [];
      }
    });
}

/** The last record of each round up to `completed`, in round order: a round run again logs again. */
function latestUpTo(records: MetricsRecord[], counter: string, completed: number): MetricsRecord[] {
  const latest = new Map<number, MetricsRecord>();
  for (const record of records) {
    const index = Number(record[counter]);
    if (index <= completed) latest.set(index, record);
  }
  return [...latest.keys()].sort((a, b) => a - b).map((index) => latest.get(index)!);
}
