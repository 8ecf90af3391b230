import type { PromptTemplate } from "../../prompts/index.ts";
import { parseRecallObservation, type RecalledEpisode } from "../../memory/index.ts";
import type { Task } from "../../tools/environment.ts";
import type { Trajectory } from "../../trajectories/index.ts";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";

export interface RecallingOptions {
  /**
   * How similar (as `Recall` prints it) a remembered question must be for its
   * answer to be reused. Default 0.95: with the hashing embedder, distinct
   * hopworld questions of one template reach 0.94.
   */
  minSimilarity?: number;
}

/** How the thought of a reused answer begins: what tells it from a wrapped policy that finishes at step 2. */
const REUSE_THOUGHT = "A rewarded episode asked";

/** What the episode's first step read, when it was this policy's `Recall`. */
const RECALL_STEP = /\nAction 1: Recall\[.*\]\nObservation 1: ([\s\S]*)\nThought 2:$/;

/**
 * Any policy with an episodic memory in front: step 1 is `Recall[question]`
 * (the environment must have the `Recall` tool); when the closest episode it
 * shows was rewarded and is close enough, step 2 finishes with that episode's
 * answer. Otherwise the wrapped policy carries on, the recall in its transcript.
 */
export class RecallingPolicy<T extends Task = Task> implements Policy<T> {
  readonly name: string;
  readonly model?: string;
  readonly weightsDigest?: string;
  readonly temperature?: number;
  readonly seed?: number;
  readonly defaultPrompt?: PromptTemplate;
  private readonly minSimilarity: number;

  constructor(
    private readonly inner: Policy<T>,
    options: RecallingOptions = {},
  ) {
    this.name = `${inner.name}+recall`;
    this.model = inner.model;
    this.weightsDigest = inner.weightsDigest;
    this.temperature = inner.temperature;
    this.seed = inner.seed;
    this.defaultPrompt = inner.defaultPrompt;
    this.minSimilarity = options.minSimilarity ?? 0.95;
  }

  async act(request: PolicyRequest<T>): Promise<Completion> {
    if (request.step === 1) {
      return { text: ` I should recall whether I have answered this before.\nAction 1: Recall[${request.task.question}]` };
    }
    const recalled = request.step === 2 ? this.reusable(request.prompt) : undefined;
    if (recalled) {
      const thought = `${REUSE_THOUGHT} "${recalled.question}" (similarity ${recalled.similarity.toFixed(2)}); I answer as it did.`;
      return { text: ` ${thought}\nAction 2: Finish[${recalled.answer}]` };
    }
    return this.inner.act(request);
  }

  /** The closest episode the recall showed (a success first among equally close ones), if rewarded and close enough. */
  private reusable(prompt: string): RecalledEpisode | undefined {
    const observation = RECALL_STEP.exec(prompt.slice(prompt.lastIndexOf("\nQuestion:")))?.[1];
    const recalled = parseRecallObservation(observation ?? "");
    const successFirst = (episode: RecalledEpisode) => (episode.outcome === "success" ? 0 : 1);
    const closest = recalled.sort((a, b) => b.similarity - a.similarity || successFirst(a) - successFirst(b))[0];
    const usable = closest?.outcome === "success" && closest.similarity >= this.minSimilarity && closest.answer !== undefined;
    return usable ? closest : undefined;
  }
}

/** Whether a `RecallingPolicy` finished the episode with a remembered answer. */
export function answeredFromMemory(trajectory: Pick<Trajectory, "steps">): boolean {
  const [first, second] = trajectory.steps;
  return !!first?.action.startsWith("Recall[") && !!second?.action.startsWith("Finish[") && second.thought.startsWith(REUSE_THOUGHT);
}
