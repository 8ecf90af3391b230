import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { announceBackend, backendFlag, backendUsage } from "./backend.ts";
import { loadPrompt, type PromptTemplate } from "../../prompts/index.ts";
import type { EnvironmentFactory } from "../../tools/environment.ts";
import type { QaTask } from "../../tools/wiki/index.ts";
import { pairedGain, readTrajectoriesIfAny, type Gain, type Summary, type Trajectory } from "../../trajectories/index.ts";
import { forgetOtherWeights, madeBy, runBenchmark } from "../agent/index.ts";
import { BASE_PLANNER, defaultDecoding, LocalPolicy, loadPlanner, type Planner } from "../planner/index.ts";
import { lineChart } from "../report/chart.ts";
import { metricCharts, writeReport, type Table } from "../report/report.ts";
import { markdownTable } from "../report/table.ts";
import { klToReference } from "../train/kl.ts";
import { frozenCopy } from "../train/runs.ts";
import { policyGradient, rejectionSampling, TRAINING_WORLD_SEED, type MetricsRecord } from "../train/index.ts";
import { UserError } from "../errors.ts";
import { readJsonFile, writeFileAtomic } from "../files.ts";
import { openSuite, splitDataset, type Suite } from "../suites/index.ts";
import { SeedSchema } from "../random.ts";
import { checkFolder, defineCommand, numberFlag } from "./command.ts";
import { stopped, untilInterrupted } from "./interrupt.ts";
import { POLICY_GRADIENT_CHARTS, REJECTION_CHARTS, trainingProgressBars, untriedTasks } from "./train-methods.ts";
import { ProgressBar } from "./progress.ts";
import { suiteFlags } from "./suite.ts";
import { DEFAULT_WORLD_SEED } from "./world.ts";

/** The suite flags bench and train take, less --world and --world-seed (the demo's hopworld is two worlds, named below) and --file (a file's questions have no test split). */
const demoFlags = suiteFlags.omit({ world: true, "world-seed": true, file: true }).extend({
  dataset: suiteFlags.shape.dataset.removeDefault().default("hopworld"),
  model: z.string().default(BASE_PLANNER),
  out: z.string().default("runs/demo"),
  eval: numberFlag(z.number().int().positive()).default(300),
  "train-world": numberFlag(SeedSchema).optional(),
  "test-world": numberFlag(SeedSchema).optional(),
  "rs-rounds": numberFlag(z.number().int().positive()).default(4),
  "rs-questions": numberFlag(z.number().int().positive()).default(64),
  "pg-updates": numberFlag(z.number().int().positive()).default(36),
  "pg-questions": numberFlag(z.number().int().positive()).default(8),
  backend: backendFlag,
});
type DemoFlags = z.infer<typeof demoFlags>;

/** Rollouts a little cooler than the model's own distribution: fewer garbled steps from a small planner. */
const ROLLOUT_TEMPERATURE = 0.7;

