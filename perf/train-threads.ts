/**
 * Training steps on one thread against steps shared among worker threads
 * (`src/train/data-parallel.ts`), on the demo's batches: rollouts the committed base
 * planner samples of hopworld training questions (world 2, 4 samples each, temperature
 * 0.7), as the policy-gradient objective (16 rollouts a step) and the next-token loss
 * rejection sampling trains with. The two settings take turns, each on a fresh copy of
 * the base, the same steps in the same order. DPO's steps take the same batches as pairs.
 *
 *   npm run bench:train-threads [-- --questions 16 --rounds 2 --threads N]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { loadPrompt } from "../prompts/index.ts";
import { numberFlag } from "../src/cli/command.ts";
import { AdamW, describeBackend, disposeModel, targetCount, tokenLogprobs } from "../src/lm/index.ts";
import { ensureBackend, loadPlanner, type Planner } from "../src/planner/index.ts";
import { markdownTable } from "../src/report/table.ts";
import { hopworldSuite } from "../src/suites/builtin.ts";
import { perTarget } from "../src/train/losses.ts";
import { objectiveStep, sampleRollouts, trainingRows, trainingThreads, type Objective } from "../src/train/index.ts";
import { tokenBatch } from "../src/train/supervised.ts";
import { frozenCopy } from "../src/train/runs.ts";
import { generateWorld } from "../src/world/index.ts";

const { values } = parseArgs({ options: { questions: { type: "string", default: "16" }, rounds: { type: "string", default: "2" }, threads: { type: "string" } } });
const flags = z
  .object({ questions: numberFlag(z.number().int().positive()), rounds: numberFlag(z.number().int().positive()), threads: numberFlag(z.number().int().min(2)).optional() })
  .parse(values);

console.error(describeBackend(await ensureBackend()));
const threads = flags.threads ?? trainingThreads();
const base = await loadPlanner();
const suite = hopworldSuite(generateWorld({ seed: 2 }));
const template = await loadPrompt(suite.prompt);
const out = await mkdtemp(join(tmpdir(), "train-threads-"));
const rollouts = await sampleRollouts({
  planner: base, tasks: suite.tasks("train", flags.questions), samples: 4, temperature: 0.7, topP: 1, seed: 1,
  environment: suite.environment, template, dataset: "hopworld-train", out, concurrency: 64, maxSteps: 7, freeDecoding: false,
}).finally(() => rm(out, { recursive: true, force: true }));
const rows = trainingRows(rollouts.groups.flat(), template, base);
const batches = Array.from({ length: Math.floor(rows.length / 16) }, (_, b) => tokenBatch(rows.slice(16 * b, 16 * (b + 1))));
const tokens = batches.reduce((n, b) => n + targetCount(b.ids), 0);
console.error(`${rows.length} rollouts, ${batches.length} steps of 16 a pass, ${tokens.toLocaleString()} tokens`);

type Kind = "policy-gradient" | "next-token" | "dpo";

/**
 * The objectives of a pass: each batch as a policy-gradient step (advantages ±1, the base
 * as reference), a next-token step, or a DPO step on its rows taken as 8 pairs (the
 * reference's sequence log-probabilities set to 0: they do not change the work).
 */
function objectives(planner: Planner, kind: Kind): Objective[] {
  return batches.map((batch, b) => {
    if (kind === "next-token") return { kind, batch };
    if (kind === "dpo") return { kind, batch, refChosen: Array(8).fill(0), refRejected: Array(8).fill(0), beta: 0.1 };
    const refLogprobs = tf.tidy(() => tokenLogprobs(planner.model, batch.ids)).dataSync() as Float32Array;
    return { kind, batch, terms: { advantages: perTarget(batch, batch.ids.map((_, r) => ((r + b) % 2 ? 1 : -1))), refLogprobs, klCoefficient: 0.05, clipRatio: 0.2 } };
  });
}

/** Milliseconds a step, over one pass of `kind` steps on a fresh copy of the base with `count` threads. */
async function pass(kind: Kind, count: number): Promise<{ ms: number; loss: number }> {
  const model = frozenCopy(base.model);
  const optimizer = new AdamW(model, { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 });
  const steps = objectives(base, kind);
  const start = performance.now();
  let loss = 0;
  for (const objective of steps) loss += (await objectiveStep(model, optimizer, objective, 2e-5, 1, count)).loss;
  const ms = (performance.now() - start) / steps.length;
  optimizer.dispose();
  disposeModel(model);
  return { ms, loss: loss / steps.length };
}

const table: string[][] = [];
for (const kind of ["policy-gradient", "next-token", "dpo"] as const) {
  await pass(kind, threads); // starts the workers and warms both paths
  const times: Record<number, number[]> = { 1: [], [threads]: [] };
  const losses: Record<number, number> = {};
  for (let round = 0; round < flags.rounds; round++) {
    for (const count of [1, threads]) {
      const { ms, loss } = await pass(kind, count);
      times[count]!.push(ms);
      losses[count] = loss;
    }
  }
  const best = (count: number) => Math.min(...times[count]!);
  const perStep = tokens / batches.length;
  table.push(
    [kind, "1", times[1]!.map((t) => t.toFixed(0)).join(", "), String(Math.round((1000 * perStep) / best(1))), losses[1]!.toFixed(5), ""],
    [kind, String(threads), times[threads]!.map((t) => t.toFixed(0)).join(", "), String(Math.round((1000 * perStep) / best(threads))), losses[threads]!.toFixed(5), `${(best(1) / best(threads)).toFixed(2)}x`],
  );
}
console.log(markdownTable(["objective", "threads", "ms a step (each pass)", "tokens/s (best pass)", "mean loss (last pass)", "speedup"], table));
