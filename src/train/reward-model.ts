/**
 * A reward model: it reads a whole episode and says how likely it is to have
 * succeeded, to rank samples where no gold answer exists, and as an RL reward.
 *
 * It is the planner's own transformer fine-tuned as a verifier: P(success) is the
 * probability it gives a verdict token right after the episode. The verdict token is
 * `bos`, which never follows text in anything the model learnt from, so its logit
 * is free to carry the verdict. Being a language model, the reward model starts from
 * the planner's weights (it already reads the world's pages and the ReAct format)
 * and saves, loads and trains exactly as the planner does.
 *
 * Objectives: `outcome`, binary cross-entropy on success labels; `preference`,
 * Bradley-Terry on success/failure pairs of one question, -log σ(z(chosen) - z(rejected))
 * with z the verdict's log-odds.
 */
import { join } from "node:path";
import type { z } from "zod";
import type { PromptTemplate } from "../../prompts/index.ts";
import { byQuestion, mean, succeeded, successRate, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { loadCheckpoint } from "../lm/index.ts";
import { trainedPrompt, type Planner } from "../planner/index.ts";
import { Random } from "../random.ts";
import { RewardModelSettings } from "./config.ts";
import { parseOptions } from "../options.ts";
import { objectiveStep, rowLogprobsInChunks } from "./data-parallel.ts";
import { preferencePairs } from "./dpo.ts";
import type { Objective } from "./objectives.ts";
import type { EpisodeScorer } from "./policy-gradient.ts";
import { trainingRows } from "./rollouts.ts";
import { minibatchPlan, refuseOtherPrompt, TrainingRun, EPISODE_OPTIONS, type EpisodeTrainingOptions, type TrainingProgress, type TrainingResult } from "./runs.ts";
import { tokenBatch } from "./supervised.ts";
import { writeFileAtomic } from "../files.ts";

/** A trained reward model: scores episodes with P(success), no gold answer needed. */
export class RewardModel implements EpisodeScorer {
  constructor(
    readonly planner: Planner,
    private readonly template: PromptTemplate,
  ) {}

  get source(): string {
    return this.planner.source;
  }

  get weightsDigest(): string | undefined {
    return this.planner.weightsDigest;
  }

  /**
   * A reward model checkpoint, as `trainRewardModel` saves it. It reads episodes with the
   * prompt it was trained with, kept in its meta; `template` serves checkpoints from before
   * the prompt was kept.
   */
  static async load(dir: string, template: PromptTemplate): Promise<RewardModel> {
    const { model, tokenizer, meta, weightsDigest } = await loadCheckpoint(dir);
    if (meta.stage !== "rm") throw new UserError(`${dir} is not a reward model (made by react-rl train rm) but a '${String(meta.stage)}' checkpoint`);
    const planner = { model, tokenizer, meta, source: dir, weightsDigest };
    return new RewardModel(planner, trainedPrompt(planner) ?? template);
  }

  /** P(success) of each episode: the probability of the verdict token after it, read on every core (`rowLogprobs`). */
  async score(episodes: readonly Trajectory[], batchSize = 16): Promise<number[]> {
    const withVerdict = trainingRows(episodes, this.template, this.planner, 1).map((r) => [...r.ids, this.planner.tokenizer.bos]);
    return (await rowLogprobsInChunks(this.planner.model, withVerdict, batchSize)).map((logprobs) => Math.exp(logprobs.at(-1)!));
  }
}

/** The reward model starts from the planner's weights; its run folder also holds `evaluation.json`. */
export type RewardModelOptions = z.input<typeof RewardModelSettings> & EpisodeTrainingOptions;

export interface RewardModelEvaluation {
  /** Held-out episodes (of questions never trained on) and how often P(success) > 0.5 called them right. */
  episodes: number;
  questions: number;
  accuracy: number;
  /** Share of held-out episodes that succeeded: the accuracy of always saying "failed" is 1 minus this. */
  successRate: number;
  /** Best-of-n over the held-out questions' episodes, ranked by the reward model alone. */
  bestOfN: BestOfN;
}

export interface BestOfN {
  /** Questions with at least two episodes, and their mean number of episodes. */
  questions: number;
  n: number;
  /** Mean EM of one episode: a single sample. */
  single: number;
  /** EM of the episode the reward model scores highest. */
  best: number;
  /** Share of questions where some episode succeeded: the best any ranking could do. */
  oracle: number;
}

export async function trainRewardModel(options: RewardModelOptions): Promise<TrainingResult & { evaluation?: RewardModelEvaluation }> {
  const o = parseOptions("trainRewardModel", RewardModelSettings, options, EPISODE_OPTIONS);
  const { planner, template } = options;
  refuseOtherPrompt("trainRewardModel", options.episodes, template);
  const { train, heldOut } = splitByQuestion(options.episodes, o.heldOut, o.seed);
  if (train.length === 0) {
    const questions = new Set(heldOut.map((episode) => episode.id)).size;
    throw new UserError(
      questions === 0 ? "trainRewardModel: no episodes to train the reward model on" : `trainRewardModel: the episodes are of ${questions} question${questions === 1 ? "" : "s"}, all held out to measure accuracy (heldOut ${o.heldOut}): give episodes of more questions`,
    );
  }
  const verdict = planner.tokenizer.bos;
  const rows = trainingRows(train, template, planner, 1);
  const labels = train.map((episode) => Number(succeeded(episode)));
  // Pairs index into `train`, so each episode's row serves every pair it is in.
  const index = new Map(train.map((episode, i) => [episode, i]));
  const pairs = o.objective === "preference" ? preferencePairs(train, o.pairsPerQuestion, o.seed).map((p) => [index.get(p.chosen)!, index.get(p.rejected)!] as const) : [];
  if (o.objective === "preference" && pairs.length === 0) throw new UserError("no question has both a successful and a failed episode: no preference pairs");

  const run = await TrainingRun.open(options.out, { method: "rm", start: planner, config: { episodes: options.episodes.length, ...o }, counter: "step", mutable: ["epochs"], template });
  const { optimizer } = run.restore(planner);
  const plan = minibatchPlan(o.objective === "outcome" ? rows.length : pairs.length, o.batchSize, o.epochs, o.seed);
  const { checkpointEvery, signal, onProgress } = options;
  const result = await run.steps(plan, { planner, optimizer, signal, checkpointEvery, onProgress }, async (indices) => {
    // An outcome batch is its episodes; a preference batch is its pairs' chosen episodes, then their rejected ones.
    const picked = o.objective === "outcome" ? indices : [...indices.map((i) => pairs[i]![0]), ...indices.map((i) => pairs[i]![1])];
    const batch = tokenBatch(picked.map((i) => rows[i]!));
    const objective: Objective = o.objective === "outcome" ? { kind: "reward-outcome", batch, verdict, labels: picked.map((i) => labels[i]!) } : { kind: "reward-preference", batch, verdict };
    const trained = await objectiveStep(planner.model, optimizer, objective, o.learningRate, o.clipNorm);
    const { verdict: logp, chosenVerdict, rejectedVerdict } = trained.outputs;
    // Outcome: P(success) > 1/2 calls a success; preference: the chosen episode scores higher.
    const correct =
      o.objective === "outcome" ? mean(picked.map((i, k) => ((logp![k]! > Math.log(0.5) ? 1 : 0) === labels[i] ? 1 : 0))) : mean(indices.map((_, k) => (chosenVerdict![k]! > rejectedVerdict![k]! ? 1 : 0)));
    return { loss: trained.loss, accuracy: correct, gradNorm: trained.gradNorm };
  });
  if (result.interrupted) return result;
  const evaluation = await evaluateRewardModel(new RewardModel(planner, template), heldOut, options.onProgress);
  await writeFileAtomic(join(options.out, "evaluation.json"), `${JSON.stringify(evaluation, null, 2)}\n`);
  return { ...result, evaluation };
}

/** The reward model's accuracy on held-out episodes, and how well it picks the best of each question's samples. */
export async function evaluateRewardModel(model: EpisodeScorer, episodes: readonly Trajectory[], onProgress?: (progress: TrainingProgress) => void): Promise<RewardModelEvaluation> {
  onProgress?.({ phase: "score", index: 1, done: 0, total: episodes.length });
  const scores = await model.score(episodes);
  onProgress?.({ phase: "score", index: 1, done: episodes.length, total: episodes.length });
  const scoreOf = new Map(episodes.map((episode, i) => [episode, scores[i]!]));
  const groups = [...byQuestion(episodes).values()];
  return {
    episodes: episodes.length,
    questions: groups.length,
    accuracy: mean(episodes.map((episode, i) => (scores[i]! > 0.5 === succeeded(episode) ? 1 : 0))),
    successRate: successRate(episodes),
    bestOfN: bestOfN(groups, (episode) => scoreOf.get(episode)!),
  };
}

/** Best-of-n by `score` over groups of one question's episodes (groups of one are skipped). */
export function bestOfN(groups: readonly Trajectory[][], score: (episode: Trajectory) => number): BestOfN {
  const ranked = groups.filter((group) => group.length >= 2);
  const top = (group: Trajectory[]) => group.reduce((best, episode) => (score(episode) > score(best) ? episode : best));
  return {
    questions: ranked.length,
    n: mean(ranked.map((group) => group.length)),
    single: mean(ranked.map((group) => mean(group.map((e) => e.metrics.em)))),
    best: mean(ranked.map((group) => top(group).metrics.em)),
    oracle: mean(ranked.map((group) => (group.some((e) => e.metrics.em > 0) ? 1 : 0))),
  };
}

/** A seeded share of the questions, with all their episodes, held out; the rest to train on. */
export function splitByQuestion(episodes: readonly Trajectory[], share: number, seed: number): { train: Trajectory[]; heldOut: Trajectory[] } {
  const questions = new Random(seed).shuffle([...byQuestion(episodes).keys()]);
  const held = new Set(questions.slice(0, Math.max(1, Math.round(share * questions.length))));
  return {
    train: episodes.filter((e) => !held.has(e.id)),
    heldOut: episodes.filter((e) => held.has(e.id)),
  };
}
