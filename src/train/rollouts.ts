/**
 * Episodes for the trainers: K samples of each question with the planner being
 * trained, run through the real runtime (runBenchmark: the episodes are logged as
 * they finish, so a killed collection resumes), and their token rows for training.
 */
import { join } from "node:path";
import type { PromptTemplate } from "../../prompts/index.ts";
import type { EnvironmentFactory, Task } from "../../tools/environment.ts";
import { byQuestion, mean, readTrajectoriesIfAny, sum, type Trajectory } from "../../trajectories/index.ts";
import { forgetOtherWeights, madeBy, runBenchmark, type BenchmarkProgress } from "../agent/index.ts";
import { defaultDecoding, episodeTokens, LocalPolicy, type Planner, type TokenSequence } from "../planner/index.ts";
import type { RolloutSettings } from "./config.ts";
import type { SamplingTrainingOptions, TrainingProgress } from "./runs.ts";

export interface RolloutOptions<T extends Task> extends Omit<RolloutSettings, "questions"> {
  planner: Planner;
  tasks: readonly T[];
  /** Episodes per question. */
  samples: number;
  seed: number;
  /** A fresh environment for each episode. */
  environment: EnvironmentFactory<T>;
  template: PromptTemplate;
  /** The name each episode's log records as its dataset. */
  dataset?: string;
  /** Folder of the episodes' log (`trajectories.jsonl`, resumable) and `summary.json`. */
  out: string;
  signal?: AbortSignal;
  onProgress?: (progress: BenchmarkProgress) => void;
}

export interface Rollouts {
  /** `groups[i]`: the episodes of `tasks[i]`, in sample order (fewer than asked when interrupted). */
  groups: Trajectory[][];
  /** True when the signal stopped sampling early; what finished is logged. */
  interrupted: boolean;
  /** Episodes found logged by an earlier, stopped run: this process did not sample them, or spend time on them. */
  resumed: number;
}

/** Samples `samples` episodes of every task (a resumed collection keeps what it had logged). */
export async function sampleRollouts<T extends Task>(o: RolloutOptions<T>): Promise<Rollouts> {
  // A round's rollouts are its planner's samples: others kept there (an older react-rl labelled them
  // with the run's start, whatever weights sampled them) are drawn again, from the same seed
  await forgetOtherWeights(o.out, await madeBy(o.out), o.planner.weightsDigest);
  const policy = new LocalPolicy(o.planner, { temperature: o.temperature, topP: o.topP, seed: o.seed, maxBatch: o.concurrency, grammar: !o.freeDecoding, ...(await defaultDecoding()) });
  const { interrupted, resumed } = await runBenchmark({
    tasks: o.tasks,
    samples: o.samples,
    policy,
    environment: o.environment,
    out: o.out,
    concurrency: o.concurrency,
    maxSteps: o.maxSteps,
    template: o.template,
    dataset: o.dataset,
    signal: o.signal,
    onProgress: o.onProgress,
  }).finally(() => policy.close());
  const logged = byQuestion((await readTrajectoriesIfAny(join(o.out, "trajectories.jsonl"))).trajectories);
  const groups = o.tasks.map((task) => (logged.get(task.id) ?? []).sort((a, b) => (a.sample ?? 0) - (b.sample ?? 0)));
  return { groups, interrupted, resumed };
}

/**
 * The rollouts of a sampling trainer's round (or update) `index`, in its `phase`: its
 * planner, environment and prompt, its sampling settings, and progress reported as the
 * round's. The round adds its questions, samples, seed and folder.
 */
export function roundRolloutOptions<T extends Task>(
  options: SamplingTrainingOptions<T>,
  o: RolloutSettings,
  phase: TrainingProgress["phase"],
  index: number,
): Omit<RolloutOptions<T>, "tasks" | "samples" | "seed" | "out"> {
  const { planner, environment, template, dataset, signal } = options;
  const { temperature, topP, concurrency, maxSteps, freeDecoding } = o;
  const onProgress = (p: BenchmarkProgress) => options.onProgress?.({ phase, index, done: p.done, total: p.total, status: `EM ${p.em.toFixed(3)}` });
  return { planner, environment, template, dataset, signal, temperature, topP, concurrency, maxSteps, freeDecoding, onProgress };
}

/** The seed of round (or update) `index`: one of its own, the same when a run resumes. */
export function roundSeed(seed: number, index: number): number {
  return seed * 100_003 + index;
}

/**
 * The questions of round (or update) `index` (1-based): the next `count` in turn,
 * wrapping around, so successive rounds see different questions.
 */
export function questionsFor<T>(tasks: readonly T[], index: number, count: number): T[] {
  if (tasks.length === 0) return [];
  const start = ((index - 1) * count) % tasks.length;
  return Array.from({ length: Math.min(count, tasks.length) }, (_, i) => tasks[(start + i) % tasks.length]!);
}

/**
 * Each episode as the planner's token row (mask 1 on its own tokens). A row longer
 * than the model's context (less `reserve` tokens) keeps its last tokens, as
 * generation keeps a prompt's end.
 */
export function trainingRows(episodes: readonly Trajectory[], template: PromptTemplate, planner: Planner, reserve = 0): TokenSequence[] {
  const limit = planner.model.config.contextLength - reserve;
  return episodes.map((episode) => {
    const { ids, mask } = episodeTokens(episode, template, planner.tokenizer);
    return { ids: ids.slice(-limit), mask: mask.slice(-limit) };
  });
}

/** What every trainer logs about its episodes: success (EM) rate, invalid actions per step, steps per episode. */
export function episodeMetrics(episodes: readonly Trajectory[]): { success: number; invalidRate: number; episodeSteps: number } {
  const steps = sum(episodes.map((e) => e.metrics.steps));
  return {
    success: mean(episodes.map((e) => e.metrics.em)),
    invalidRate: sum(episodes.map((e) => e.metrics.invalid)) / Math.max(1, steps),
    episodeSteps: steps / Math.max(1, episodes.length),
  };
}

/** The first episode of each distinct sequence of actions (a duplicate teaches nothing new). */
export function distinctByActions(episodes: readonly Trajectory[]): Trajectory[] {
  const seen = new Set<string>();
  return episodes.filter((episode) => {
    const actions = episode.steps.map((step) => step.action).join("\n");
    if (seen.has(actions)) return false;
    seen.add(actions);
    return true;
  });
}

