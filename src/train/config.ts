/**
 * Settings of each trial-and-error trainer, as zod schemas: the trainers parse
 * their options with them (one place for every default), and `react-rl train
 * rs|rl|dpo|rm` reads them from a JSON file and from flags named after the keys.
 */
import { z } from "zod";
import { DEFAULT_MAX_STEPS } from "../agent/index.ts";
import { UserError } from "../errors.ts";
import { JsonObjectSchema, readJsonFile } from "../files.ts";
import { didYouMean, inWords } from "../options.ts";
import { BACKENDS } from "../lm/index.ts";
import { BASE_PLANNER } from "../planner/index.ts";
import { SuiteSourceSchema } from "../suites/builtin.ts";
import { ADVANTAGE_ESTIMATORS } from "./losses.ts";

/** The hopworld the trainers sample unless told another: the committed base was fine-tuned on world 1's training questions. */
export const TRAINING_WORLD_SEED = 2;

const count = z.number().int().positive();
const rate = z.number().positive();

/** What every optimizer step shares. */
const OptimizerSettings = z.object({
  learningRate: rate.default(1e-4).describe("learning rate (constant)"),
  clipNorm: rate.default(1).describe("gradient clipping by global norm"),
  seed: z.number().int().default(0).describe("sampling and data order"),
});

/** Sampling rollouts through the runtime. */
const RolloutSettings = z.object({
  questions: count.default(64).describe("training questions per round or update, taken in turn from the split (after those the planner was fine-tuned on)"),
  temperature: z.number().min(0).max(2).default(1).describe("sampling temperature of the rollouts"),
  topP: z.number().gt(0).max(1).default(1).describe("nucleus sampling of the rollouts"),
  maxSteps: count.default(DEFAULT_MAX_STEPS).describe("step limit per episode"),
  concurrency: count.default(64).describe("episodes in flight at once (the planner decodes them in one batch)"),
  freeDecoding: z.boolean().default(false).describe("decode without the ReAct turn grammar (malformed actions possible)"),
});

export type RolloutSettings = z.infer<typeof RolloutSettings>;

export const RejectionSettings = OptimizerSettings.extend(RolloutSettings.shape).extend({
  rounds: count.default(3).describe("sample, filter, fine-tune: this many times"),
  samples: count.default(4).describe("samples per question (K)"),
  epochs: count.default(2).describe("passes over each round's kept episodes"),
  batchSize: count.default(16).describe("episodes per optimizer step"),
  rationalize: z.boolean().default(false).describe("retry unsolved questions with the answer as a hint; keep episodes that reach it on their own"),
  keepInvalid: z.boolean().default(false).describe("also keep rewarded episodes that took an invalid action"),
});
export type RejectionSettings = z.infer<typeof RejectionSettings>;

export const REWARDS = ["em", "f1", "rm"] as const;

export const PolicyGradientSettings = OptimizerSettings.extend(RolloutSettings.shape).extend({
  updates: count.default(30).describe("policy updates, each on fresh rollouts"),
  questions: count.default(8).describe("training questions per update, taken in turn from the split (after those the planner was fine-tuned on)"),
  groupSize: z.number().int().min(2).default(8).describe("rollouts per question (G)"),
  advantage: z.enum(ADVANTAGE_ESTIMATORS).default("grpo").describe("grpo: (r - mean) / std; rloo: r - mean of the others"),
  reward: z.enum(REWARDS).default("em").describe("em | f1 | rm (the reward model's P(success); needs rewardModel)"),
  invalidPenalty: z.number().min(0).default(0.1).describe("subtracted from the reward per invalid action"),
  keepZeroAdvantage: z.boolean().default(false).describe("train on episodes with advantage 0 too (groups of equal rewards): only the KL term acts on them"),
  klCoefficient: z.number().min(0).default(0.05).describe("initial weight of the KL penalty to the reference"),
  klTarget: z.number().min(0).default(0.02).describe("KL per token the coefficient adapts to hold (0: keep it fixed)"),
  klHorizon: count.default(256).describe("rollouts over which the KL controller moves the coefficient e-fold"),
  ppoEpochs: count.default(1).describe("passes over each update's rollouts (above 1, importance ratios are clipped)"),
  clipRatio: z.number().positive().max(1).default(0.2).describe("PPO clip range of the importance ratio"),
  minibatch: count.default(16).describe("rollouts per optimizer step"),
  learningRate: rate.default(2e-5).describe("learning rate (constant)"),
});
export type PolicyGradientSettings = z.infer<typeof PolicyGradientSettings>;

export const DpoSettings = OptimizerSettings.extend({
  beta: rate.default(0.1).describe("strength of the implicit KL to the reference"),
  epochs: count.default(2).describe("passes over the pairs"),
  batchSize: count.default(8).describe("pairs per optimizer step"),
  pairsPerQuestion: count.default(4).describe("success/failure pairs per question, at most"),
  learningRate: rate.default(2e-5).describe("learning rate (constant)"),
});
export type DpoSettings = z.infer<typeof DpoSettings>;

export const RM_OBJECTIVES = ["outcome", "preference"] as const;

export const RewardModelSettings = OptimizerSettings.extend({
  objective: z.enum(RM_OBJECTIVES).default("outcome").describe("outcome: BCE on success labels; preference: Bradley-Terry on success/failure pairs"),
  heldOut: z.number().gt(0).lt(1).default(0.2).describe("share of questions held out to measure accuracy"),
  epochs: count.default(3).describe("passes over the training episodes"),
  batchSize: count.default(16).describe("episodes (or pairs) per optimizer step"),
  pairsPerQuestion: count.default(4).describe("for preference: success/failure pairs per question, at most"),
});
export type RewardModelSettings = z.infer<typeof RewardModelSettings>;
export type RunSettings = z.infer<typeof RunSettings>;

