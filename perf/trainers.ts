/**
 * The trial-and-error trainers compared, on the toy task of the tests
 * (test/helpers/toy-task.ts: answer `Finish[<word>]` to "Say <word>."), because
 * the hopworld base planner earns no reward to learn from yet (BENCHMARKS.md).
 * Training questions are the "Say <word>." phrasings; held out are the
 * "Please say <word>." ones, which no trainer samples.
 *
 * 1. Same rollout budget: rejection sampling alone, policy gradient alone (with
 *    its KL control), and rejection sampling then policy gradient (budget split
 *    in half). Held-out success before and after, KL to the starting planner,
 *    rollouts, optimizer steps, training wall time.
 * 2. Best-of-n without gold answers: a reward model trained on the starting
 *    planner's logged episodes (outcome labels) ranks n fresh samples of
 *    questions it never saw labels for, against one sample and the gold ranking.
 *
 *   npm run bench:trainers [-- --seeds 0,1,2 --budget 256 --out DIR]
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { mean, type Trajectory } from "../trajectories/index.ts";
import type { Task } from "../tools/environment.ts";
import { ProgressBar } from "../src/cli/progress.ts";
import { selectBackend } from "../src/lm/index.ts";
import { markdownTable } from "../src/report/table.ts";
import type { Planner } from "../src/planner/index.ts";
import {
  bestOfN,
  klToReference,
  policyGradient,
  rejectionSampling,
  RewardModel,
  sampleRollouts,
  trainRewardModel,
  type BestOfN,
  type MetricsRecord,
  type TrainingProgress,
} from "../src/train/index.ts";
import { splitByQuestion } from "../src/train/reward-model.ts";
import { disposeWeights, frozenCopy } from "../src/train/runs.ts";
import { TOY_ROLLOUTS, TOY_TASKS, TOY_TEMPLATE, toyPlanner } from "../test/helpers/toy-task.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "0,1,2" },
    budget: { type: "string", default: "256" },
    out: { type: "string" },
  },
});
const flags = z
  .object({
    seeds: z
      .string()
      .transform((list) => list.split(",").map(Number))
      .pipe(z.array(z.number().int().min(0)).min(1)),
    budget: z.coerce.number().int().positive(),
    out: z.string().optional(),
  })
  .parse(values);

const TRAIN_TASKS = TOY_TASKS.filter((task) => task.id.endsWith("a")); // "Say <word>."
const HELD_OUT_TASKS = TOY_TASKS.filter((task) => task.id.endsWith("b")); // "Please say <word>."
/** Rollouts per question per round or update (K for rejection sampling, G for policy gradient). */
const SAMPLES = 8;
const ROLLOUTS_PER_ROUND = TRAIN_TASKS.length * SAMPLES;
/** Samples of each held-out question at temperature 1: success is the share that answer right. */
const EVAL_SAMPLES = 64;
/** Logged episodes of each toy question, to train the reward model on (and measure it on its held-out share). */
const LOGGED_SAMPLES = 16;
/** Fresh samples of each reward-model held-out question, cut into best-of-n groups. */
const RANKED_SAMPLES = 64;
const BEST_OF = [4, 8];

const toy = TOY_ROLLOUTS;
// The settings the tests use on this task (test/train-loop.test.ts), so each method runs as tuned there;
// per round, rejection sampling keeps at most one episode per question (4 rows, one batch) and makes
// `epochs` steps, policy gradient `ppoEpochs` passes in minibatches of 16: at most 4 steps either way.
const REJECTION = { epochs: 4, batchSize: 8, learningRate: 1e-2 };
const POLICY_GRADIENT = { ppoEpochs: 2, minibatch: 16, learningRate: 3e-3 };

interface Arm {
  name: string;
  rounds: number;
  updates: number;
}

interface ArmResult {
  arm: string;
  seed: number;
  rollouts: number;
  optimizerSteps: number;
  /** Success of the last round's (or update's) samples, on the training questions, as the trainer logged it. */
  lastRoundSuccess: number;
  before: number;
  after: number;
  klToStart: number;
  trainSeconds: number;
}

interface RankingResult {
  seed: number;
  heldOutQuestions: string[];
  /** The reward model's held-out accuracy (P(success) > 0.5 against the outcome), and what "always failed" scores. */
  accuracy: number;
  alwaysFailedAccuracy: number;
  bestOf: (BestOfN & { groups: number })[];
}

const rounds = Math.floor(flags.budget / ROLLOUTS_PER_ROUND);
if (rounds < 2) throw new Error(`--budget must allow two rounds of ${ROLLOUTS_PER_ROUND} rollouts`);
const ARMS: Arm[] = [
  { name: "rejection sampling", rounds, updates: 0 },
  { name: "policy gradient", rounds: 0, updates: rounds },
  { name: "rejection sampling, then policy gradient", rounds: Math.floor(rounds / 2), updates: rounds - Math.floor(rounds / 2) },
];

