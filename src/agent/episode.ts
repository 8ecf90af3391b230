import { z } from "zod";
import { loadPrompt, PromptTemplateOption, type PromptTemplate } from "../../prompts/index.ts";
import { invalidAction, type AnswerScores, type Environment, type StepResult, type Task } from "../../tools/environment.ts";
import { TRAJECTORY_VERSION, type RunMeta, type Step, type Trajectory } from "../../trajectories/schema.ts";
import { cutAtInventedObservation, parseStep } from "./parse.ts";
import type { Completion, Policy } from "./policy.ts";
import { renderPrompt, withToolList } from "./prompt.ts";
import { checkArgument, functionOption, parseOptions } from "../options.ts";
import { UserError } from "../errors.ts";
import { VERSION } from "../version.ts";

/** ReAct's step limit for HotpotQA. */
export const DEFAULT_MAX_STEPS = 7;

/** The least of a task, where a script passes one: JavaScript lets anything through. */
export const TaskOption = z.looseObject({ id: z.string(), question: z.string() });

/** Tasks where a script passes them: episodes are keyed by task id, so two tasks of one id would be run and logged as one. */
export const TasksOption = z.array(TaskOption).check((ctx) => {
  const seen = new Set<string>();
  for (const task of ctx.value) {
    if (seen.has(task.id)) {
      ctx.issues.push({ code: "custom", input: ctx.value, message: `two tasks have id ${task.id}: give each task its own id` });
      return;
    }
    seen.add(task.id);
  }
});

/** A policy where a script passes one: anything with `act`. */
export const PolicyOption = z.custom<Policy>((policy) => typeof (policy as Partial<Policy> | null)?.act === "function", "expected a Policy: an object with act(request)");

/** An environment factory where a script passes one, and may pass an environment instead. */
export const EnvironmentFactoryOption = functionOption("a function from a task to its environment, not an environment");

