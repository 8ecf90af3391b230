import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { promptDigest, PromptTemplateOption, type PromptTemplate } from "../../prompts/index.ts";
import type { EnvironmentFactory, Task } from "../../tools/environment.ts";
import { episodeKey, groupBy, readTrajectoriesIfAny, summarize, trajectoryKey, TrajectoryWriter, type Summary, type RunMeta, type Trajectory } from "../../trajectories/index.ts";
import { EnvironmentFactoryOption, episodeSettings, PolicyOption, promptOf, runEpisode, TasksOption } from "./episode.ts";
import type { Policy } from "./policy.ts";
import { PolicyError, UserError } from "../errors.ts";
import { claimFolder, writeFileAtomic } from "../files.ts";
import { changedSettings } from "../settings.ts";
import { functionOption, otherOptions, parseOptions, RUN_FOLDER_OPTIONS } from "../options.ts";

/** The numbers a script passes runBenchmark, checked as the CLI checks its flags. */
const BenchmarkSizes = z.object({
  /** Episodes in flight at once (default 1). */
  concurrency: z.number().int().min(1).optional(),
  /** Episodes per task (default 1): several samples of one question, for trial-and-error data. */
  samples: z.number().int().min(1).default(1),
  /** Steps before an episode is cut off as halted; default `DEFAULT_MAX_STEPS`. */
  maxSteps: z.number().int().min(1).optional(),
  /** How many exemplars `prompt` recalls per question from an episodic memory, recorded with every episode (default 0). */
  recall: z.number().int().min(0).optional(),
});

export interface BenchmarkOptions<T extends Task> extends z.input<typeof BenchmarkSizes> {
  tasks: readonly T[];
  /** Any policy that can act on these tasks (one of any Task acts on all): `T` is read from the tasks. */
  policy: Policy<NoInfer<T>>;
  /** A fresh environment for each episode: environments hold per-episode state. */
  environment: EnvironmentFactory<T>;
  /** Output folder: `trajectories.jsonl` (appended, resumable) and `summary.json`. */
  out: string;
  /** The run's prompt, recorded (as its digest) with every episode, so that a rerun with another is refused; default the policy's own (`promptOf`), unless `prompt` is given. */
  template?: PromptTemplate;
  /** A task's own prompt built on `template` (dynamic few-shot: exemplars recalled per question); default `template`. */
  prompt?: (task: T) => Promise<PromptTemplate> | PromptTemplate;
  /** A task's type (a question family): when given, the summary also breaks down by it. */
  typeOf?: (task: T) => string;
  dataset?: string;
  signal?: AbortSignal;
  onProgress?: (progress: BenchmarkProgress) => void;
  /**
   * Each new episode once it is logged, awaited before its lane starts another:
   * with concurrency 1, every episode is seen before the next task begins (to
   * remember it, say). Episodes resumed from the log are not passed.
   */
  onEpisode?: (trajectory: Trajectory) => Promise<void> | void;
}

export interface BenchmarkProgress {
  done: number;
  total: number;
  /** Episodes found already finished in the output folder when the run started. */
  resumed: number;
  em: number;
}

/** An episode the policy's backend failed (a PolicyError): not logged, so a rerun tries it again. */
export interface FailedEpisode {
  id: string;
  sample: number;
  error: string;
}

export interface BenchmarkResult {
  summary: Summary & { wallMs: number; byType?: Record<string, Summary>; failed?: FailedEpisode[] };
  resumed: number;
  /** True when the run stopped early on its signal; what finished is on disk. */
  interrupted: boolean;
  /** Episodes whose policy failed (also in summary.json when any): a rerun retries them. */
  failed: FailedEpisode[];
}

/** What to tell the user about a run's failed episodes, in one line. */
export function failedEpisodesMessage(failed: readonly FailedEpisode[], total: number): string {
  return `${failed.length} of ${total} episodes failed, the last because: ${failed.at(-1)?.error} Rerun the same command to retry them.`;
}

/**
 * The episodes a run's policy failed. One failure is bad luck, but `limit` in a
 * row with none finished between (at least a whole round of lanes) is a broken
 * server: that stops the run.
 */
class FailureLog {
  readonly failed: FailedEpisode[] = [];
  private inARow = 0;

