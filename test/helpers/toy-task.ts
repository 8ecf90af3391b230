import type { PromptTemplate } from "../../prompts/index.ts";
import { createModel, trainTokenizer } from "../../src/lm/index.ts";
import { episodeTokens, type Planner } from "../../src/planner/index.ts";
import { trainSupervised } from "../../src/train/supervised.ts";
import type { Action, Environment, StepResult, Task } from "../../tools/environment.ts";
import { TRAJECTORY_VERSION, type Trajectory } from "../../trajectories/index.ts";

/**
 * A one-step toy task a tiny model can learn in seconds: the question names a
 * word, and the episode succeeds when the policy answers `Finish[<that word>]`.
 */
export const TOY_WORDS = ["apple", "pear", "plum", "fig"];
export const TOY_TEMPLATE: PromptTemplate = { instruction: "Answer.", exemplars: [] };
export const TOY_TASKS: Task[] = TOY_WORDS.flatMap((word, i) => [
  { id: `q${i}a`, question: `Say ${word}.`, answer: word },
  { id: `q${i}b`, question: `Please say ${word}.`, answer: word },
]);

/**
 * How the trainers roll out on the toy task. Decoding is free: under the turn grammar
 * the planner could only copy the question's own word, and the task would be solved.
 */
export const TOY_ROLLOUTS = { environment: () => new ToyEnvironment(), template: TOY_TEMPLATE, maxSteps: 1, freeDecoding: true };

export class ToyEnvironment implements Environment<Task> {
  readonly tools = [];
  private task: Task | undefined;

  async reset(task: Task): Promise<string> {
    this.task = task;
    return task.question;
  }

  async step(action: Action): Promise<StepResult> {
    if (action.name !== "Finish") return { observation: `Invalid action: ${action.name}`, done: false, reward: 0, info: { valid: false } };
    const em = action.argument === this.task!.answer ? 1 : 0;
    return { observation: "Episode finished.", done: true, reward: em, info: { valid: true, answer: action.argument, scores: { em, f1: em, fuzzy: em } } };
  }
}

/** The episode in which the policy answers `word` to `task`. */
export function toyEpisode(task: Task, word: string, observation = "Episode finished."): Trajectory {
  const em = word === task.answer ? 1 : 0;
  return {
    version: TRAJECTORY_VERSION,
    id: task.id,
    question: task.question,
    gold: task.answer,
    steps: [{ thought: "Done.", action: `Finish[${word}]`, observation, valid: true, raw: ` Done.\nAction 1: Finish[${word}]`, latencyMs: 0 }],
    answer: word,
    reward: em,
    metrics: { em, f1: em, fuzzy: em, steps: 1, invalid: 0, halted: false },
    meta: { policy: "toy", codeVersion: "0.0.0", startedAt: new Date(0).toISOString(), wallMs: 0 },
  };
}

/**
 * A tiny planner (1 layer, d 32) that knows the format and is right about 40% of the
 * time at temperature 1: fine-tuned on every answer of every question, the right one twice.
 */
export async function toyPlanner(): Promise<Planner> {
  const episodes = TOY_TASKS.flatMap((task) => [task.answer!, ...TOY_WORDS].map((word) => toyEpisode(task, word)));
  const tokenizer = trainTokenizer(
    episodes.map((e) => `${TOY_TEMPLATE.instruction}\n\nQuestion: ${e.question}\nThought 1: Done.\nAction 1: Finish[${e.answer}]`),
    // Version 1: the success rates and step sizes the trainer tests expect were calibrated with it
    { vocabSize: 300, version: 1 },
  );
  const model = createModel({ vocabSize: tokenizer.vocabSize, contextLength: 128, dModel: 32, nLayers: 1, nHeads: 2 }, 1);
  const planner: Planner = { model, tokenizer, source: "toy", meta: {} };
  const rows = episodes.map((e) => episodeTokens(e, TOY_TEMPLATE, tokenizer));
  await trainSupervised(planner, rows, { steps: 150, batchSize: 16, learningRate: 1e-2, warmupSteps: 5 });
  return planner;
}
