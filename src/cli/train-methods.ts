/**
 * `react-rl train rs|rl|dpo|rm`: the trial-and-error trainers on the command line.
 * Every setting is a key of the method's config schema (src/train/config.ts), read
 * from `--config FILE` (JSON) and from a flag of the same name in kebab case, which
 * wins. The run folder runs/NAME holds checkpoints and metrics; rerun to resume.
 */
import { join } from "node:path";
import { z } from "zod";
import type { QaTask } from "../../tools/wiki/index.ts";
import type { Trajectory } from "../../trajectories/index.ts";
import { loadPlanner, type Planner } from "../planner/index.ts";
import { announceBackend } from "./backend.ts";
import { demonstratedTasks, openSuite, splitDataset, type Suite, type SuiteSource } from "../suites/index.ts";
import {
  dpo,
  DpoConfig,
  DpoSettings,
  loadConfig,
  MissingSettingError,
  policyGradient,
  PolicyGradientConfig,
  PolicyGradientSettings,
  rejectionSampling,
  RejectionConfig,
  RejectionSettings,
  RewardModel,
  RewardModelConfig,
  RewardModelSettings,
  trainRewardModel,
  TRAINING_WORLD_SEED,
  type EpisodeTrainingOptions,
  type MetricsRecord,
  type RunSettings,
  type TrainingProgress,
  type TrainingResult,
} from "../train/index.ts";
import { UserError } from "../errors.ts";
import { metricCharts, writeReport, type MetricChart, type Table } from "../report/report.ts";
import type { Command, OptionSpec } from "./command.ts";
import { baseType, checkFolder, defineCommand, numberFlag, optionsOf, UsageError } from "./command.ts";
import { stopped, untilInterrupted } from "./interrupt.ts";
import { readEpisodesOf } from "./logs.ts";
import { loadNamedPrompt } from "./prompt.ts";
import { counted, ProgressBar } from "./progress.ts";

/** The learning curves of a rejection-sampling run, from its metrics.jsonl (the demo draws them too). */
export const REJECTION_CHARTS: readonly MetricChart[] = [
  {
    title: "Rejection sampling: rollouts",
    yLabel: "share",
    curves: [
      { key: "success", name: "success (episodes)" },
      { key: "solved", name: "solved (questions)" },
      { key: "invalidRate", name: "invalid actions" },
    ],
  },
  { title: "Rejection sampling: fine-tuning", yLabel: "loss", y2Label: "episodes", curves: [{ key: "loss", name: "loss" }, { key: "kept", name: "episodes kept", axis: "right" }] },
];

/** The learning curves of a policy-gradient run: the KL to the starting planner on an axis of its own. */
export const POLICY_GRADIENT_CHARTS: readonly MetricChart[] = [
  {
    title: "Policy gradient: reward and KL to the starting planner",
    yLabel: "reward, success",
    y2Label: "KL per token",
    curves: [{ key: "reward", name: "reward" }, { key: "success", name: "success" }, { key: "kl", name: "KL", axis: "right" }],
  },
  { title: "Policy gradient: optimisation", yLabel: "loss", y2Label: "KL coefficient", curves: [{ key: "loss", name: "loss" }, { key: "klCoefficient", name: "KL coefficient", axis: "right" }] },
];

/** Placeholders for the string settings that name files and folders. */
const PLACEHOLDERS: Record<string, string> = { name: "NAME", runs: "DIR", model: "DIR", rewardModel: "DIR", file: "PATH", world: "FILE", trajectories: "FILE", prompt: "NAME|FILE" };

/** What a method needs from the command line: its settings, the rest of its config, where to write, how to report. */
interface MethodRun<C, S> {
  /** The command's whole config: the method's settings, and the run, model and suite they apply to. */
  config: C;
  /** The method's own settings, out of `config`. */
  settings: S;
  /** The config's suite (`dataset` and its settings): rs and rl sample its training questions, dpo and rm read their logs as its episodes. */
  suite: Suite;
  /** The prompt `options.template` is, as the config named it. */
  promptName: string;
  /** What every trainer takes besides its settings; `template` renders every episode it trains on (the suite's prompt, or dpo's and rm's --prompt). */
  options: Pick<EpisodeTrainingOptions, "planner" | "template" | "out" | "signal" | "onProgress">;
}

