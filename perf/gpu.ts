/**
 * Training speed of the embedded model (default config) on one tfjs backend, GPU ones
 * included: ms/step, tokens/s and achieved GFLOP/s (counted as perf/lm.ts explains)
 * for a few batch shapes, the last one large enough to show whether a GPU keeps up as
 * the batch grows, next to a plain 2-D matmul on the same backend. Token ids are made
 * up: their values do not change the work.
 *
 * Generation is timed first: sequences/s continuing --batches prompts (comma-separated
 * batch sizes) in one batch, against --singles of them one at a time, as perf/lm.ts
 * times it (on a GPU, per-op overhead rather than arithmetic bounds a step, so the
 * gain from batching can be larger than on a CPU).
 *
 *   npm run bench:gpu [-- --backend webgpu --steps 5 --shapes 4x512,8x256,64x512 --matmul 512
 *                         --batches 32,128 --singles 8 --new-tokens 48 --json result.json]
 *
 * A step is the trainers' own trainStep, which reads back only with data() (tfjs's
 * WebGPU backend cannot read synchronously in Node). perf/gpu-device.sh bundles this
 * script to run on a GPU machine that has no node_modules. The timing pieces below are
 * shared with perf/lm.ts.
 */
import { realpathSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import type { QaTask } from "../tools/wiki/index.ts";
import { loadDataset } from "../src/suites/datasets.ts";
import { HOTPOTQA_SAMPLE } from "../src/suites/bundled.ts";
import {
  AdamW,
  BACKENDS,
  createModel,
  DEFAULT_MODEL_CONFIG,
  describeBackend,
  disposeModel,
  generate,
  gpuAdapter,
  parameterCount,
  selectBackend,
  TrainOptions,
  trainStep,
  trainTokenizer,
  type BackendName,
  type LanguageModel,
  type ModelConfig,
  type Tokenizer,
} from "../src/lm/index.ts";

/**
 * Wall-clock and CPU time of `run` (the median of `runs` after a warm-up, or the best
 * for a peak rate). tfjs WASM runs on one thread, so CPU time is the time the work
 * itself took even when other processes share the cores; wall time is what a user waits.
 */
export async function timed(runs: number, run: () => unknown, pick: "median" | "best" = "median"): Promise<{ wallMs: number; cpuMs: number }> {
  await run();
  const samples: { wallMs: number; cpuMs: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const [wall, cpu] = [performance.now(), process.cpuUsage()];
    await run();
    const used = process.cpuUsage(cpu);
    samples.push({ wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 });
  }
  const at = pick === "median" ? Math.floor(runs / 2) : 0;
  const choose = (key: "wallMs" | "cpuMs") => samples.map((s) => s[key]).sort((a, b) => a - b)[at];
  return { wallMs: choose("wallMs"), cpuMs: choose("cpuMs") };
}

/** GFLOP/s of a plain 2-D size×size×size matmul, read back with data() so that every backend can run it. */
export async function matmulGflops(size = 512) {
  const [a, b] = [tf.randomNormal([size, size]), tf.randomNormal([size, size])];
  // Ten products per run: CPU time is counted in coarse ticks. Summed by pairs (see globalNorm)
  const tenProducts = async () => {
    const sum = tf.tidy(() => Array.from({ length: 10 }, () => tf.matMul(a, b)).reduce((total, p) => tf.add(total, p)));
    await sum.data();
    sum.dispose();
  };
  const t = await timed(15, tenProducts, "best");
  tf.dispose([a, b]);
  return { wall: (20 * size ** 3) / t.wallMs / 1e6, cpu: (20 * size ** 3) / t.cpuMs / 1e6 };
}

/** FLOPs per trained token at sequence length T: 6·N + 12·L·T·d, as perf/lm.ts explains. */
export function flopsPerToken(config: ModelConfig, T: number): number {
  const { dModel: d, nLayers: L, mlpRatio, vocabSize: V } = config;
  return 6 * (L * (4 + 2 * mlpRatio) * d * d + d * V) + 12 * L * T * d;
}

/**
 * Median time of `steps` optimizer steps on token rows `ids` (all of one length), as
 * rates, with the first and last losses. The first shape's first loss comes from the
 * new model's weights, so it should agree across backends: a fast one that computes
 * something else shows there.
 */
export async function trainingRate(model: LanguageModel, ids: number[][], steps: number) {
  const optimizer = new AdamW(model, TrainOptions.parse({ steps: 1 }));
  const batch = { ids, mask: ids.map((row) => row.map(() => 1)) };
  const losses: number[] = [];
  const t = await timed(steps, async () => losses.push((await trainStep(model, optimizer, batch, 1e-4, 1)).loss));
  optimizer.dispose();
  const [rows, length] = [ids.length, ids[0].length - 1];
  const tokens = rows * length;
  const gflop = (tokens * flopsPerToken(model.config, length)) / 1e9;
  return { rows, length, ...t, losses: [losses[0], losses.at(-1)], tokensPerSecond: (1000 * tokens) / t.wallMs, gflops: { wall: gflop / (t.wallMs / 1000), cpu: gflop / (t.cpuMs / 1000) } };
}

/** The bundled HotpotQA sample: its questions and paragraphs, and a tokenizer trained on the paragraphs. */
export async function hotpotSample() {
  const tasks = await loadDataset(HOTPOTQA_SAMPLE);
  const paragraphs = tasks.flatMap((t) => t.context.map(([title, sentences]) => `${title}\n${sentences.join("")}`));
  const start = performance.now();
  const tokenizer = trainTokenizer(paragraphs.slice(0, 2000), { vocabSize: DEFAULT_MODEL_CONFIG.vocabSize });
  return { tasks, paragraphs, tokenizer, tokenizerMs: performance.now() - start };
}

/** Short prompts, as an episode's first step has them: a question and the cue for the first thought. */
export function questionPrompts(tasks: QaTask[], count: number): string[] {
  return tasks.slice(0, count).map((t) => `Question: ${t.question}\nThought 1:`);
}

/**
 * Sequences per second continuing `prompts` (`newTokens` tokens each, sampled at
 * temperature 1) all in one batch, against the first `singles` of them one at a time
 * (all by default: on a GPU one at a time is slow enough that a few tell the rate).
 * Each sequence draws from its own stream in both, so both make the same tokens.
 */
export async function generationRate(
  model: LanguageModel,
  tokenizer: Tokenizer,
  name: string,
  prompts: string[],
  { newTokens = 48, runs = 3, singles = prompts.length } = {},
) {
  const options = (keys: string[]) => ({ maxNewTokens: newTokens, temperature: 1, seed: 1, streamKeys: keys });
  const keys = prompts.map((_, i) => String(i));
  const batched = await timed(runs, () => generate(model, tokenizer, prompts, options(keys)));
  const single = await timed(runs, async () => {
    for (let i = 0; i < singles; i++) await generate(model, tokenizer, [prompts[i]], options([keys[i]]));
  });
  const promptTokens = (await generate(model, tokenizer, prompts, { maxNewTokens: 1 })).map((g) => g.promptTokens);
  const rate = (count: number, ms: number) => (1000 * count) / ms;
  const [batchedRate, singleRate] = [
    { wall: rate(prompts.length, batched.wallMs), cpu: rate(prompts.length, batched.cpuMs) },
    { wall: rate(singles, single.wallMs), cpu: rate(singles, single.cpuMs) },
  ];
  return {
    prompts: name,
    batch: prompts.length,
    singles,
    promptTokens: Math.round(promptTokens.reduce((a, b) => a + b, 0) / prompts.length),
    batchedSeqPerSecond: batchedRate,
    singleSeqPerSecond: singleRate,
    speedup: { wall: batchedRate.wall / singleRate.wall, cpu: batchedRate.cpu / singleRate.cpu },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      backend: { type: "string" },
      steps: { type: "string", default: "5" },
      shapes: { type: "string", default: "4x512,8x256,64x512" },
      matmul: { type: "string", default: "512" },
      batches: { type: "string", default: "32" },
      singles: { type: "string", default: "8" },
      "new-tokens": { type: "string", default: "48" },
      json: { type: "string" },
    },
  });
  const backend = values.backend as BackendName | undefined;
  if (backend && !BACKENDS.includes(backend)) throw new Error(`--backend must be one of ${BACKENDS.join(", ")}`);
  const shapes = values.shapes.split(",").map((s) => s.split("x").map(Number) as [number, number]);
  const steps = Number(values.steps);

  const choice = await selectBackend(backend);
  console.error(describeBackend(choice));
  const adapter = await gpuAdapter();
  if (adapter) console.error(`adapter: ${JSON.stringify(adapter)}`);
  const { tasks, tokenizer } = await hotpotSample();
  const model = createModel({ ...DEFAULT_MODEL_CONFIG, vocabSize: tokenizer.vocabSize });
  const V = model.config.vocabSize;
  const result = {
    bench: "gpu",
    backend: choice.name,
    adapter,
    params: parameterCount(model),
    config: model.config,
    matmulGflops: { size: Number(values.matmul), ...(await matmulGflops(Number(values.matmul))) },
    generation: [] as (Awaited<ReturnType<typeof generationRate>> | { batch: number; error: string })[],
    training: [] as Awaited<ReturnType<typeof trainingRate>>[],
  };
  // Written after each measurement, so that a run cut short still leaves what it measured
  const save = () => (values.json ? writeFile(values.json, JSON.stringify(result, null, 2)) : undefined);
  console.error(`matmul ${values.matmul}³: ${result.matmulGflops.wall.toFixed(1)} GFLOP/s (wall)`);
  const options = { newTokens: Number(values["new-tokens"]), singles: Number(values.singles), runs: 2 };
  for (const batch of values.batches.split(",").filter(Boolean).map(Number)) {
    // A kernel this backend lacks fails only its own measurement
    const g = await generationRate(model, tokenizer, "question", questionPrompts(tasks, batch), options).catch((e: Error) => ({ batch, error: e.message }));
    result.generation.push(g);
    if ("error" in g) console.error(`generation, batch ${batch}: ${g.error}`);
    else console.error(`generation, ${g.promptTokens} prompt tokens, ${options.newTokens} new: batch ${batch} ${g.batchedSeqPerSecond.wall.toFixed(2)} seq/s, one at a time (${g.singles}) ${g.singleSeqPerSecond.wall.toFixed(2)} seq/s: ${g.speedup.wall.toFixed(1)}x`);
    await save();
  }
  for (const [rows, length] of shapes) {
    const ids = Array.from({ length: rows }, (_, r) => Array.from({ length: length + 1 }, (_, i) => (r * 131 + i * 7919) % V));
    const r = await trainingRate(model, ids, steps);
    result.training.push(r);
    console.error(`${rows} x ${length}: ${r.wallMs.toFixed(1)} ms/step wall, ${r.cpuMs.toFixed(1)} ms cpu, ${r.tokensPerSecond.toFixed(0)} tokens/s, ${r.gflops.wall.toFixed(2)} GFLOP/s, loss ${r.losses.map((l) => l?.toFixed(4)).join(" -> ")}`);
    await save();
  }
  console.log(JSON.stringify(result));
  disposeModel(model);
}

// Runs as a script (through tsx, or bundled by perf/gpu-device.sh), not when perf/lm.ts imports the pieces above
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await main();
  process.exit(0); // Dawn, once loaded, keeps Node running
}
