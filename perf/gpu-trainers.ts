/**
 * The trainers' speed on one tfjs backend (issue #19): a short recipe on hopworld with
 * a model of the large shape, timed phase by phase, so that a GPU and the CPU of the
 * same machine can be compared per trained token.
 *
 *   1. sft   N steps on the expert's episodes of world 1's first training questions
 *            (trainSupervised); tokens/s over the steps after the first, which warms up
 *   2. rs    one rejection-sampling round (rejectionSampling): episodes/s sampling,
 *            tokens/s fine-tuning on what it kept (a new model often keeps nothing)
 *   3. pg    one policy-gradient update (policyGradient): episodes/s sampling, tokens/s
 *            of the optimisation (reference log-probabilities included); groups of
 *            equal rewards are kept, so that a model that solves nothing still trains
 *   4. eval  EM on world 1's first test questions, greedy (as demo evaluates)
 *
 * Rollouts and evaluation decode as the CLI does on that backend (`decodingOn`: tfjs
 * on a GPU, the CPU kernels and a worker per core otherwise). The model is new, its
 * tokenizer trained as `train pretrain` trains one, or --from a checkpoint.
 *
 *   npm run bench:gpu-trainers -- [--backend NAME] [--json FILE] [options]
 *
 *   --from DIR          a checkpoint to start from (default: a new model of the shape below)
 *   --d-model N, --layers N, --heads N, --context N, --vocab N
 *                       the new model's shape (default the large preset's: 512, 8, 8, 1024, 1024)
 *   --sft-steps N       SFT steps (default 3) of --batch-size B episodes (default 4; also the
 *                       batch of rejection sampling's fine-tune)
 *   --rs-questions N    rejection sampling's questions (default 2), --rs-samples K of each (default 2)
 *   --pg-questions N    policy gradient's questions (default 1), --pg-group G of each (default 4),
 *                       all in one optimizer step
 *   --eval N            test questions (default 4)
 *   --concurrency N     episodes decoded at once (default 8)
 *   --out DIR           keep the trainers' runs and the episodes there (default: a temporary folder, removed)
 *
 * Each phase prints a line on stderr; --json is rewritten after each phase (and each SFT
 * step), so a run cut short keeps what it measured. perf/gpu-device.sh bundles this
 * script for a GPU machine without node_modules (build-trainers, run-trainers).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { loadPrompt } from "../prompts/index.ts";
import { runBenchmark } from "../src/agent/index.ts";
import { backendFlag } from "../src/cli/backend.ts";
import { defineCommand, numberFlag, optionsOf } from "../src/cli/command.ts";
import { newPlanner } from "../src/train/pretrain.ts";
import { DEFAULT_WORLD_SEED } from "../src/cli/world.ts";
import { UserError } from "../src/errors.ts";
import { describeBackend, describeShape, gpuAdapter, MODEL_PRESETS, parameterCount, presetConfig, type StepMetrics } from "../src/lm/index.ts";
import { decodingOn, ensureBackend, LocalPolicy, loadPlanner, type Planner } from "../src/planner/index.ts";
import { expertEpisodes, hopworldSuite } from "../src/suites/index.ts";
import { policyGradient, rejectionSampling, trainingRows, trainSupervised, type MetricsRecord } from "../src/train/index.ts";
import { generateWorld } from "../src/world/index.ts";
import { sum } from "../trajectories/index.ts";
import { writeFileAtomic } from "../src/files.ts";

/** The shape the trainers are timed at: `train pretrain --preset large`'s. */
const LARGE = MODEL_PRESETS.large;
/** Rollouts a little cooler than the model's own distribution, as the demo samples them. */
const ROLLOUT_TEMPERATURE = 0.7;

const count = (fallback: number) => numberFlag(z.number().int().positive()).default(fallback);
const flags = z.object({
  backend: backendFlag,
  from: z.string().optional(),
  "d-model": count(LARGE.dModel),
  layers: count(LARGE.nLayers),
  heads: count(LARGE.nHeads),
  context: numberFlag(z.number().int().min(16)).default(LARGE.contextLength),
  vocab: numberFlag(z.number().int().min(258).max(8192)).default(LARGE.vocabSize),
  "sft-steps": numberFlag(z.number().int().min(2)).default(3),
  "batch-size": count(4),
  "rs-questions": count(2),
  "rs-samples": count(2),
  "pg-questions": count(1),
  "pg-group": numberFlag(z.number().int().min(2)).default(4),
  eval: count(4),
  concurrency: count(8),
  seed: numberFlag(z.number().int()).default(0),
  json: z.string().optional(),
  out: z.string().optional(),
});
type Flags = z.infer<typeof flags>;