const rsCommand = methodCommand({
  method: "rs",
  summary: "rejection sampling (STaR / ReST-EM / RAFT): sample, keep rewarded episodes, fine-tune, repeat",
  about: `Each round samples K episodes of the next training questions with the current planner, keeps
the rewarded ones (one per distinct action sequence), and fine-tunes on them.`,
  schema: RejectionConfig,
  settings: RejectionSettings,
  counter: "round",
  charts: REJECTION_CHARTS,
  async train(run) {
    return rejectionSampling({ ...run.settings, ...run.options, ...trainingQuestions(run, run.settings.rounds, "round") });
  },
});

const rlCommand = methodCommand({
  method: "rl",
  summary: "policy gradient (GRPO / RLOO) with a KL penalty to the starting planner, adaptively held at a target",
  about: `Each update samples G episodes of each of the next training questions, turns each group's
rewards into advantages, and minimises the (optionally PPO-clipped) surrogate plus the KL penalty
on the planner's own tokens.`,
  schema: PolicyGradientConfig,
  settings: PolicyGradientSettings,
  counter: "update",
  charts: POLICY_GRADIENT_CHARTS,
  async train(run) {
    const rewardModel = run.config.rewardModel === undefined ? undefined : await RewardModel.load(run.config.rewardModel, run.options.template);
    return policyGradient({ ...run.settings, ...run.options, ...trainingQuestions(run, run.settings.updates, "update"), rewardModel });
  },
});

const dpoCommand = methodCommand({
  method: "dpo",
  summary: "direct preference optimisation on success/failure pairs of logged episodes",
  about: `Pairs a successful and a failed episode of the same question (from --trajectories logs, e.g.
a run's rollouts or react-rl collect) and trains the planner to prefer the success, relative to
the frozen starting planner. It reads them with the prompt they ran with: their suite's
(--dataset, default hopworld) unless --prompt names another; logs that record another are refused.`,
  schema: DpoConfig,
  settings: DpoSettings,
  counter: "step",
  charts: [
    { title: "Preferences", yLabel: "pairs preferred", y2Label: "margin", curves: [{ key: "accuracy", name: "pairs preferred" }, { key: "margin", name: "margin", axis: "right" }] },
    { title: "Loss", yLabel: "loss", curves: [{ key: "loss", name: "loss" }] },
    { title: "Implicit rewards", yLabel: "β · log-ratio", curves: [{ key: "chosenReward", name: "chosen" }, { key: "rejectedReward", name: "rejected" }] },
  ],
  async train(run) {
    return dpo({ ...run.settings, ...run.options, episodes: await loggedEpisodes(run) });
  },
});

const rmCommand = methodCommand({
  method: "rm",
  summary: "train a reward model on logged episodes; reports held-out accuracy and best-of-n",
  about: `Starts from --model's weights and learns P(success) of a whole episode from --trajectories logs.
Questions held out (--held-out) measure its accuracy, and best-of-n ranked by it against one
sample. The run's checkpoint is the reward model (for rl --reward rm --reward-model DIR, on the
same suite). It reads the logs with the prompt they ran with: their suite's (--dataset, default
hopworld) unless --prompt names another; logs that record another are refused.`,
  schema: RewardModelConfig,
  settings: RewardModelSettings,
  counter: "step",
  charts: [{ title: "Training", yLabel: "loss", y2Label: "accuracy", curves: [{ key: "loss", name: "loss" }, { key: "accuracy", name: "accuracy (batch)", axis: "right" }] }],
  async train(run) {
    const { evaluation, ...result } = await trainRewardModel({ ...run.settings, ...run.options, episodes: await loggedEpisodes(run) });
    if (!evaluation) return result;
    const { accuracy, episodes, successRate, bestOfN } = evaluation;
    console.log(`held-out accuracy ${accuracy.toFixed(3)} on ${episodes} episodes (always "failed": ${(1 - successRate).toFixed(3)})`);
    console.log(`best-of-${count(bestOfN.n)} EM ${bestOfN.best.toFixed(3)} vs one sample ${bestOfN.single.toFixed(3)} (oracle ${bestOfN.oracle.toFixed(3)}) on ${bestOfN.questions} questions`);
    const evaluationTable: Table = {
      header: ["held-out questions", "value"],
      rows: [
        ["accuracy", accuracy.toFixed(3)],
        ["always \"failed\"", (1 - successRate).toFixed(3)],
        [`EM of the best of ${count(bestOfN.n)} by the reward model`, bestOfN.best.toFixed(3)],
        ["EM of one sample", bestOfN.single.toFixed(3)],
        ["EM of the best, known (oracle)", bestOfN.oracle.toFixed(3)],
      ],
    };
    return { ...result, evaluationTable };
  },
});

