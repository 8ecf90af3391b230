/**
 * Policy gradient with group-relative advantages (GRPO / RLOO) and a KL penalty to a
 * frozen reference policy whose coefficient adapts to hold a target KL; optionally
 * several PPO-clipped passes over each update's rollouts.
 *
 * One update:
 *   1. sample G episodes of each of Q questions with the current policy;
 *   2. reward each (EM, F1 or the reward model, minus a penalty per invalid action)
 *      and turn a group's rewards into advantages (no value network); episodes with
 *      advantage 0 teach nothing and are left out (DAPO's dynamic sampling, cheaply);
 *   3. minimise, over the policy's own tokens only,
 *        -min(ρ·A, clip(ρ, 1-ε, 1+ε)·A) + β · k3(π, π_ref),   ρ = π / π_old;
 *   4. move β toward the KL target; log the update and checkpoint it.
 */
import { setImmediate } from "node:timers/promises";
import type { z } from "zod";
import type { Task } from "../../tools/environment.ts";
import { mean, sum, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { checkpointName } from "../planner/index.ts";
import { PolicyGradientSettings } from "./config.ts";
import { otherOptions, parseOptions } from "../options.ts";
import { objectiveStep, rowLogprobs } from "./data-parallel.ts";
import { adaptKlCoefficient, groupAdvantages, perTarget } from "./losses.ts";
import { joined, splitRows, type LossTerms } from "./objectives.ts";
import { episodeMetrics, questionsFor, roundSeed, sampleRollouts, roundRolloutOptions, trainingRows } from "./rollouts.ts";
import { tokenBatch } from "./supervised.ts";
import { disposeWeights, fineTuneOrUndo, frozenCopy, minibatchPlan, questionsDigest, TrainingRun, SAMPLING_OPTIONS, type MetricsRecord, type SamplingTrainingOptions, type TrainingResult } from "./runs.ts";

/** Anything that scores episodes in [0, 1] without a gold answer: a reward model. */
export interface EpisodeScorer {
  /** Where its weights come from and their digest (a reward model's checkpoint), which a run's config.json keeps. */
  readonly source?: string;
  readonly weightsDigest?: string;
  score(episodes: readonly Trajectory[]): Promise<number[]>;
}

/** What config.json keeps of the reward model, when the reward is its score: another one, or one retrained in place, is another run. */
function scorerOf(reward: PolicyGradientSettings["reward"], scorer: EpisodeScorer | undefined): Record<string, unknown> {
  return reward === "rm" ? { rewardModel: scorer?.source && checkpointName(scorer.source), rewardModelDigest: scorer?.weightsDigest } : {};
}

/** The planner, as it is at the start, is also the frozen reference of the KL penalty. */
export interface PolicyGradientOptions<T extends Task> extends z.input<typeof PolicyGradientSettings>, SamplingTrainingOptions<T> {
  /** The reward for `reward: "rm"`. */
  rewardModel?: EpisodeScorer;
}

/** The options policyGradient takes besides its settings. */
const POLICY_GRADIENT_OPTIONS = { ...SAMPLING_OPTIONS, ...otherOptions<Pick<PolicyGradientOptions<Task>, "rewardModel">>({ rewardModel: true }) };

/** What one optimizer step's loss also measured, averaged over the policy's tokens. */
interface StepStats {
  loss: number;
  kl: number;
  /** Sampled estimate: the mean of -log π over the sampled tokens (exact in expectation at temperature 1). */
  entropy: number;
  clipFraction: number;
  gradNorm: number;
  /** Tokens the step read. */
  tokens: number;
}

export async function policyGradient<T extends Task>(options: PolicyGradientOptions<T>): Promise<TrainingResult> {
  const o = parseOptions("policyGradient", PolicyGradientSettings, options, POLICY_GRADIENT_OPTIONS);
  const { planner, template } = options;
  if (o.reward === "rm" && !options.rewardModel) throw new UserError("reward rm needs a reward model");
  if (options.tasks.length === 0) throw new UserError("no training questions to sample");
  const reference = frozenCopy(planner.model); // π_ref: the policy before any update (a resumed run's weights come next)
  try {
    const run = await TrainingRun.open(options.out, { method: "rl", start: planner, config: { trainingQuestions: questionsDigest(options.tasks), ...o, ...scorerOf(o.reward, options.rewardModel) }, counter: "update", mutable: ["concurrency", "updates"], template });
    const { optimizer, state } = run.restore(planner);
    let klCoefficient = typeof state.klCoefficient === "number" ? state.klCoefficient : o.klCoefficient;

    return await run.resume(o.updates, { planner, optimizer, signal: options.signal }, async (update) => {
      const started = performance.now();
      const seed = roundSeed(o.seed, update);
      // 1. Rollouts: G episodes of each of this update's questions, with the current policy.
      const tasks = questionsFor(options.tasks, update, o.questions);
      const rollouts = await sampleRollouts({ ...roundRolloutOptions(options, o, "sample", update), tasks, samples: o.groupSize, seed, out: run.rolloutDir(update) });
      if (rollouts.interrupted) return undefined;
      const sampleSeconds = (performance.now() - started) / 1000;
      const episodes = rollouts.groups.flat();

      // 2. Rewards, and advantages relative to each question's group.
      const scored = o.reward === "rm" ? await options.rewardModel!.score(episodes) : episodes.map((e) => (o.reward === "f1" ? e.metrics.f1 : e.metrics.em));
      const rewards = scored.map((score, i) => score - o.invalidPenalty * episodes[i]!.metrics.invalid);
      let at = 0;
      const allAdvantages = rollouts.groups.flatMap((group) => groupAdvantages(rewards.slice(at, (at += group.length)), o.advantage));
      // An episode with advantage 0 (all of a group of equal rewards) would feel only the KL term: left out unless asked.
      const trained = episodes.flatMap((_, i) => (allAdvantages[i] === 0 && !o.keepZeroAdvantage ? [] : [i]));
      const advantages = trained.map((i) => allAdvantages[i]!);
      const rows = trainingRows(trained.map((i) => episodes[i]!), template, planner);

      // 3. Optimise on the policy's tokens: ppoEpochs passes in shuffled minibatches.
      const refLogprobs = new Map<number, Float32Array>(); // log π_ref per row, computed once
      const oldLogprobs = new Map<number, Float32Array>(); // log π_old per row: the policy just before the row's first step
      const steps: StepStats[] = [];
      const trainStarted = performance.now();
      const plan = minibatchPlan(rows.length, o.minibatch, o.ppoEpochs, seed);
      // Ctrl-C stops it after the step in flight; the rerun optimises again on the logged rollouts
      const optimised = await fineTuneOrUndo(planner, options.signal, async () => {
        for (const { epoch, indices } of plan) {
          await setImmediate(); // let a Ctrl-C in: a step on the main thread never yields otherwise
          if (options.signal?.aborted) return undefined;
          const batch = tokenBatch(indices.map((i) => rows[i]!));
          if (epoch === 0) (await rowLogprobs(reference, batch.ids)).forEach((lp, k) => refLogprobs.set(indices[k]!, lp));
          const terms: LossTerms = {
            advantages: perTarget(batch, indices.map((i) => advantages[i]!)),
            refLogprobs: joined(indices.map((i) => refLogprobs.get(i)!)),
            oldLogprobs: epoch === 0 ? undefined : joined(indices.map((i) => oldLogprobs.get(i)!)),
            klCoefficient,
            clipRatio: o.clipRatio,
          };
          const step = await objectiveStep(planner.model, optimizer, { kind: "policy-gradient", batch, terms }, o.learningRate, o.clipNorm);
          const { kl, entropy, clipFraction, logprobs } = step.outputs as Record<string, Float32Array>;
          if (epoch === 0) splitRows(logprobs, batch.ids).forEach((lp, k) => oldLogprobs.set(indices[k]!, lp));
          steps.push({ loss: step.loss, kl: kl[0]!, entropy: entropy[0]!, clipFraction: clipFraction[0]!, gradNorm: step.gradNorm, tokens: step.tokens });
          options.onProgress?.({ phase: "train", index: update, done: steps.length, total: plan.length, status: `loss ${step.loss.toFixed(3)}` });
        }
        return steps;
      });
      if (!optimised) return undefined;

      const trainSeconds = (performance.now() - trainStarted) / 1000;

      // 4. The KL measured in the first pass (from the policy that sampled, as it starts to move) steers the coefficient.
      const firstPass = steps.filter((_, k) => plan[k]!.epoch === 0);
      const kl = mean(firstPass.map((s) => s.kl));
      const record: MetricsRecord = {
        reward: mean(rewards),
        ...episodeMetrics(episodes),
        trainedEpisodes: rows.length,
        klCoefficient,
        // Figures of the optimisation, when there was any
        ...(steps.length > 0 && {
          kl,
          entropy: mean(firstPass.map((s) => s.entropy)),
          clipFraction: mean(steps.map((s) => s.clipFraction)),
          loss: mean(steps.map((s) => s.loss)),
          gradNorm: mean(steps.map((s) => s.gradNorm)),
        }),
        // Where the time went: sampling, and the optimisation (reference log-probabilities included) with the tokens its steps read
        sampleSeconds,
        ...(rollouts.resumed > 0 && { resumedEpisodes: rollouts.resumed }),
        trainTokens: sum(steps.map((s) => s.tokens)),
        trainSeconds,
        seconds: (performance.now() - started) / 1000,
      };
      if (o.klTarget > 0 && steps.length > 0) klCoefficient = adaptKlCoefficient(klCoefficient, kl, rows.length, { target: o.klTarget, horizon: o.klHorizon });
      return { record, state: { klCoefficient } };
    });
  } finally {
    disposeWeights(reference);
  }
}
