import { join } from "node:path";
import type { PromptTemplate } from "../../prompts/index.ts";
import type { EnvironmentFactory, Task } from "../../tools/environment.ts";
import { exemplarText, readTrajectoriesIfAny, succeeded, type Trajectory } from "../../trajectories/index.ts";
import type { Policy } from "../agent/policy.ts";
import { failedEpisodesMessage, runBenchmark, type BenchmarkProgress } from "../agent/index.ts";
import { UserError } from "../errors.ts";
import { Random } from "../random.ts";
import { writeFileAtomic } from "../files.ts";

export interface BootstrapOptions<T extends Task> {
  policy: Policy<T>;
  /** A fresh environment for each episode. */
  environment: EnvironmentFactory<T>;
  /** Questions whose rewarded episodes become the exemplars to choose from. */
  train: readonly T[];
  /** Questions every candidate prompt is scored on; keep them apart from `train`. */
  dev: readonly T[];
  /** The prompt to start from: its instruction is kept, and its own exemplars are the first candidate. */
  base: PromptTemplate;
  /** Exemplars per candidate (default 3; fewer when fewer episodes succeeded). */
  k?: number;
  /** Random exemplar sets to try besides the base prompt's own (default 8). */
  candidates?: number;
  seed?: number;
  /** Working folder: the runs `train/` and `candidate-i/` (each resumable) and `bootstrap.json`. */
  out: string;
  concurrency?: number;
  maxSteps?: number;
  dataset?: string;
  signal?: AbortSignal;
  /** Progress of each run, named as its folder: `train`, then `candidate-0`, `candidate-1`, ... */
  onProgress?: (run: string, progress: BenchmarkProgress) => void;
}

export interface CandidateScore {
  /** The training questions whose episodes are this candidate's exemplars; null for the base prompt's own. */
  exemplarIds: string[] | null;
  /** Mean reward over the dev questions. */
  score: number;
  em: number;
}

export interface BootstrapResult {
  /** The base instruction with the exemplars that scored best on dev. */
  template: PromptTemplate;
  /** Index of the winner in `candidates`; the first of equal scores wins, so the base prompt wins ties. */
  best: number;
  candidates: CandidateScore[];
  /** Rewarded training episodes, with no invalid action, that the sets were drawn from. */
  pool: number;
  /** True when stopped by the signal before the end: rerun with the same options to resume. */
  interrupted: boolean;
}

/**
 * DSPy's BootstrapFewShot with random search, for an agent: run the policy on
 * the training questions, keep its rewarded episodes as exemplars, score random
 * sets of `k` of them (and the base prompt's own) on the dev questions, and
 * return the best. Works with any policy: only its prompt changes.
 */
export async function bootstrapFewShot<T extends Task>(options: BootstrapOptions<T>): Promise<BootstrapResult> {
  const { k = 3, candidates: count = 8, seed = 0 } = options;
  const run = async (name: string, tasks: readonly T[], template: PromptTemplate) => {
    const result = await runBenchmark({
      tasks,
      policy: options.policy,
      environment: options.environment,
      out: join(options.out, name),
      concurrency: options.concurrency,
      maxSteps: options.maxSteps,
      template,
      dataset: options.dataset,
      signal: options.signal,
      onProgress: (progress) => options.onProgress?.(name, progress),
    });
    // Scores over fewer questions than the other candidates' would not compare: stop, and let the rerun retry them.
    if (result.failed.length > 0) throw new UserError(failedEpisodesMessage(result.failed, tasks.length));
    return result;
  };

  const collected = await run("train", options.train, options.base);
  const pool = await exemplarPool(join(options.out, "train"), options.train);
  const sets = drawSets(pool.length, Math.min(k, pool.length), count, new Random(seed));
  const templates: { exemplarIds: string[] | null; template: PromptTemplate }[] = [
    { exemplarIds: null, template: options.base },
    ...sets.map((set) => ({
      exemplarIds: set.map((i) => pool[i]!.id),
      template: { instruction: options.base.instruction, exemplars: set.map((i) => exemplarText(pool[i]!)) },
    })),
  ];

  const scores: CandidateScore[] = [];
  let interrupted = collected.interrupted;
  for (const [i, candidate] of templates.entries()) {
    if (interrupted) break;
    const result = await run(`candidate-${i}`, options.dev, candidate.template);
    // A candidate cut short has no score yet; the rerun that resumes it will.
    interrupted = result.interrupted;
    if (!interrupted) scores.push({ exemplarIds: candidate.exemplarIds, score: result.summary.reward, em: result.summary.em });
  }
  const best = scores.reduce((top, s, i) => (s.score > scores[top]!.score ? i : top), 0);
  const report = { seed, k, pool: pool.length, best, candidates: scores, interrupted };
  await writeFileAtomic(join(options.out, "bootstrap.json"), `${JSON.stringify(report, null, 2)}\n`);
  return { template: templates[best]!.template, best, candidates: scores, pool: pool.length, interrupted };
}

/** The training run's rewarded, fully valid episodes, in task order. */
async function exemplarPool<T extends Task>(dir: string, tasks: readonly T[]): Promise<Trajectory[]> {
  const byId = new Map((await readTrajectoriesIfAny(join(dir, "trajectories.jsonl"))).trajectories.map((t) => [t.id, t]));
  return tasks.flatMap((task) => {
    const trajectory = byId.get(task.id);
    return trajectory && succeeded(trajectory) && trajectory.metrics.invalid === 0 ? [trajectory] : [];
  });
}

/** Up to `count` distinct sets of `k` indices below `size`, each in ascending order. */
function drawSets(size: number, k: number, count: number, random: Random): number[][] {
  if (k === 0) return [];
  const indices = Array.from({ length: size }, (_, i) => i);
  const sets = new Map<string, number[]>();
  // Few successes can allow fewer distinct sets than asked for; give up after a fair number of draws.
  for (let draw = 0; sets.size < count && draw < count * 20; draw++) {
    const set = random.shuffle(indices).slice(0, k).sort((a, b) => a - b);
    sets.set(set.join(","), set);
  }
  return [...sets.values()];
}