/** The trainers' commands, for main's command list. */
export const trainMethodCommands: Command[] = [rsCommand, rlCommand, dpoCommand, rmCommand];

/** A `train METHOD` command whose flags are its config schema's keys. */
function methodCommand<S extends z.ZodObject, T extends z.ZodObject>(spec: {
  method: string;
  summary: string;
  about: string;
  /** The command's config: the method's settings and the run's. */
  schema: S;
  /** The settings the method's function takes. */
  settings: T;
  counter: string;
  /** The learning curves of its report, from metrics.jsonl. */
  charts: readonly MetricChart[];
  /** The run's metrics, and a table of what the method measured after training (held-out figures), if any. */
  train(run: MethodRun<z.infer<S>, z.infer<T>>): Promise<TrainingResult & { evaluationTable?: Table }>;
}): Command {
  const fields = Object.entries(spec.schema.shape as Record<string, z.ZodType>);
  const options: OptionSpec = { config: { type: "string" }, ...optionsOf(spec.schema, kebab) };
  // Numeric flags are checked as every command's are; the config (file and flags together) is checked after
  const numberFlags = fields.flatMap(([key, field]) => {
    const base = baseType(field);
    return base instanceof z.ZodNumber ? [[kebab(key), numberFlag(base).optional()] as const] : [];
  });
  return defineCommand({
    name: `train ${spec.method}`,
    summary: spec.summary,
    usage: `react-rl train ${spec.method} [--config FILE] [options]

${spec.about}

  --config FILE        settings as a JSON object, keys as below in camelCase; flags override it
${fields.map(([key, field]) => flagUsage(key, field, spec.method)).join("\n")}

Writes runs/NAME/: config.json, checkpoint/ (the trained model), metrics.jsonl (one line per
${spec.counter}), report.html and curves.svg (the learning curves). Killed or stopped with Ctrl-C,
the same command resumes at the next ${spec.counter}.`,
    options,
    flags: z.object({ config: z.string().optional(), ...Object.fromEntries(numberFlags) }).catchall(z.unknown()),
    async run(flags) {
      const overrides = Object.fromEntries(
        fields.flatMap(([key]) => {
          const value = flags[kebab(key)];
          return value === undefined ? [] : [[key, value]];
        }),
      );
      const config = (await loadConfig(spec.schema, flags.config, overrides).catch((error: unknown) => {
        if (error instanceof MissingSettingError) throw new UsageError(`--${kebab(error.key)} is required (or "${error.key}" in a --config file)`);
        throw error;
      })) as z.infer<S> & RunSettings & SuiteSource;
      const out = join(config.runs, config.name ?? spec.method);
      await checkFolder("run folder", out);
      await announceBackend(config.backend);
      const planner = await loadPlanner(config.model, config.backend);
      const suite = await openSuite(config, TRAINING_WORLD_SEED);
      // dpo and rm render logged episodes with the prompt they ran with; rs and rl sample with the suite's
      const promptName = ("prompt" in config ? (config.prompt as string | undefined) : undefined) ?? suite.prompt;
      const template = await loadNamedPrompt(promptName);
      const bars = trainingProgressBars(spec.counter);
      const result = await untilInterrupted((signal) =>
        spec.train({ config, settings: spec.settings.parse(config), suite, promptName, options: { planner, template, out, signal, onProgress: (p) => bars.update(p) } }),
      );
      bars.finish();
      const last = result.metrics.at(-1);
      if (!result.interrupted && result.ran === 0) console.error(`${out} had finished its ${counted(result.metrics.length, spec.counter)}: nothing more to do`);
      if (last) console.log(formatRecord(last));
      const report = await writeReport(out, {
        title: `react-rl train ${spec.method}: ${out}`,
        about: [`${spec.summary}.`, `${result.metrics.length} ${spec.counter}s${result.interrupted ? " so far (interrupted)" : ""}, from ${config.model}.`],
        tables: [...(result.evaluationTable ? [result.evaluationTable] : []), ...(last ? [recordTable(last)] : [])],
        charts: metricCharts(result.metrics, spec.counter, spec.charts),
        files: ["config.json", "metrics.jsonl"],
      });
      const files = last ? `checkpoint ${join(out, "checkpoint")}, metrics ${join(out, "metrics.jsonl")}` : `no ${spec.counter} finished yet`;
      console.log(`run: ${out} (${files}, report ${report})`);
      console.log(JSON.stringify({ run: out, ...last }));
      return result.interrupted ? stopped() : 0;
    },
  });
}