/** What the run measured so far: written to --json after each phase. */
interface Result {
  bench: "gpu-trainers";
  backend: string;
  adapter?: Record<string, string>;
  cpu: string;
  cores: number;
  node: string;
  settings: Flags;
  params: number;
  config: Planner["model"]["config"];
  /** Each phase's figures, in the order run: setup, sft, rs, pg, eval, total. */
  phases: Record<string, object>;
}

const command = defineCommand({
  name: "gpu-trainers",
  summary: "the trainers' speed on one backend",
  usage: "npm run bench:gpu-trainers -- [--backend NAME] [options]",
  flags,
  run: async (f) => {
    const out = f.out ?? (await mkdtemp(join(tmpdir(), "gpu-trainers-")));
    try {
      await measure(f, out);
    } finally {
      if (!f.out) await rm(out, { recursive: true, force: true });
    }
    return 0;
  },
});

/** The phases in turn, their runs written under `out`. */
async function measure(f: Flags, out: string): Promise<void> {
  const started = clock();
  const choice = await ensureBackend(f.backend);
  console.error(describeBackend(choice));
  const adapter = await gpuAdapter();
  if (adapter) console.error(`adapter: ${JSON.stringify(adapter)}`);

  const world = generateWorld({ seed: DEFAULT_WORLD_SEED });
  const suite = hopworldSuite(world);
  const template = await loadPrompt(suite.prompt);
  // A shape that does not hold together is the preset's one-line mistake
  const shape = () => presetConfig("large", { vocabSize: f.vocab, contextLength: f.context, dModel: f["d-model"], nLayers: f.layers, nHeads: f.heads });
  const planner = f.from ? await loadPlanner(f.from, f.backend) : await newPlanner(world, shape(), f.seed, { source: "new", meta: { worldSeed: world.seed } });
  const { config } = planner.model;
  const result: Result = {
    bench: "gpu-trainers",
    backend: choice.name,
    adapter,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    node: process.version,
    settings: f,
    params: parameterCount(planner.model),
    config,
    phases: { setup: elapsed(started) },
  };
  // Whole (a kill mid-write leaves the last one), and one after another: an SFT step's may be under way when the next is asked for
  let saving = Promise.resolve();
  const save = () => (saving = saving.then(() => (f.json ? writeFileAtomic(f.json, `${JSON.stringify(result, null, 2)}\n`) : undefined)));
  await save();
  console.error(`setup: ${result.params.toLocaleString()} parameters (${describeShape(config)}), ${f.from ? `from ${f.from}` : "new, tokenizer trained"} in ${fixed(elapsed(started).seconds)} s`);

  // The training questions in turn: SFT's demonstrations, then rejection sampling's, then policy gradient's
  const demonstrated = f["batch-size"] * f["sft-steps"];
  const train = suite.tasks("train");
  const [rsTasks, pgTasks] = [train.slice(demonstrated), train.slice(demonstrated + f["rs-questions"])];

  // 1. SFT: one batch of distinct expert episodes per step
  let phase = clock();
  const episodes = await expertEpisodes(suite, "train", demonstrated);
  const rows = trainingRows(episodes, template, planner);
  const steps: StepMetrics[] = [];
  await trainSupervised(planner, rows, {
    steps: f["sft-steps"],
    batchSize: f["batch-size"],
    learningRate: 1e-3,
    warmupSteps: 0,
    seed: f.seed,
    onStep: (m) => {
      steps.push(m);
      console.error(`sft step ${m.step}/${f["sft-steps"]}: ${fixed(m.ms / 1000)} s, ${m.tokens.toLocaleString()} tokens, loss ${m.loss.toFixed(3)}`);
      result.phases.sft = { ...elapsed(phase), ...sftFigures(steps) };
      void save();
    },
  });
  const sft = { ...elapsed(phase), ...sftFigures(steps) };
  result.phases.sft = sft;
  await save();
  console.error(`sft: ${sft.steps} steps of ${f["batch-size"]} episodes in ${fixed(sft.seconds)} s; after the first (${fixed(sft.firstStepSeconds)} s): ${rate(sft.tokensPerSecond)} tokens/s`);

  // 2. One rejection-sampling round, 3. one policy-gradient update
  const sampling = { planner, environment: suite.environment, template, temperature: ROLLOUT_TEMPERATURE, concurrency: f.concurrency, seed: f.seed };
  phase = clock();
  const rs = await rejectionSampling({ ...sampling, tasks: rsTasks, out: join(out, "rs"), rounds: 1, questions: f["rs-questions"], samples: f["rs-samples"], batchSize: f["batch-size"] });
  const rsFigures = { ...elapsed(phase), ...trainerFigures(rs.metrics[0]!, f["rs-questions"] * f["rs-samples"]) };
  result.phases.rs = rsFigures;
  await save();
  console.error(`rs: ${trainerLine(rsFigures, "kept")}`);

  phase = clock();
  const pgSize = f["pg-questions"] * f["pg-group"];
  const pg = await policyGradient({ ...sampling, tasks: pgTasks, out: join(out, "pg"), updates: 1, questions: f["pg-questions"], groupSize: f["pg-group"], minibatch: pgSize, keepZeroAdvantage: true });
  const pgFigures = { ...elapsed(phase), ...trainerFigures(pg.metrics[0]!, pgSize) };
  result.phases.pg = pgFigures;
  await save();
  console.error(`pg: ${trainerLine(pgFigures, "with a non-zero advantage or not")}`);

  // 4. Test EM, greedy, as demo evaluates
  phase = clock();
  const tests = suite.tasks("test", f.eval);
  const policy = new LocalPolicy(planner, { temperature: 0, maxBatch: f.concurrency, ...decodingOn(choice.name) });
  const { summary } = await runBenchmark({ tasks: tests, policy, environment: suite.environment, out: join(out, "eval"), concurrency: f.concurrency, prompt: () => template, dataset: "hopworld-test" }).finally(() => policy.close());
  const evaluation = { ...elapsed(phase), questions: tests.length, em: summary.em };
  result.phases.eval = evaluation;
  await save();
  console.error(`eval: EM ${summary.em.toFixed(3)} on ${tests.length} hopworld test questions in ${fixed(evaluation.seconds)} s (${rate(tests.length / evaluation.seconds, 2)} episodes/s)`);

  const total = elapsed(started);
  result.phases.total = total;
  await save();
  console.error(`total: ${fixed(total.seconds)} s (process CPU time ${fixed(total.cpuSeconds)} s)`);
}

