import * as tf from "@tensorflow/tfjs";
import type { PromptTemplate } from "../../prompts/index.ts";
import type { Trajectory } from "../../trajectories/index.ts";
import { targetMask, type LanguageModel } from "../lm/index.ts";
import type { Planner } from "../planner/index.ts";
import { rowLogprobs } from "./data-parallel.ts";
import { klK3 } from "./losses.ts";
import { joined } from "./objectives.ts";
import { trainingRows } from "./rollouts.ts";
import { tokenBatch } from "./supervised.ts";

/** Episodes per forward pass: bounds memory whatever the number of episodes. */
const CHUNK = 16;

/**
 * How far the planner has moved from a reference: the mean k3 estimate of
 * KL(planner ‖ reference) per policy token, over episodes the planner wrote.
 */
export async function klToReference(planner: Planner, reference: LanguageModel, episodes: readonly Trajectory[], template: PromptTemplate): Promise<number> {
  const rows = trainingRows(episodes, template, planner);
  let total = 0;
  let tokens = 0;
  for (let at = 0; at < rows.length; at += CHUNK) {
    const batch = tokenBatch(rows.slice(at, at + CHUNK));
    const mask = targetMask(batch);
    const [mine, theirs] = [joined(await rowLogprobs(planner.model, batch.ids)), joined(await rowLogprobs(reference, batch.ids))];
    const sum = tf.tidy(() => tf.sum(tf.mul(klK3(tf.tensor1d(mine), tf.tensor1d(theirs)), tf.tensor1d(mask))));
    total += (await sum.data())[0]!;
    sum.dispose();
    tokens += mask.reduce((n, m) => n + m, 0);
  }
  return tokens === 0 ? 0 : total / tokens;
}