/** An episode's options, as a script may get them wrong (a prompt given as text, no task): checked, then used as given. */
const EpisodeOptionsSchema = z.object({
  task: TaskOption,
  /** Steps before the episode is cut off as halted; default `DEFAULT_MAX_STEPS`. */
  maxSteps: z.number().int().min(1).optional(),
  /** Instruction and exemplars; default the policy's own (`promptOf`). A `{tools}` in the instruction lists the environment's tools. */
  prompt: PromptTemplateOption.optional(),
  /** Run facts the caller knows (dataset, ...); they override the ones filled in here. */
  meta: z.record(z.string(), z.unknown()).optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

export interface EpisodeOptions<T extends Task> extends Omit<z.input<typeof EpisodeOptionsSchema>, "task" | "meta"> {
  task: T;
  meta?: Partial<RunMeta>;
}

/**
 * Runs one ReAct episode: the policy writes a thought and an action, the
 * environment answers with an observation, until Finish or `maxSteps`.
 * Unreadable actions still take a step and are shown to the policy as invalid.
 */
export async function runEpisode<T extends Task>(
  policy: Policy<T>,
  environment: Environment<T>,
  options: EpisodeOptions<T>,
): Promise<Trajectory> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  parseOptions("runEpisode", EpisodeOptionsSchema, options);
  checkArgument("runEpisode", "policy", PolicyOption, policy);
  const { task, maxSteps = DEFAULT_MAX_STEPS, signal } = options;
  const template = withToolList(options.prompt ?? (await promptOf(policy)), environment.tools);
  // The first observation only restates the question, which the prompt already shows.
  await environment.reset(task);
  const steps: Step[] = [];
  let finish: StepResult | undefined;
  for (let number = 1; number <= maxSteps && !finish; number++) {
    signal?.throwIfAborted();
    const prompt = renderPrompt(template, task.question, steps, number);
    const { step, result } = await takeStep(policy, environment, { prompt, task, step: number, signal });
    steps.push(step);
    if (result?.done) finish = result;
  }
  return {
    version: TRAJECTORY_VERSION,
    id: task.id,
    question: task.question,
    ...(task.type !== undefined && { type: task.type }),
    gold: task.answer,
    steps,
    answer: finish?.info.answer ?? null,
    reward: finish?.reward ?? 0,
    metrics: {
      ...scoresOf(finish),
      steps: steps.length,
      invalid: steps.filter((step) => !step.valid).length,
      halted: finish === undefined,
    },
    meta: {
      ...episodeSettings(policy, maxSteps),
      codeVersion: VERSION,
      startedAt,
      wallMs: performance.now() - started,
      ...options.meta,
    },
  };
}

/** The meta an episode records of how it ran (who acted, how, for how many steps): what a resumed run must share. */
export function episodeSettings<T extends Task>(policy: Policy<T>, maxSteps = DEFAULT_MAX_STEPS): Pick<RunMeta, "policy" | "model" | "weightsDigest" | "temperature" | "seed" | "maxSteps"> {
  return { policy: policy.name, model: policy.model, weightsDigest: policy.weightsDigest, temperature: policy.temperature, seed: policy.seed, maxSteps };
}

interface StepRequest<T extends Task> {
  prompt: string;
  task: T;
  step: number;
  signal?: AbortSignal;
}

/** One Thought/Action/Observation: `result` is absent when the action was unreadable and never reached the environment. */
async function takeStep<T extends Task>(
  policy: Policy<T>,
  environment: Environment<T>,
  request: StepRequest<T>,
): Promise<{ step: Step; result?: StepResult }> {
  const before = performance.now();
  const completion = await policy.act({ ...request, stop: [`\nObservation ${request.step}:`] });
  const latencyMs = performance.now() - before;
  // A policy of the user's own, from JavaScript, may answer anything: said here, not as a TypeError in the parser
  if (typeof (completion as Partial<Completion> | undefined)?.text !== "string") {
    throw new UserError(`runEpisode: policy ${policy.name} answered ${String(JSON.stringify(completion)).slice(0, 80)}, not a completion ({ text })`);
  }
  const raw = cutAtInventedObservation(completion.text);
  const parsed = parseStep(raw, request.step);
  const result = parsed.action ? await environment.step(parsed.action, { signal: request.signal }) : undefined;
  const step: Step = {
    thought: parsed.thought,
    action: parsed.actionText,
    observation: result?.observation ?? invalidAction(parsed.actionText || raw.trim()),
    valid: result?.info.valid ?? false,
    raw,
    ...completionDetails(completion, raw.length < completion.text.length),
    latencyMs,
  };
  return result ? { step, result } : { step };
}

/** Tokens and logprobs describe the whole completion, so they are kept only when none of it was cut. */
function completionDetails(completion: Completion, wasCut: boolean): Pick<Step, "tokens" | "logprobs" | "usage"> {
  const details: Pick<Step, "tokens" | "logprobs" | "usage"> = {};
  if (completion.usage) details.usage = completion.usage;
  if (completion.tokens && !wasCut) details.tokens = completion.tokens;
  if (completion.logprobs && !wasCut) details.logprobs = completion.logprobs;
  return details;
}

function scoresOf(finish: StepResult | undefined): AnswerScores {
  const scores = finish?.info.scores;
  return { em: scores?.em ?? 0, f1: scores?.f1 ?? 0, fuzzy: scores?.fuzzy ?? 0 };
}

let hotpotqaPrompt: Promise<PromptTemplate> | undefined;

/**
 * The prompt a policy's episodes run with when the caller gives none: its `defaultPrompt`, else
 * `hotpotqa`'s (read once). It asks for `name` too: a type of optional fields alone is "weak", and
 * TypeScript refuses a policy with none of them.
 */
export async function promptOf(policy: Pick<Policy, "name" | "defaultPrompt">): Promise<PromptTemplate> {
  if (policy.defaultPrompt) return policy.defaultPrompt;
  hotpotqaPrompt ??= loadPrompt();
  return hotpotqaPrompt;
}