/** SFT's figures: tokens/s over the steps after the first, whose time includes warming up. */
function sftFigures(steps: readonly StepMetrics[]) {
  const warm = steps.slice(1);
  return {
    steps: steps.length,
    tokens: sum(steps.map((m) => m.tokens)),
    firstStepSeconds: steps[0]!.ms / 1000,
    tokensPerSecond: warm.length > 0 ? (1000 * sum(warm.map((m) => m.tokens))) / sum(warm.map((m) => m.ms)) : Number.NaN,
    losses: steps.map((m) => m.loss),
  };
}

/** A trainer's round as rates: episodes/s sampling, tokens/s training (NaN when it trained on nothing). */
function trainerFigures(record: MetricsRecord, episodes: number) {
  const [sampleSeconds, trainTokens, trainSeconds] = [Number(record.sampleSeconds), Number(record.trainTokens), Number(record.trainSeconds)];
  return {
    episodes,
    success: Number(record.success),
    sampleSeconds,
    episodesPerSecond: episodes / sampleSeconds,
    // Rejection sampling's episodes kept, policy gradient's trained on
    trained: Number(record.kept ?? record.trainedEpisodes),
    trainTokens,
    trainSeconds,
    tokensPerSecond: trainTokens > 0 ? trainTokens / trainSeconds : Number.NaN,
  };
}

function trainerLine(p: ReturnType<typeof trainerFigures> & { seconds: number }, which: string): string {
  const training = p.trainTokens > 0 ? `${p.trainTokens.toLocaleString()} tokens in ${fixed(p.trainSeconds)} s (${rate(p.tokensPerSecond)} tokens/s)` : "nothing";
  return `${p.episodes} episodes sampled in ${fixed(p.sampleSeconds)} s (${rate(p.episodesPerSecond, 2)} episodes/s, EM ${p.success.toFixed(3)}); trained on ${p.trained} (${which}): ${training}; ${fixed(p.seconds)} s in all`;
}

/** A phase's start, in wall-clock and in the process's CPU time (its workers' included), which other load on the cores does not inflate. */
const clock = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
function elapsed(since: ReturnType<typeof clock>): { seconds: number; cpuSeconds: number } {
  const used = process.cpuUsage(since.cpu);
  return { seconds: (performance.now() - since.wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}
const fixed = (x: number) => x.toFixed(1);
const rate = (x: number, digits = 0) => x.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

try {
  const { values } = parseArgs({ options: optionsOf(flags), strict: true });
  await command.run(values, []);
} catch (error) {
  // A flag's mistake, or a backend that is not there: one line, no stack
  const code = (error as { code?: string }).code ?? "";
  if (!(error instanceof UserError) && !code.startsWith("ERR_PARSE_ARGS")) throw error;
  console.error(`gpu-trainers: ${(error as Error).message}`);
  process.exit(2);
}
process.exit(0); // Dawn, once loaded, keeps Node running