  constructor(
    private readonly limit: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Records a PolicyError, or rethrows: other errors, and any error once the run is aborted, are not the episode's. */
  record(error: unknown, id: string, sample: number): undefined {
    if (!(error instanceof PolicyError) || this.signal?.aborted) throw error;
    this.failed.push({ id, sample, error: error.message });
    if (++this.inARow >= this.limit) {
      throw new UserError(`${this.inARow} episodes in a row failed, so the run stopped (rerun to resume): ${error.message}`, { cause: error });
    }
  }

  finishedOne(): void {
    this.inARow = 0;
  }
}

/** The weights that made each episode logged in a run's folder (`out`), as the episodes record them. */
export async function madeBy(out: string): Promise<(string | undefined)[]> {
  const { trajectories } = await readTrajectoriesIfAny(join(out, "trajectories.jsonl"));
  return trajectories.map((t) => t.meta.weightsDigest);
}

/** Removes `dir` unless `weightsDigest`'s weights made all it holds (`made`: each episode's, a run's start); whether it did. */
export async function forgetOtherWeights(dir: string, made: readonly (string | undefined)[], weightsDigest: string | undefined): Promise<boolean> {
  if (made.every((digest) => digest === weightsDigest)) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}

/** The other options, checked where a slip would fail late (any other key is refused as a likely slip). */
const BENCHMARK_OPTIONS = otherOptions<Omit<BenchmarkOptions<Task>, keyof typeof BenchmarkSizes.shape>>({
  tasks: TasksOption,
  policy: PolicyOption,
  environment: EnvironmentFactoryOption,
  ...RUN_FOLDER_OPTIONS,
  template: PromptTemplateOption.optional(),
  prompt: functionOption("a function from a task to its prompt").optional(),
  typeOf: functionOption("a function from a task to its type").optional(),
  dataset: z.string().optional(),
  onEpisode: functionOption("a function").optional(),
});

/**
 * Runs every task `samples` times, `concurrency` episodes at a time. Each finished
 * episode is appended at once, so a killed run resumes where it stopped with no duplicates.
 * An episode whose policy fails with a PolicyError is recorded as failed and the
 * run goes on, unless episodes keep failing: then it stops with a UserError.
 */
export async function runBenchmark<T extends Task>(options: BenchmarkOptions<T>): Promise<BenchmarkResult> {
  const { samples } = parseOptions("runBenchmark", BenchmarkSizes, options, BENCHMARK_OPTIONS);
  const claim = await claimFolder(options.out);
  try {
    return await benchmark(options, samples);
  } finally {
    await claim.release();
  }
}

/** runBenchmark, once its folder is this process's. */
async function benchmark<T extends Task>(options: BenchmarkOptions<T>, samples: number): Promise<BenchmarkResult> {
  const started = Date.now();
  const logPath = join(options.out, "trajectories.jsonl");
  const episodes = options.tasks.flatMap((task) => Array.from({ length: samples }, (_, sample) => ({ task, sample })));
  const wanted = new Map(episodes.map((e) => [episodeKey(e.task.id, e.sample), e.task.question]));
  const previous = (await readTrajectoriesIfAny(logPath)).trajectories;
  refuseOthers(options.out, previous, wanted);
  // A task's own prompt (`options.prompt`) is no one template: none is recorded then
  const template = options.template ?? (options.prompt ? undefined : await promptOf(options.policy));
  const runFacts = { dataset: options.dataset, prompt: template && promptDigest(template), recall: options.recall ?? 0 };
  refuseOtherSettings(options.out, previous, { ...episodeSettings(options.policy, options.maxSteps), ...runFacts });
  const finished = new Map(previous.map((t) => [trajectoryKey(t), t]));
  const pending = episodes.filter((e) => !finished.has(episodeKey(e.task.id, e.sample)));
  const writer = await TrajectoryWriter.open(logPath);
  const resumed = finished.size;
  let emSum = previous.reduce((sum, t) => sum + t.metrics.em, 0);
  const report = () =>
    options.onProgress?.({ done: finished.size, total: wanted.size, resumed, em: finished.size ? emSum / finished.size : 0 });
  report();
  const concurrency = options.concurrency ?? 1;
  const failures = new FailureLog(Math.max(3, concurrency), options.signal);

  await forEachConcurrently(pending, concurrency, options.signal, async ({ task, sample }) => {
    const episode = await runEpisode(options.policy, options.environment(task), {
      task,
      maxSteps: options.maxSteps,
      prompt: options.prompt ? await options.prompt(task) : template,
      meta: runFacts,
      signal: options.signal,
    }).catch((error: unknown) => failures.record(error, task.id, sample));
    if (episode === undefined) return;
    failures.finishedOne();
    const trajectory = options.samples === undefined ? episode : { ...episode, sample };
    await writer.append(trajectory);
    finished.set(trajectoryKey(trajectory), trajectory);
    emSum += trajectory.metrics.em;
    await options.onEpisode?.(trajectory);
    report();
  });
  await writer.flush();

  const summary = {
    ...summarize(inTaskOrder(options.tasks, finished, samples)),
    wallMs: Date.now() - started,
    ...(options.typeOf && { byType: summariesByType(options.tasks, finished, samples, options.typeOf) }),
    ...(failures.failed.length > 0 && { failed: failures.failed }),
  };
  await writeFileAtomic(join(options.out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  return { summary, resumed, interrupted: finished.size + failures.failed.length < wanted.size, failed: failures.failed };
}

/**
 * Refuses a log holding episodes this run does not ask for (another dataset, more questions
 * or samples): summary.json covers the run's episodes, so it would disagree with the log.
 * A rerun may ask for more than the log holds (it resumes), never for less. An episode
 * whose id the run asks for with another question (ids repeat across hopworld's worlds,
 * arithmetic's seeds, a dataset's files) is another question's.
 */
function refuseOthers(out: string, logged: readonly Trajectory[], wanted: ReadonlyMap<string, string>): void {
  const renamed = logged.find((t) => wanted.has(trajectoryKey(t)) && wanted.get(trajectoryKey(t)) !== t.question);
  if (renamed) {
    throw new UserError(`${out} holds an episode of id ${renamed.id} asking another question ("${renamed.question}"): another world, seed or file? choose another output folder`);
  }
  const others = logged.filter((t) => !wanted.has(trajectoryKey(t)));
  if (others.length === 0) return;
  throw new UserError(
    `${out} holds ${others.length} episode${others.length === 1 ? "" : "s"} of questions or samples this run does not ask for (${others[0]!.id} first): ` +
      `its summary would disagree with its log; choose another output folder, or ask for all the questions it holds`,
  );
}

/** Settings older logs do not record: an episode without them passes on the rest. */
const UNRECORDED_IN_OLDER_LOGS = ["weightsDigest", "dataset", "maxSteps", "prompt", "recall"] as const;

/**
 * Refuses a log holding episodes made with other settings than this run's (another policy,
 * model or its weights, temperature, seed, step limit, dataset, prompt or recalled exemplars): resuming would pass them off as its own.
 */
function refuseOtherSettings(out: string, logged: readonly Trajectory[], settings: Partial<RunMeta>): void {
  for (const { meta } of logged) {
    const recorded = Object.fromEntries(Object.keys(settings).map((key) => [key, meta[key as keyof RunMeta]]));
    if (meta.policy === "local" && isOlderCheckpointName(meta.model, settings.model)) recorded.model = settings.model;
    // A checkpoint moved (a run folder, with the log) made the same episodes: its weights say so
    const [changed] = changedSettings(recorded, settings, { olderMayLack: UNRECORDED_IN_OLDER_LOGS, identifiedBy: { model: "weightsDigest" } });
    if (changed !== undefined) {
      throw new UserError(`${out} holds episodes made with other settings (${changed}): choose another output folder, or rerun with their settings to resume them`);
    }
  }
}

/** An embedded planner's model as older logs recorded it: the checkpoint folder's last name, which `wanted` ends in. */
function isOlderCheckpointName(recorded: string | undefined, wanted: string | undefined): boolean {
  return recorded !== undefined && wanted !== undefined && !/[\\/]/.test(recorded) && basename(wanted) === recorded;
}

/** The finished episodes of these tasks, in task order, samples in order. */
function inTaskOrder<T extends Task>(tasks: readonly T[], finished: Map<string, Trajectory>, samples: number): Trajectory[] {
  return tasks.flatMap((t) => Array.from({ length: samples }, (_, sample) => finished.get(episodeKey(t.id, sample)) ?? []).flat());
}

/** One summary per task type, types in alphabetical order. */
function summariesByType<T extends Task>(
  tasks: readonly T[],
  finished: Map<string, Trajectory>,
  samples: number,
  typeOf: (task: T) => string,
): Record<string, Summary> {
  const groups = groupBy(tasks, typeOf);
  const types = [...groups.keys()].sort();
  return Object.fromEntries(types.map((type) => [type, summarize(inTaskOrder(groups.get(type)!, finished, samples))]));
}

/**
 * Runs `work` over items with at most `limit` in flight. On the first failure or
 * on abort it starts nothing new, lets running work end, then rethrows the failure.
 */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure && !signal?.aborted) {
      const item = items[next++]!;
      await work(item).catch((error: unknown) => {
        // Work cut short by the abort is not a failure: the caller asked for it.
        if (!signal?.aborted) failure ??= { error };
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.error;
}