/**
 * The suite's training questions after those the planner was fine-tuned on (and `skipQuestions` more),
 * their environment, and the name their logs record. Says so when `rounds` rounds (or updates) of them run past the last question.
 */
function trainingQuestions(
  run: MethodRun<{ skipQuestions: number }, { questions: number }>,
  rounds: number,
  counter: string,
): { tasks: QaTask[]; environment: Suite["environment"]; dataset: string } {
  const { suite, config, settings } = run;
  const tasks = untriedTasks(suite, run.options.planner, config.skipQuestions);
  const fresh = Math.floor(tasks.length / settings.questions);
  if (rounds > fresh) {
    const left = `note: ${counted(tasks.length, "training question")} left`;
    console.error(fresh === 0 ? `${left}, fewer than ${settings.questions} per ${counter}: every ${counter} samples the same ones` : `${left}, enough for ${counted(fresh, counter)} of ${settings.questions}: later ${counter}s sample them again`);
  }
  return { tasks, environment: suite.environment, dataset: splitDataset(suite, "train") };
}

/** The episodes of the `trajectories` logs, refused when they record another suite or prompt than the run renders them with. */
function loggedEpisodes(run: MethodRun<{ trajectories: string[] }, unknown>): Promise<Trajectory[]> {
  return readEpisodesOf(run.config.trajectories, run.suite.name, { name: run.promptName, template: run.options.template, showsExemplars: true });
}

/** A suite's training questions after those the planner was fine-tuned on, and `skip` more; a user error when none are left. */
export function untriedTasks(suite: Suite, planner: Planner, skip = 0): QaTask[] {
  const demonstrated = demonstratedTasks(planner.meta, suite);
  const tasks = suite.tasks("train").slice(demonstrated + skip);
  if (tasks.length === 0) {
    const [what, other] = suite.name === "hopworld" ? [`world ${suite.identity.worldSeed}`, "world"] : [suite.label, "suite"];
    throw new UserError(`${what} has no training question left after the ${demonstrated} the planner was fine-tuned on${skip > 0 ? ` and ${skip} skipped` : ""}: pick another ${other}`);
  }
  return tasks;
}

/** A count that may be a mean: `4`, or `3.5`. */
function count(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** A trainer's progress as bars: one per phase of each round, update or epoch, the next replacing the last. */
export function trainingProgressBars(counter: string): { update: (progress: TrainingProgress) => void; finish: () => void } {
  let bar: ProgressBar | undefined;
  let label = "";
  return {
    update(p) {
      const next = `${counter} ${p.index} ${p.phase}`;
      if (next !== label) {
        bar?.finish();
        bar = new ProgressBar(next);
        label = next;
      }
      bar!.update(p.done, p.total, p.status);
    },
    finish: () => bar?.finish(),
  };
}

function formatRecord(record: MetricsRecord): string {
  const entries = recordEntries(record);
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}

/** The last record's figures, for the report. */
function recordTable(record: MetricsRecord): Table {
  return { header: ["last record", "value"], rows: recordEntries(record) };
}

function recordEntries(record: MetricsRecord): [string, string][] {
  return Object.entries(record).map(([key, value]) => [key, typeof value === "number" && !Number.isInteger(value) ? value.toFixed(4) : String(value)]);
}

/** `--group-size N  rollouts per question (G) (default 8)`, from the schema field. */
function flagUsage(key: string, field: z.ZodType, method: string): string {
  const kind = baseType(field);
  const placeholder =
    kind instanceof z.ZodEnum ? (kind.options as string[]).join("|") : kind instanceof z.ZodNumber ? "N" : kind instanceof z.ZodBoolean ? "" : (PLACEHOLDERS[key] ?? "TEXT");
  const flag = `  --${kebab(key)}${placeholder && ` ${placeholder}`}`;
  const description = field.description ?? "";
  const fallback = key === "name" ? method : field instanceof z.ZodDefault ? String(field.def.defaultValue) : undefined;
  const shown = fallback === undefined || description.includes("(default") ? description : `${description} (default ${fallback})`;
  return flag.length < 22 ? `${flag.padEnd(22)} ${shown}` : `${flag}\n${" ".repeat(23)}${shown}`;
}

/** The type under `.optional()` and `.default()`. */
function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