/** The main job: the embedded planner improves by trial and error, measured before and after on unseen names. */
export const demoCommand = defineCommand({
  name: "demo",
  summary: "the whole loop on the embedded planner: evaluate, collect, rejection sampling, policy gradient, evaluate",
  usage: `react-rl demo [options]

  --dataset NAME       the suite whose test questions are evaluated and whose training questions
                       trial and error samples: hopworld (default) or arithmetic; a file's questions
                       (hotpotqa, 2wiki, musique) are the same whatever the split, so it has no test split
  --data-seed N        for --dataset arithmetic: the seed its questions are generated from (default 1)
  --model DIR          the planner to start from (default: the committed base checkpoint, hopworld's;
                       for arithmetic, one from react-rl train sft --dataset arithmetic)
  --out DIR            where everything goes (default runs/demo; rerun to resume)
  --eval N             test questions evaluated before and after (default 300, hopworld's whole split)
  --train-world N      for hopworld: the seed of the world whose training questions trial and error
                       samples (default ${TRAINING_WORLD_SEED}: the base was fine-tuned on every training question of world 1)
  --test-world N       for hopworld: the seed of the world whose test questions are evaluated (default:
                       the base's, 1); another keeps world 1's test split untouched while tuning a recipe
  --rs-rounds N        rejection-sampling rounds (default 4), --rs-questions N per round (default 64)
  --pg-updates N       policy-gradient updates (default 36), --pg-questions N per update (default 8)
${backendUsage}

Writes OUT/summary.json (before.em, after.em, per family, the gain and its paired standard
error, KL to the base), OUT/report.html and OUT/report.md with OUT/curves.svg, each stage's
trajectories and OUT/metrics.jsonl. Browse the episodes with react-rl view OUT.`,
  flags: demoFlags,
  async run(flags) {
    await checkFolder("--out", flags.out);
    const planner = await loadPlanner(flags.model, flags.backend);
    const suites = await demoSuites(flags, planner);
    const tuned = planner.meta.dataset;
    if (tuned !== undefined && tuned !== flags.dataset) {
      throw new UserError(`the planner ${flags.model} was fine-tuned on ${String(tuned)}, not ${flags.dataset}: pass --model with one from react-rl train sft --dataset ${flags.dataset}`);
    }
    const test = suites.test.tasks("test", flags.eval);
    const train = untriedTasks(suites.train, planner);
    await announceBackend(flags.backend); // after the checks, which a mistake fails in one line
    const training = { environment: suites.train.environment, dataset: splitDataset(suites.train, "train") };
    await mkdir(flags.out, { recursive: true });
    const reference = frozenCopy(planner.model);
    const template = await loadPrompt(suites.test.prompt);

    return untilInterrupted(async (signal) => {
      const evaluation = { tasks: test, environment: suites.test.environment, template, dataset: splitDataset(suites.test, "test"), signal };
      const before = await evaluate("before", planner, evaluation, join(flags.out, "before"));
      if (!before.complete) return stopped();
      const rsBars = trainingProgressBars("rejection sampling round");
      const pgBars = trainingProgressBars("policy gradient update");
      const rs = await rejectionSampling<QaTask>({
        planner, tasks: train, ...training, template, signal,
        out: join(flags.out, "rs"), rounds: flags["rs-rounds"], questions: flags["rs-questions"], samples: 4, temperature: ROLLOUT_TEMPERATURE,
        onProgress: rsBars.update,
      });
      rsBars.finish();
      if (rs.interrupted) return stopped();
      const pgDir = join(flags.out, "pg");
      await startOver(pgDir, await startOf(pgDir), planner, "did not start from rejection sampling's last weights, as its config.json records them (rs went on, or an older react-rl recorded the base): training it again");
      const pg = await policyGradient<QaTask>({
        planner, tasks: train.slice(flags["rs-rounds"] * flags["rs-questions"]), ...training, template, signal,
        out: pgDir, updates: flags["pg-updates"], questions: flags["pg-questions"], temperature: ROLLOUT_TEMPERATURE,
        onProgress: pgBars.update,
      });
      pgBars.finish();
      if (pg.interrupted) return stopped();
      // The planner now names pg's checkpoint and its weights, which its episodes record
      const afterDir = join(flags.out, "after");
      await startOver(afterDir, await madeBy(afterDir), planner, "holds an evaluation of other weights: evaluating the trained planner again");
      const after = await evaluate("after", planner, evaluation, afterDir);
      if (!after.complete) return stopped();
      const kl = await klToReference(planner, reference, after.trajectories, template);
      const gain = pairedGain(before.trajectories, after.trajectories);
      await writeOutputs(flags, suites, { before: before.summary, after: after.summary, gain, kl, rs: rs.metrics, pg: pg.metrics });
      return 0;
    });
  },
});

/** The suite the demo measures on, the one it trains on, and the report's words for their questions. */
interface DemoSuites {
  test: Suite;
  train: Suite;
  tested: string;
  trained: string;
}

/**
 * The suites the flags name. Hopworld's are two worlds: the test world's names are the
 * base's, and the training world's questions are ones the base was never shown answered.
 * Another suite trains on its training split and measures on its test split, which a
 * file's questions do not have.
 */
