import type { EnvironmentFactory, Task } from "../../tools/environment.ts";
import type { QaTask } from "../../tools/wiki/index.ts";
import type { Trajectory } from "../../trajectories/index.ts";
import { loadPrompt } from "../../prompts/index.ts";
import { runEpisode } from "../agent/episode.ts";
import { renderPrompt } from "../agent/prompt.ts";
import type { Policy } from "../agent/policy.ts";
import type { Split } from "../world/schema.ts";

/**
 * A task set and everything its episodes need: what bench, the trainers, demo
 * and fewshot take, whichever dataset it is, as they take any `Policy`.
 */
export interface Suite<T extends Task = QaTask> {
  /** The dataset's name, logged with each episode: `hotpotqa`, `hopworld`, `arithmetic`. */
  readonly name: string;
  /**
   * What tells this suite apart from others of its name, as checkpoint meta keys: a
   * planner fine-tuned on the suite records them, so training later skips the tasks it saw.
   */
  readonly identity: Readonly<Record<string, number | string>>;
  /** Its name in default run folders: `hopworld-w1` (hopworld's ids repeat across worlds). */
  readonly label: string;
  /** Whether its tasks differ by split; a file's are the same whatever split is asked for. */
  readonly splits: boolean;
  /** A split's tasks, the first `limit` of them (a generated suite makes just that many). */
  tasks(split: Split, limit?: number): T[];
  readonly environment: EnvironmentFactory<T>;
  /** The prompt its episodes run with: a name in prompts/ or a file. */
  readonly prompt: string;
  /** A policy that solves its tasks, whose episodes are demonstrations to fine-tune on. */
  readonly expert?: Policy<T>;
}

/** What `expertEpisodes` calls as each episode ends: the episode, how many are done, and of how many. */
export type OnEpisode = (episode: Trajectory, done: number, total: number) => Promise<void> | void;

/** The expert's episodes on the first `limit` tasks of a split, run as bench runs the suite. */
export async function expertEpisodes<T extends Task>(suite: Suite<T>, split: Split, limit?: number, onEpisode?: OnEpisode): Promise<Trajectory[]> {
  const { expert } = suite;
  if (!expert) throw new Error(`suite ${suite.name} has no expert`);
  const prompt = await loadPrompt(suite.prompt);
  const tasks = suite.tasks(split, limit);
  const episodes: Trajectory[] = [];
  for (const task of tasks) {
    const episode = await runEpisode(expert, suite.environment(task), { task, prompt, meta: { dataset: suite.name } });
    episodes.push(episode);
    await onEpisode?.(episode, episodes.length, tasks.length);
  }
  return episodes;
}

/**
 * The length in characters of each expert episode on a split as a model reads and
 * writes it: the prompt at the last step (instruction, question, steps), then the final
 * thought and action. What a planner's context must hold.
 */
export async function expertEpisodeLengths<T extends Task>(suite: Suite<T>, split: Split): Promise<number[]> {
  const prompt = await loadPrompt(suite.prompt);
  return (await expertEpisodes(suite, split)).map(({ question, steps }) => renderPrompt(prompt, question, steps.slice(0, -1), steps.length).length + steps.at(-1)!.raw.length);
}

/**
 * How many of the suite's training tasks a checkpoint was fine-tuned on (its meta's
 * `examples`): those of the same dataset and identity; a meta without a dataset is hopworld's.
 */
export function demonstratedTasks(meta: Readonly<Record<string, unknown>>, suite: Pick<Suite<Task>, "name" | "identity">): number {
  const { dataset = "hopworld", examples } = meta;
  const same = dataset === suite.name && Object.entries(suite.identity).every(([key, value]) => (meta[key] ?? value) === value);
  return same && typeof examples === "number" ? examples : 0;
}

/** What an episode's log records as its dataset when a run names the split it draws from: `hopworld-train`. */
export function splitDataset(suite: Pick<Suite<Task>, "name">, split: "train" | "test"): string {
  return `${suite.name}-${split}`;
}

/** The suite a recorded dataset names: `hopworld` for `hopworld`, `hopworld-train` or `hopworld-test`. */
export function datasetSuite(dataset: string): string {
  return dataset.replace(/-(train|test)$/, "");
}