/** A trainable copy of the starting planner, so arms do not train each other's model. */
const copyOf = (planner: Planner): Planner => ({ ...planner, model: frozenCopy(planner.model) });

/** `samples` episodes of each task at temperature 1, behind a progress bar; one group per task. */
async function sampled(planner: Planner, tasks: readonly Task[], samples: number, seed: number, out: string, label: string): Promise<Trajectory[][]> {
  const bar = new ProgressBar(label);
  const { groups } = await sampleRollouts({
    ...toy,
    planner,
    tasks,
    samples,
    temperature: 1,
    topP: 1,
    seed,
    out,
    concurrency: 64,
    onProgress: (p) => bar.update(p.done, p.total, `EM ${p.em.toFixed(3)}`),
  });
  bar.finish();
  return groups;
}

/** EVAL_SAMPLES episodes of each held-out question: their success is the share that answer right. */
async function heldOutEpisodes(planner: Planner, seed: number, out: string, label: string): Promise<Trajectory[]> {
  return (await sampled(planner, HELD_OUT_TASKS, EVAL_SAMPLES, seed, out, label)).flat();
}

const success = (episodes: readonly Trajectory[]) => mean(episodes.map((e) => e.metrics.em));

/** Trains a copy of `base` as `arm` says, then measures it on the held-out questions. */
async function runArm(arm: Arm, base: Planner, seed: number, before: number, out: string): Promise<ArmResult> {
  const planner = copyOf(base);
  const rollouts = (arm.rounds + arm.updates) * ROLLOUTS_PER_ROUND;
  const bar = new ProgressBar(`${arm.name}, seed ${seed}`);
  let optimizerSteps = 0;
  // One bar over the whole budget; both trainers report each optimizer step as a "train" progress.
  const progress = (firstRollout: number) => (p: TrainingProgress) => {
    if (p.phase === "train") optimizerSteps++;
    const sampled = firstRollout + (p.index - 1) * ROLLOUTS_PER_ROUND + (p.phase === "sample" ? p.done : ROLLOUTS_PER_ROUND);
    bar.update(sampled, rollouts, `${p.phase} ${p.status ?? ""}`);
  };
  const shared = { ...toy, planner, tasks: TRAIN_TASKS, questions: TRAIN_TASKS.length, seed };
  const started = performance.now();
  const metrics: MetricsRecord[] = [];
  if (arm.rounds > 0) {
    const rs = await rejectionSampling({ ...shared, ...REJECTION, out: join(out, "rs"), rounds: arm.rounds, samples: SAMPLES, onProgress: progress(0) });
    metrics.push(...rs.metrics);
  }
  if (arm.updates > 0) {
    const onProgress = progress(arm.rounds * ROLLOUTS_PER_ROUND);
    const pg = await policyGradient({ ...shared, ...POLICY_GRADIENT, out: join(out, "pg"), updates: arm.updates, groupSize: SAMPLES, onProgress });
    metrics.push(...pg.metrics);
  }
  const trainSeconds = (performance.now() - started) / 1000;
  bar.finish();
  const episodes = await heldOutEpisodes(planner, seed, join(out, "after"), `${arm.name}, seed ${seed}: held out after`);
  const klToStart = await klToReference(planner, base.model, episodes, TOY_TEMPLATE);
  disposeWeights(planner.model);
  const lastRoundSuccess = Number(metrics.at(-1)!.success);
  return { arm: arm.name, seed, rollouts, optimizerSteps, lastRoundSuccess, before, after: success(episodes), klToStart, trainSeconds };
}

/**
 * A reward model from the starting planner's logged episodes of every toy question
 * (half the questions held out by its own seeded split), then best-of-n on fresh
 * samples of those held-out questions, ranked by it and by the gold answer.
 */
