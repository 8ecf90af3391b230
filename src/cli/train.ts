import { resolve } from "node:path";
import { z } from "zod";
import { loadPrompt } from "../../prompts/index.ts";
import type { PromptTemplate } from "../../prompts/index.ts";
import type { Trajectory } from "../../trajectories/index.ts";
import { ArithmeticOptionsSchema } from "../suites/arithmetic.ts";
import { expertEpisodes, openSuite, SUITE_NAMES, type Suite } from "../suites/index.ts";
import { UserError } from "../errors.ts";
import {
  AdamW,
  describeShape,
  MODEL_PRESET_NAMES,
  MODEL_PRESETS,
  parameterCount,
  presetConfig,
  type ModelConfig,
  type StepMetrics,
} from "../lm/index.ts";
import { ensureBackend, loadPlanner, type Planner } from "../planner/index.ts";
import { metricCharts, writeReport } from "../report/report.ts";
import { corpusRows, newPlanner } from "../train/pretrain.ts";
import { trainingRows } from "../train/rollouts.ts";
import { resumedOptimizer, savedCheckpoint } from "../train/runs.ts";
import { trainSupervised } from "../train/supervised.ts";
import { pretrainingCorpus, type World } from "../world/index.ts";
import { announceBackend, backendFlag, backendUsage } from "./backend.ts";
import { checkFolder, defineCommand, numberFlag } from "./command.ts";
import { stopped, untilInterrupted } from "./interrupt.ts";
import { ProgressBar } from "./progress.ts";
import { DEFAULT_WORLD_SEED, worldFlags, worldFlagsUsage, worldFrom } from "./world.ts";

/** Flags every training stage shares: the world it learns, the backend, the optimizer schedule. */
const commonFlags = worldFlags.extend({
  out: z.string({ error: "required" }),
  "batch-size": numberFlag(z.number().int().positive()).default(16),
  lr: numberFlag(z.number().positive()).optional(),
  seed: numberFlag(z.number().int()).default(0),
  backend: backendFlag,
  force: z.boolean().default(false),
});

/** Each stage's default schedule: its steps, and the peak learning rate (decaying to a tenth). */
const PRETRAIN = { steps: 600, lr: 2e-3 };
const SFT = { steps: 300, lr: 1e-3 };
/** Steps between saves of an unfinished run: what a kill can lose (Ctrl-C saves first). */
const SAVE_EVERY = 100;

const commonUsage = (defaults: typeof PRETRAIN) => `${worldFlagsUsage}
  --out DIR            the checkpoint to write, with report.html and curves.svg (its loss
                       curve); saved every ${SAVE_EVERY} steps and when Ctrl-C stops the run after its
                       step in flight: rerun to resume an unfinished run
  --force              train a new checkpoint in place of the one at --out (a finished
                       one, or an unfinished one of other flags)
  --steps N            optimizer steps (default ${defaults.steps})
  --batch-size B       sequences per step (default 16)
  --lr RATE            peak learning rate (default ${defaults.lr}), decaying to a tenth of it
  --seed N             data order and initialisation (default 0)
${backendUsage}`;

const pretrainFlags = commonFlags.extend({
  steps: numberFlag(z.number().int().positive()).default(PRETRAIN.steps),
  "extra-worlds": numberFlag(z.number().int().min(0)).default(0),
  preset: z.enum(MODEL_PRESET_NAMES).default("small"),
  vocab: numberFlag(z.number().int().min(258).max(8192)).optional(),
  "d-model": numberFlag(z.number().int().positive()).optional(),
  layers: numberFlag(z.number().int().positive()).optional(),
  heads: numberFlag(z.number().int().positive()).optional(),
  context: numberFlag(z.number().int().min(16)).optional(),
});
/** The shape flags of `train pretrain`: a preset, and any of its fields given in place of its own. */
export type ShapeFlags = Pick<z.infer<typeof pretrainFlags>, "preset" | "vocab" | "d-model" | "layers" | "heads" | "context">;

export const pretrainCommand = defineCommand({
  name: "train pretrain",
  summary: "pretrain the embedded planner's language model on hopworld's training pages",
  usage: `react-rl train pretrain --out DIR [options]

${commonUsage(PRETRAIN)}
  --extra-worlds N     also pretrain on the pages of N other worlds (seeds after the world's),
                       leaving out any page with a word of the world's dev or test pages
                       (default 0)
  --preset NAME        the model's shape (default small):
${MODEL_PRESET_NAMES.map((name) => `                         ${name}: ${describeShape(MODEL_PRESETS[name])}`).join("\n")}
  --vocab N            tokenizer vocabulary, in place of the preset's
  --d-model N, --layers N, --heads N, --context N   model shape, each in place of the preset's`,
  flags: pretrainFlags,
  async run(flags) {
    const config = pretrainConfig(flags);
    const world = await worldFrom(flags);
    const resumed = await resume(flags, "pretrain", { shape: describeShape(config) });
    const planner = resumed?.planner ?? (await freshPlanner(world, config, flags));
    const rows = corpusRows(pretrainingCorpus(world, flags["extra-worlds"]), planner.tokenizer);
    const extra = flags["extra-worlds"] > 0 ? ` and ${flags["extra-worlds"]} other worlds' pages` : "";
    const about = `pretraining ${parameterCount(planner.model).toLocaleString()} parameters on ${rows.length} rows of hopworld's training pages${extra}`;
    console.error(about);
    return train(planner, rows, flags, { lr: PRETRAIN.lr, stage: "pretrain", about, optimizer: resumed?.optimizer });
  },
});

