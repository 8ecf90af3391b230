/**
 * Rejection sampling (STaR, ReST-EM, RAFT): sample, keep what earned a reward,
 * fine-tune on it, repeat.
 *
 * One round:
 *   1. sample K episodes of each of Q questions with the current policy;
 *   2. keep the rewarded ones, one per distinct action sequence of a question;
 *   3. optionally rationalise (STaR): retry each unsolved question with its answer
 *      as a hint, keep episodes whose own actions brought the answer back, and train
 *      on them with the hint taken out of the question;
 *   4. fine-tune on the kept episodes (next-token loss on the policy's tokens only);
 *      log the round and checkpoint it.
 */
import { join } from "node:path";
import type { z } from "zod";
import type { Task } from "../../tools/environment.ts";
import { normalizeAnswer } from "../../tools/wiki/index.ts";
import { mean, succeeded, sum, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { RejectionSettings } from "./config.ts";
import { parseOptions } from "../options.ts";
import { distinctByActions, episodeMetrics, questionsFor, roundSeed, sampleRollouts, roundRolloutOptions, trainingRows } from "./rollouts.ts";
import { fineTuneOrUndo, questionsDigest, TrainingRun, SAMPLING_OPTIONS, type MetricsRecord, type SamplingTrainingOptions, type TrainingProgress, type TrainingResult } from "./runs.ts";
import { trainSupervised } from "./supervised.ts";

export interface RejectionOptions<T extends Task> extends z.input<typeof RejectionSettings>, SamplingTrainingOptions<T> {}

export async function rejectionSampling<T extends Task>(options: RejectionOptions<T>): Promise<TrainingResult> {
  const o = parseOptions("rejectionSampling", RejectionSettings, options, SAMPLING_OPTIONS);
  const { planner, template } = options;
  if (options.tasks.length === 0) throw new UserError("no training questions to sample");
  const run = await TrainingRun.open(options.out, { method: "rs", start: planner, config: { trainingQuestions: questionsDigest(options.tasks), ...o }, counter: "round", mutable: ["concurrency", "rounds"], template });
  const { optimizer } = run.restore(planner);

  return run.resume(o.rounds, { planner, optimizer, signal: options.signal }, async (round) => {
    const started = performance.now();
    const seed = roundSeed(o.seed, round);
    const sample = (tasks: readonly T[], out: string, phase: TrainingProgress["phase"]) =>
      sampleRollouts({ ...roundRolloutOptions(options, o, phase, round), tasks, samples: o.samples, seed, out });

    // 1. K episodes of each of this round's questions, with the current policy.
    const tasks = questionsFor(options.tasks, round, o.questions);
    const rollouts = await sample(tasks, run.rolloutDir(round), "sample");
    if (rollouts.interrupted) return undefined;
    let sampleSeconds = (performance.now() - started) / 1000;

    // 2. The rewarded episodes (with no invalid action), one per distinct action sequence of each question.
    const kept = rollouts.groups.map((group) => distinctRewarded(group, o.keepInvalid));

    // 3. Rationalisation: unsolved questions again, the answer given as a hint.
    let rationalized = 0;
    if (o.rationalize) {
      const unsolved = tasks.flatMap((task, i) => (kept[i]!.length === 0 && task.answer ? [{ task, i }] : []));
      const hintedStarted = performance.now();
      const hinted = await sample(unsolved.map(({ task }) => withHint(task)), join(run.rolloutDir(round), "hinted"), "rationalize");
      if (hinted.interrupted) return undefined;
      sampleSeconds += (performance.now() - hintedStarted) / 1000;
      hinted.groups.forEach((group, j) => {
        const { task, i } = unsolved[j]!;
        const own = group.filter((episode) => broughtBack(episode, task.answer!)).map((episode) => ({ ...episode, question: task.question }));
        kept[i] = distinctRewarded(own, o.keepInvalid);
        rationalized += kept[i]!.length;
      });
    }

    // 4. Fine-tune on them: the masked next-token loss, `epochs` passes, constant learning rate.
    const rows = trainingRows(kept.flat(), template, planner);
    const steps = rows.length === 0 ? 0 : o.epochs * Math.ceil(rows.length / o.batchSize);
    const first = optimizer.step;
    const trainStarted = performance.now();
    // Ctrl-C stops it after the step in flight; the rerun fine-tunes again on the logged rollouts
    const trained = await fineTuneOrUndo(planner, options.signal, async () => {
      if (steps === 0) return [];
      const taken = await trainSupervised(planner, rows, {
        steps: first + steps,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        minLearningRate: o.learningRate,
        warmupSteps: 0,
        clipNorm: o.clipNorm,
        seed,
        optimizer,
        signal: options.signal,
        onStep: (m) => options.onProgress?.({ phase: "train", index: round, done: m.step - first, total: steps, status: `loss ${m.loss.toFixed(3)}` }),
      });
      return taken.length === steps ? taken : undefined;
    });
    if (!trained) return undefined;

    const episodes = rollouts.groups.flat();
    const record: MetricsRecord = {
      ...episodeMetrics(episodes),
      solved: mean(rollouts.groups.map((group) => (group.some(succeeded) ? 1 : 0))),
      kept: rows.length,
      rationalized,
      loss: mean(trained.map((m) => m.loss)),
      optimizerSteps: steps,
      // Where the time went: sampling (and rationalising; of a resumed round, only what this process sampled), and the fine-tune with the tokens it read
      sampleSeconds,
      ...(rollouts.resumed > 0 && { resumedEpisodes: rollouts.resumed }),
      trainTokens: sum(trained.map((m) => m.tokens)),
      trainSeconds: (performance.now() - trainStarted) / 1000,
      seconds: (performance.now() - started) / 1000,
    };
    return { record };
  });
}

/**
 * Rewarded episodes, one per distinct sequence of actions. An episode with an invalid
 * action is left out unless `keepInvalid`: fine-tuning on it teaches the invalid action
 * too, and a planner that fails often compounds that round after round.
 */
export function distinctRewarded(episodes: readonly Trajectory[], keepInvalid = false): Trajectory[] {
  return distinctByActions(episodes.filter((episode) => succeeded(episode) && (keepInvalid || episode.metrics.invalid === 0)));
}

/** The task with its answer as a hint at the end of the question. */
export function withHint<T extends Task>(task: T): T {
  return { ...task, question: `${task.question} (Hint: the answer is ${task.answer}.)` };
}

/**
 * Whether an observation the episode's own actions brought back holds the answer (as
 * whole words, after answer normalisation): the episode found it, it did not just
 * copy the hint. Yes/no answers are never found this way, so they are never kept.
 */
export function broughtBack(episode: Trajectory, answer: string): boolean {
  const wanted = normalizeAnswer(answer);
  if (wanted === "") return false;
  return episode.steps.some((step) => ` ${normalizeAnswer(step.observation)} `.includes(` ${wanted} `));
}