async function demoSuites(flags: DemoFlags, planner: Planner): Promise<DemoSuites> {
  const hopworld = flags.dataset === "hopworld";
  if (!hopworld && (flags["train-world"] !== undefined || flags["test-world"] !== undefined)) throw new UserError("--train-world and --test-world are for --dataset hopworld");
  const source = { dataset: flags.dataset, dataSeed: flags["data-seed"] };
  if (!hopworld) {
    const suite = await openSuite(source, DEFAULT_WORLD_SEED);
    if (!suite.splits) throw new UserError(`${suite.label} has no test split (a file's questions are the same whatever the split): the demo takes hopworld or arithmetic`);
    return { test: suite, train: suite, tested: `${suite.label} test questions`, trained: "its training questions" };
  }
  const test = await openSuite({ ...source, worldSeed: flags["test-world"] ?? Number(planner.meta.worldSeed ?? DEFAULT_WORLD_SEED) }, DEFAULT_WORLD_SEED);
  const trainSeed = flags["train-world"] ?? TRAINING_WORLD_SEED;
  const train = trainSeed === test.identity.worldSeed ? test : await openSuite({ ...source, worldSeed: trainSeed }, DEFAULT_WORLD_SEED);
  return { test, train, tested: "hopworld test questions whose entity names never occur in training", trained: "training questions of another world" };
}

interface Evaluation {
  summary: Summary & { byType?: Record<string, Summary> };
  trajectories: Trajectory[];
  complete: boolean;
}

interface EvaluationSet {
  tasks: QaTask[];
  environment: EnvironmentFactory<QaTask>;
  /** The prompt the planner was trained with (runBenchmark's default is HotpotQA's few-shot one). */
  template: PromptTemplate;
  /** What the episodes' log calls the set: `hopworld-test`. */
  dataset: string;
  signal: AbortSignal;
}

async function evaluate(label: string, planner: Planner, { tasks, environment, template, dataset, signal }: EvaluationSet, out: string): Promise<Evaluation> {
  const bar = new ProgressBar(`evaluate ${label}`);
  const policy = new LocalPolicy(planner, { temperature: 0, ...(await defaultDecoding()) });
  const result = await runBenchmark<QaTask>({
    tasks, environment, out, signal, template,
    policy,
    concurrency: 64,
    typeOf: (task) => task.type,
    dataset,
    onProgress: (p) => bar.update(p.done, p.total, `EM ${p.em.toFixed(3)}`),
  }).finally(() => policy.close());
  bar.finish();
  // Stopped before its first episode ended, it has written no log yet
  const { trajectories } = await readTrajectoriesIfAny(join(out, "trajectories.jsonl"));
  return { summary: result.summary, trajectories, complete: !result.interrupted };
}

/**
 * Starts a stage's folder over when other weights than `planner`'s made it (`made`): pg
 * after rs has moved on (a rerun with more rounds), after/ once pg has, or either from a
 * demo before weights were recorded. Resumed, it would report a stale stage as this one.
 */
async function startOver(dir: string, made: readonly (string | undefined)[], planner: Planner, why: string): Promise<void> {
  if (await forgetOtherWeights(dir, made, planner.weightsDigest)) console.error(`${dir} ${why}`);
}

/** The weights a training run started from, as its config.json keeps them (none before it starts; an unreadable config is the run's to report). */
async function startOf(run: string): Promise<(string | undefined)[]> {
  const started = z.object({ weightsDigest: z.string().optional() });
  return readJsonFile(join(run, "config.json"), started).then((config) => [config.weightsDigest], () => []);
}

interface Outcome {
  before: Evaluation["summary"];
  after: Evaluation["summary"];
  gain: Gain;
  kl: number;
  rs: MetricsRecord[];
  pg: MetricsRecord[];
}