const sftFlags = commonFlags.extend({
  from: z.string({ error: "required" }),
  steps: numberFlag(z.number().int().positive()).default(SFT.steps),
  examples: numberFlag(z.number().int().positive()).default(64),
  dataset: z.enum(SUITE_NAMES).default("hopworld"),
  "data-seed": numberFlag(ArithmeticOptionsSchema.shape.seed.unwrap()).optional(),
});
type SftFlags = z.infer<typeof sftFlags>;

export const sftCommand = defineCommand({
  name: "train sft",
  summary: "fine-tune the planner on expert episodes (loss on its own thoughts and actions only)",
  usage: `react-rl train sft --from DIR --out DIR [options]

  --from DIR           the checkpoint to start from (a pretrained one)
  --dataset NAME       hopworld | arithmetic (default hopworld): the suite whose training questions
                       its expert's episodes answer, rendered with the prompt bench gives the suite
                       (prompts/hopworld.txt or prompts/arithmetic.txt); arithmetic's expert runs
                       each question's program with Code[...], then finishes
  --data-seed N        for --dataset arithmetic: the seed its questions are generated from (default 1)
  --examples N         expert episodes from the training split (default 64)
${commonUsage(SFT)}
  (--world and --world-seed are for --dataset hopworld)`,
  flags: sftFlags,
  async run(flags) {
    if (resolve(flags.from) === resolve(flags.out)) throw new UserError("--out is --from: write the fine-tuned checkpoint to a folder of its own, not over the one it starts from");
    const { episodes, template, suite } = await demonstrations(flags);
    const resumed = await resume(flags, "sft", { dataset: flags.dataset });
    const planner = resumed?.planner ?? (await plannerFrom(flags.from, flags.backend));
    const rows = trainingRows(episodes, template, planner);
    const about = `fine-tuning ${flags.from} on ${rows.length} expert episodes of ${flags.dataset}`;
    console.error(about);
    return train(planner, rows, flags, { lr: SFT.lr, stage: "sft", about, optimizer: resumed?.optimizer, meta: { dataset: suite.name, ...suite.identity, examples: rows.length, prompt: template } });
  },
});

/** Expert episodes to imitate, the prompt they are rendered with (the one `bench` runs the suite with), and the suite. */
export interface Demonstrations {
  episodes: Trajectory[];
  template: PromptTemplate;
  suite: Suite;
}

/** The first `--examples` training questions of `--dataset`, answered by its expert. */
export async function demonstrations(flags: Pick<SftFlags, "dataset" | "examples" | "data-seed" | "world" | "world-seed">): Promise<Demonstrations> {
  const source = { dataset: flags.dataset, world: flags.world, worldSeed: flags["world-seed"], dataSeed: flags["data-seed"] };
  const suite = await openSuite(source, DEFAULT_WORLD_SEED);
  if (!suite.expert) throw new UserError(`--dataset ${suite.name} has no expert to demonstrate it: train sft takes hopworld or arithmetic`);
  return { episodes: await expertEpisodes(suite, "train", flags.examples), template: await loadPrompt(suite.prompt), suite };
}

type CommonFlags = z.infer<typeof commonFlags> & { steps: number };

async function plannerFrom(dir: string, backend: CommonFlags["backend"]): Promise<Planner> {
  await announceBackend(backend);
  // Its weights are fine-tuned in place: the digest of --from's would soon be stale
  return { ...(await loadPlanner(dir, backend)), weightsDigest: undefined };
}

/**
 * What `--out` holds, once a save a kill cut short is undone, decides the run: nothing (or an empty folder) starts one; an
 * unfinished checkpoint of the same stage and `same` meta resumes it; another checkpoint
 * is replaced only with --force; anything else is never replaced.
 */
