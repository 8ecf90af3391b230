import { exemplarText, type PromptHead } from "../trajectories/index.ts";
import type { EpisodicMemory, MemoryRecord } from "./episodic.ts";

export interface FewShotOptions {
  /** Exemplars in the prompt (default 3). */
  k?: number;
  /** Episodes never to show, e.g. the question's own earlier runs (its answer would leak). */
  exclude?: (episode: MemoryRecord) => boolean;
}

/**
 * A prompt whose exemplars are the past successes most like `question`,
 * written out as ReAct transcripts (the same text as the bundled exemplars).
 * When memory has fewer than k, the base prompt's own exemplars fill the rest.
 * Returns a `PromptTemplate` (structurally: instruction and exemplars).
 */
export async function fewShotPrompt(
  memory: EpisodicMemory,
  base: PromptHead,
  question: string,
  options: FewShotOptions = {},
): Promise<{ instruction: string; exemplars: string[] }> {
  const k = options.k ?? 3;
  const recalled = await memory.recall(question, k, { successOnly: true, exclude: options.exclude });
  const exemplars = recalled.map((r) => exemplarText(r.trajectory));
  return { instruction: base.instruction, exemplars: [...exemplars, ...base.exemplars.slice(0, k - exemplars.length)] };
}