async function runRanking(base: Planner, seed: number, out: string): Promise<RankingResult> {
  const episodes = (await sampled(base, TOY_TASKS, LOGGED_SAMPLES, seed, join(out, "logged"), `reward model, seed ${seed}: log episodes`)).flat();
  // Many passes at a high rate: the tiny model learns to compare the answer with the question's word only slowly.
  const settings = { heldOut: 0.5, epochs: 100, batchSize: 8, learningRate: 1e-2, seed };
  const trainBar = new ProgressBar(`reward model, seed ${seed}: train`);
  const rewardPlanner = copyOf(base);
  const { evaluation } = await trainRewardModel({
    ...settings,
    planner: rewardPlanner,
    episodes,
    template: TOY_TEMPLATE,
    out: join(out, "rm"),
    onProgress: (p: TrainingProgress) => (p.phase === "train" ? trainBar.update(p.done, p.total, p.status) : undefined),
  });
  trainBar.finish();
  // The same seeded split the reward model held out: questions whose labels it never saw.
  const heldOutIds = new Set(splitByQuestion(episodes, settings.heldOut, seed).heldOut.map((e) => e.id));
  const heldOutTasks = TOY_TASKS.filter((task) => heldOutIds.has(task.id));
  // Another seed than the logged episodes': fresh draws.
  const fresh = await sampled(base, heldOutTasks, RANKED_SAMPLES, seed + 1, join(out, "fresh"), `reward model, seed ${seed}: fresh samples`);
  const all = fresh.flat();
  const scores = await new RewardModel(rewardPlanner, TOY_TEMPLATE).score(all);
  const scoreOf = new Map(all.map((episode, i) => [episode, scores[i]!]));
  disposeWeights(rewardPlanner.model);
  return {
    seed,
    heldOutQuestions: heldOutTasks.map((task) => task.question),
    accuracy: evaluation!.accuracy,
    alwaysFailedAccuracy: 1 - evaluation!.successRate,
    bestOf: BEST_OF.map((n) => {
      const groups = fresh.flatMap((samples) => chunks(samples, n));
      return { ...bestOfN(groups, (episode) => scoreOf.get(episode)!), groups: groups.length };
    }),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.floor(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/** "mean (min–max)" over seeds, or the one value when every seed gave it. */
function meanRange(xs: readonly number[], digits = 3): string {
  const [low, high] = [Math.min(...xs), Math.max(...xs)];
  return low === high ? low.toFixed(digits) : `${mean(xs).toFixed(digits)} (${low.toFixed(digits)}–${high.toFixed(digits)})`;
}

const backend = await selectBackend();
const out = flags.out ?? (await mkdtemp(join(tmpdir(), "react-rl-trainers-")));
console.error(`backend ${backend.name}; runs in ${out}`);
const base = await toyPlanner();

const armResults: ArmResult[] = [];
const rankings: RankingResult[] = [];
for (const seed of flags.seeds) {
  const seedDir = join(out, `seed-${seed}`);
  // Every arm of a seed is measured on the same held-out draws as the starting planner.
  const before = success(await heldOutEpisodes(base, seed, join(seedDir, "before"), `seed ${seed}: held out before`));
  for (const [i, arm] of ARMS.entries()) armResults.push(await runArm(arm, base, seed, before, join(seedDir, `arm-${i + 1}`)));
  rankings.push(await runRanking(base, seed, join(seedDir, "ranking")));
}

const of = <K extends keyof ArmResult>(arm: Arm, key: K) => armResults.filter((r) => r.arm === arm.name).map((r) => r[key] as number);
console.log(`Toy task (test/helpers/toy-task.ts), seeds ${flags.seeds.join(",")}, backend ${backend.name}: mean (min–max) over seeds`);
console.log(
  markdownTable(
    ["method", "rollouts", "optimizer steps", "last round's samples: success", "held-out success before", "after", "KL to start (per token)", "training wall s"],
    ARMS.map((arm) => [
      arm.name,
      meanRange(of(arm, "rollouts"), 0),
      meanRange(of(arm, "optimizerSteps"), 0),
      meanRange(of(arm, "lastRoundSuccess")),
      meanRange(of(arm, "before")),
      meanRange(of(arm, "after")),
      meanRange(of(arm, "klToStart")),
      meanRange(of(arm, "trainSeconds"), 1),
    ]),
  ),
);
console.log();
const bestOf = (n: number, key: keyof BestOfN) => rankings.map((r) => r.bestOf.find((b) => b.n === n)![key]);
console.log(
  markdownTable(
    ["selection (held-out questions of the reward model)", "success"],
    [
      ["a single sample", meanRange(bestOf(BEST_OF[0]!, "single"))],
      ...BEST_OF.flatMap((n) => [
        [`best of ${n}, ranked by the reward model`, meanRange(bestOf(n, "best"))],
        [`best of ${n}, ranked by the gold answer (oracle)`, meanRange(bestOf(n, "oracle"))],
      ]),
      ["reward model accuracy on held-out logged episodes", meanRange(rankings.map((r) => r.accuracy))],
      ["accuracy of always saying 'failed'", meanRange(rankings.map((r) => r.alwaysFailedAccuracy))],
    ],
  ),
);
console.log(JSON.stringify({ task: "toy", seeds: flags.seeds, budget: flags.budget, arms: armResults, rankings }));