async function resume(flags: CommonFlags, stage: string, same: Record<string, unknown> = {}) {
  const { out } = flags;
  await checkFolder("--out", out); // a file there would read as an empty folder, and be replaced
  await ensureBackend(flags.backend); // before any tensor: a checkpoint read first would land on tfjs's plain-JS default
  const previous = await savedCheckpoint(out, "choose another --out");
  if (!previous) return undefined;
  const { meta, optimizerMoments } = previous;
  const mismatch = Object.keys(same).find((key) => meta[key] !== same[key]);
  const resumable = meta.stage === stage && !meta.done && optimizerMoments !== undefined && !mismatch;
  if (!resumable) {
    if (flags.force) return undefined;
    const held = meta.done ? `a finished ${meta.stage ?? ""} checkpoint` : `an unfinished ${meta.stage ?? ""} run`;
    const why = mismatch && !meta.done ? ` of ${mismatch} ${String(meta[mismatch])}` : "";
    throw new UserError(`${out} holds ${held}${why}: choose another --out, or pass --force to train a new one in its place`);
  }
  await announceBackend(flags.backend);
  console.error(`resuming ${out} at step ${previous.step}`);
  // Its weights go on training: the digest of what was saved would soon be stale
  const { model, tokenizer } = previous;
  return { planner: { model, tokenizer, meta, source: out }, optimizer: resumedOptimizer(model, previous) };
}

/** The model `train pretrain` makes: the preset's shape, with each shape flag given in place of its field. */
export function pretrainConfig(flags: ShapeFlags): ModelConfig {
  return presetConfig(flags.preset, { vocabSize: flags.vocab, dModel: flags["d-model"], nLayers: flags.layers, nHeads: flags.heads, contextLength: flags.context });
}

/** A new planner of `config`'s shape; its meta records the shape asked for, and the preset when no flag changed it. */
async function freshPlanner(world: World, config: ModelConfig, flags: CommonFlags & ShapeFlags): Promise<Planner> {
  await announceBackend(flags.backend);
  const shape = describeShape(config);
  const preset = shape === describeShape(MODEL_PRESETS[flags.preset]) ? { preset: flags.preset } : {};
  return newPlanner(world, config, flags.seed, { source: flags.out, meta: { worldSeed: world.seed, shape, ...preset } });
}


/**
 * Trains, saves the checkpoint at --out, and writes its report (the loss of each step this run took) beside it;
 * gives the exit code. Ctrl-C stops it after the step in flight, saved unfinished for a rerun to resume.
 */
async function train(
  planner: Planner,
  rows: Parameters<typeof trainSupervised>[1],
  flags: CommonFlags,
  stage: { lr: number; stage: string; about: string; optimizer?: AdamW; meta?: Record<string, unknown> },
): Promise<number> {
  const bar = new ProgressBar(stage.stage);
  const options = {
    steps: flags.steps,
    batchSize: flags["batch-size"],
    learningRate: flags.lr ?? stage.lr,
    minLearningRate: (flags.lr ?? stage.lr) / 10,
    warmupSteps: Math.min(50, Math.floor(flags.steps / 10)),
    seed: flags.seed,
    out: flags.out,
    saveEvery: SAVE_EVERY,
    optimizer: stage.optimizer,
    meta: { stage: stage.stage, ...stage.meta },
    onStep: (m: StepMetrics) => bar.update(m.step, flags.steps, `loss ${m.loss.toFixed(3)} ${Math.round(m.tokensPerSecond)} tok/s`),
  };
  const metrics = await untilInterrupted((signal) => trainSupervised(planner, rows, { ...options, signal }));
  bar.finish();
  const records = metrics.map(({ step, loss, learningRate }) => ({ step, loss, learningRate }));
  const last = metrics.at(-1);
  // The batches never run out: a run short of its steps is one Ctrl-C stopped.
  const interrupted = (last?.step ?? flags.steps) < flags.steps;
  // In the checkpoint's folder, written after its last save: a save replaces the whole folder.
  await writeReport(flags.out, {
    title: `react-rl train ${stage.stage}: ${flags.out}`,
    about: [`${stage.about}.`, stepsShown(metrics, flags.steps, interrupted)],
    tables: last ? [{ header: ["last step", "value"], rows: [["step", String(last.step)], ["loss", last.loss.toFixed(4)], ["tokens/s", Math.round(last.tokensPerSecond).toString()]] }] : [],
    charts: metricCharts(records, "step", [{ title: "Next-token loss", yLabel: "loss", y2Label: "learning rate", curves: [{ key: "loss", name: "loss" }, { key: "learningRate", name: "learning rate", axis: "right" }] }]),
  });
  return interrupted ? stopped() : 0;
}

/** What a report says of the steps its curves show: from where a resumed run began, to where an interrupted one stopped. */
function stepsShown(metrics: readonly StepMetrics[], steps: number, interrupted: boolean): string {
  const first = metrics[0]?.step ?? steps;
  const last = metrics.at(-1)?.step ?? steps;
  const shown = first > 1 ? `Resumed: the curves show steps ${first} to ${last}` : `${last} steps`;
  return interrupted ? `${shown} of ${steps}, interrupted: rerun the same command to resume.` : `${shown}.`;
}
