import type { Tool, ToolContext, ToolEntry } from "./tool.ts";

/** A parsed text action: `Search[Paris]` is `{ name: "Search", argument: "Paris" }`. */
export interface Action {
  name: string;
  argument: string;
}

/** The least a task has: the environment may need more (a gold answer, a context). */
export interface Task {
  id: string;
  question: string;
  answer?: string;
  /** What kind of question it is (a hopworld question family, HotpotQA's bridge or comparison): episodes keep it. */
  type?: string;
}

export interface AnswerScores {
  em: number;
  f1: number;
  fuzzy: number;
}

export interface StepResult {
  observation: string;
  done: boolean;
  /** Non-zero only when the episode ends. */
  reward: number;
  info: {
    /** False when the action named no tool: it counts as an invalid action. */
    valid: boolean;
    /** The submitted answer, on Finish. */
    answer?: string;
    /** How the answer compares with the gold one, on Finish (each in [0, 1]). */
    scores?: AnswerScores;
  };
}

/** One episode's world: it owns the tools and the reward. Make one per episode. */
export interface Environment<T extends Task = Task> {
  readonly tools: readonly Tool[];
  reset(task: T): Promise<string>;
  /** `ctx` carries the episode's signal, for the tools the action calls. */
  step(action: Action, ctx?: ToolContext): Promise<StepResult>;
}

/**
 * A fresh environment for one episode of `task` (environments hold per-episode
 * state), with `tools` more among its own: the `Recall` tool of episodic memory.
 */
export type EnvironmentFactory<T extends Task = Task> = (task: T, tools?: readonly Tool[]) => Environment<T>;

/** The action that ends every episode (the runtime reads its argument to the line's last `]`), listed after the tools. */
export const FINISH_ENTRY: ToolEntry = { form: "Finish[answer]", description: "Gives the answer and ends the task." };

/** The observation for anything that is not a known action (ReAct's wording). */
export function invalidAction(text: string): string {
  return `Invalid action: ${text}`;
}
