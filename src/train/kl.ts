import * as tf from "@tensorflow/tfjs";
import type { PromptTemplate } from "../../prompts/index.ts";
import type { Trajectory } from "../../trajectories/index.ts";
import { tokenLogprobs, type LanguageModel } from "../lm/index.ts";
import { episodeTokens, type Planner } from "../planner/index.ts";
import { klK3, maskedMean, targetMask } from "./losses.ts";

/**
 * How far the planner has moved from a reference: the mean k3 estimate of
 * KL(planner ‖ reference) per policy token, over episodes the planner wrote.
 */
export function klToReference(planner: Planner, reference: LanguageModel, episodes: readonly Trajectory[], template: PromptTemplate): number {
  if (episodes.length === 0) return 0;
  const rows = episodes.map((t) => episodeTokens(t, template, planner.tokenizer));
  const batch = { ids: rows.map((r) => r.ids), mask: rows.map((r) => r.mask) };
  return tf.tidy(() => {
    const kl = klK3(tokenLogprobs(planner.model, batch.ids), tokenLogprobs(reference, batch.ids));
    return maskedMean(kl, tf.tensor1d(targetMask(batch))).dataSync()[0]!;
  });
}