/** Where a command-line run reads from and writes to. */
export const RunSettings = z.object({
  name: z
    .string()
    .regex(/^[\w.-]+$/, "letters, digits, '.', '-' or '_'")
    .refine((name) => name !== "." && name !== "..", "a folder's name, not . or ..")
    .optional()
    .describe("run folder runs/NAME; rerun to resume"),
  runs: z.string().default("runs").describe("folder of run folders"),
  model: z.string().default(BASE_PLANNER).describe("checkpoint to start from (default: the committed base planner)"),
  backend: z.enum(BACKENDS).optional().describe("tfjs backend (default: the fastest present, GPUs first)"),
});

/** The suite a method works on: the flags bench names its suite with. */
const SuiteSettings = z.object({
  dataset: SuiteSourceSchema.shape.dataset.default("hopworld").describe("the suite whose training questions are sampled"),
  file: SuiteSourceSchema.shape.file.describe("for hotpotqa, 2wiki, musique: the dataset file (default for hotpotqa and 2wiki: the bundled sample)"),
  world: SuiteSourceSchema.shape.world.describe("for hopworld: a world file (default: the world of the seed below, generated in memory)"),
  worldSeed: SuiteSourceSchema.shape.worldSeed.describe(`for hopworld: the seed of the generated world (default ${TRAINING_WORLD_SEED}: the committed base was fine-tuned on every training question of world 1)`),
  dataSeed: SuiteSourceSchema.shape.dataSeed.describe("for arithmetic: the seed its questions are generated from (default 1)"),
});

/** The suite whose training questions a sampler draws, and where among them it starts. */
const SamplingSuiteSettings = SuiteSettings.extend({
  skipQuestions: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("training questions to pass over after those the planner was fine-tuned on (those an earlier run sampled)"),
});

/** Logged episodes to learn from, and the suite they are episodes of: they are read as its prompt renders them. */
const LogSettings = SuiteSettings.extend({
  dataset: SuiteSettings.shape.dataset.describe("the suite the logged episodes are of, whose prompt renders them"),
  prompt: z.string().optional().describe("the prompt the logged episodes ran with, if not their suite's: a name in prompts/ or a file's path"),
  trajectories: z.array(z.string()).min(1, "name at least one trajectory log").describe("a trajectory log to learn from (JSONL, or a folder holding trajectories.jsonl); repeat the flag for more"),
});

export const RejectionConfig = RunSettings.extend(SamplingSuiteSettings.shape).extend(RejectionSettings.shape);
export const PolicyGradientConfig = RunSettings.extend(SamplingSuiteSettings.shape)
  .extend(PolicyGradientSettings.shape)
  .extend({ rewardModel: z.string().optional().describe("reward model checkpoint (from react-rl train rm), for reward rm") })
  .refine((c) => c.reward !== "rm" || c.rewardModel !== undefined, { message: "reward rm needs a reward model (rewardModel, or --reward-model DIR)", path: ["rewardModel"] })
  .refine((c) => c.reward === "rm" || c.rewardModel === undefined, { message: "a reward model is read only for reward rm (--reward rm)", path: ["rewardModel"] });
export const DpoConfig = RunSettings.extend(LogSettings.shape).extend(DpoSettings.shape);
export const RewardModelConfig = RunSettings.extend(LogSettings.shape).extend(RewardModelSettings.shape);

export type RejectionConfig = z.infer<typeof RejectionConfig>;
export type PolicyGradientConfig = z.infer<typeof PolicyGradientConfig>;
export type DpoConfig = z.infer<typeof DpoConfig>;
export type RewardModelConfig = z.infer<typeof RewardModelConfig>;

/** A setting with no default that neither the config file nor the flags gave. */
export class MissingSettingError extends UserError {
  override name = "MissingSettingError";
  constructor(readonly key: string) {
    super(`bad config: ${key}: required`);
  }
}

/**
 * A method's config: the JSON file's keys, overridden by `overrides` (the flags),
 * checked by `schema`. Unknown keys in the file are mistakes, and said so.
 */
export async function loadConfig<S extends z.ZodType>(schema: S, file: string | undefined, overrides: Record<string, unknown>): Promise<z.infer<S>> {
  const fromFile = file === undefined ? {} : await readJsonFile(file, JsonObjectSchema, "config file");
  const parsed = schema.safeParse({ ...fromFile, ...overrides }, { error: inWords });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.message === "required" && issue.path.length === 1) throw new MissingSettingError(String(issue.path[0]));
    throw new UserError(`bad config${file ? ` (${file} and flags)` : ""}: ${issue.path.join(".")}: ${issue.message}`);
  }
  const known = new Set(Object.keys(objectShape(schema)));
  const unknown = Object.keys(fromFile).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    const named = unknown.map((key) => `${key}${didYouMean(key, [...known])}`);
    throw new UserError(`${file}: unknown config key${unknown.length > 1 ? "s" : ""} ${named.join(", ")}`);
  }
  return parsed.data;
}

/** The fields of an object schema, seen through refinements. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> {
  if (schema instanceof z.ZodObject) return schema.shape as Record<string, z.ZodType>;
  throw new Error("a config schema must be an object schema");
}
