import type { PromptTemplate } from "../../prompts/index.ts";
import type { Task } from "../../tools/environment.ts";
import type { Usage } from "../../trajectories/schema.ts";

/** What a policy sees when asked for the next step. */
export interface PolicyRequest<T extends Task = Task> {
  /** The whole prompt so far: instructions, exemplars, question, and the steps, ending in `Thought k:`. */
  prompt: string;
  task: T;
  /** 1-based number of the step to write. */
  step: number;
  /** Generation must stop before any of these (the next `Observation`). */
  stop: string[];
  signal?: AbortSignal;
}

/** One continuation of the prompt: the thought and action text, and what the backend knows about it. */
export interface Completion {
  text: string;
  tokens?: number[];
  logprobs?: number[];
  usage?: Usage;
}

/** A policy: any source of ReAct continuations (a hosted LLM, a LangChain chat model, the embedded planner, a script). */
export interface Policy<T extends Task = Task> {
  readonly name: string;
  readonly model?: string;
  /** A digest of the model's weights where the policy knows them (the embedded planner's), so that `model` retrained in place is told apart. */
  readonly weightsDigest?: string;
  readonly temperature?: number;
  readonly seed?: number;
  /** The prompt its episodes run with when the caller gives none: the embedded planner's is the one its weights were trained with. Absent: `hotpotqa`'s. */
  readonly defaultPrompt?: PromptTemplate;
  act(request: PolicyRequest<T>): Promise<Completion>;
}