/** summary.json, the metrics log, the learning curves and the reports. */
async function writeOutputs(flags: DemoFlags, suites: DemoSuites, outcome: Outcome): Promise<void> {
  const { before, after, gain, kl } = outcome;
  const summary = { before, after, klToBase: kl, gain: gain.em, gainStandardError: gain.standardError };
  await writeFileAtomic(join(flags.out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  const metrics = [...outcome.rs.map((m) => ({ method: "rs", ...m })), ...outcome.pg.map((m) => ({ method: "rl", ...m }))];
  await writeFileAtomic(join(flags.out, "metrics.jsonl"), metrics.map((m) => `${JSON.stringify(m)}\n`).join(""));
  const comparison = comparisonTable(suites.test, before, after, gain, kl);
  await writeReport(flags.out, {
    title: "react-rl demo",
    about: [about(flags, suites), `Rejection-sampling rounds, then policy-gradient updates, on ${suites.trained}; the test questions are evaluated before and after.`],
    tables: [comparison],
    charts: curves(outcome),
    files: ["summary.json", "metrics.jsonl", "before/trajectories.jsonl", "after/trajectories.jsonl", "report.md"],
  });
  const table = markdownTable(comparison.header, comparison.rows);
  await writeFileAtomic(join(flags.out, "report.md"), report(flags, suites, table));
  console.log(table);
  console.log(JSON.stringify({ before: { em: before.em }, after: { em: after.em }, gain: gain.em, gainStandardError: gain.standardError, klToBase: kl }));
}

function comparisonTable(test: Suite, before: Evaluation["summary"], after: Evaluation["summary"], gain: Gain, kl: number): Table {
  const families = Object.keys({ ...before.byType, ...after.byType });
  const row = (name: string, b: string, a: string) => [name, b, a];
  const em = (s?: Summary) => (s ? `${s.em.toFixed(3)} (${s.n})` : "-");
  return { header: [`${test.name} test`, "before (base)", "after"], rows: [
    row("EM", before.em.toFixed(3), after.em.toFixed(3)),
    row("EM gain ± standard error (paired)", "", `${signed(gain.em)} ± ${gain.standardError.toFixed(3)}`),
    ...families.map((f) => row(`EM ${f}`, em(before.byType?.[f]), em(after.byType?.[f]))),
    row("F1", before.f1.toFixed(3), after.f1.toFixed(3)),
    row("avg steps", before.avgSteps.toFixed(2), after.avgSteps.toFixed(2)),
    row("invalid actions", pct(before.invalidRate), pct(after.invalidRate)),
    row("halted", pct(before.haltedRate), pct(after.haltedRate)),
    row("KL to the base (per policy token)", "0", kl.toFixed(4)),
  ] };
}

/**
 * Held-out EM before and after, on the axis of the whole run (rounds, then updates),
 * with the success of the training samples along it; then each trainer's own curves.
 */
function curves(outcome: Outcome): string[] {
  const rounds = outcome.rs.length;
  const end = rounds + outcome.pg.length;
  const success = [
    ...outcome.rs.map((m) => [Number(m.round), Number(m.success)] as const),
    ...outcome.pg.map((m) => [rounds + Number(m.update), Number(m.success)] as const),
  ];
  const overview = lineChart(
    [
      { name: "held-out EM (test)", points: [[0, outcome.before.em], [end, outcome.after.em]] },
      { name: "success of the samples (training questions)", points: success },
    ],
    { title: "Before, during and after training", xLabel: "rejection-sampling rounds, then policy-gradient updates", yLabel: "EM" },
  );
  return [overview, ...metricCharts(outcome.rs, "round", REJECTION_CHARTS), ...metricCharts(outcome.pg, "update", POLICY_GRADIENT_CHARTS)];
}

function about(flags: DemoFlags, suites: DemoSuites): string {
  return `The embedded planner (${flags.model}) before and after trial-and-error training, on ${suites.tested}.`;
}

function report(flags: DemoFlags, suites: DemoSuites, table: string): string {
  return `# react-rl demo

${about(flags, suites)}

${table}

![Learning curves](curves.svg)

Per-round and per-update metrics: \`metrics.jsonl\`. Episodes: \`before/\`, \`rs/\`, \`pg/\`, \`after/\`
(browse them with \`react-rl view ${flags.out}\`).
`;
}

function signed(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
