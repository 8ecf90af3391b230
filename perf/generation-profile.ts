/**
 * Where a batched generation's time goes, kernel by kernel (tf.profile), on the
 * default model: the bench:lm "question" case (32 prompts, 48 new tokens), after one
 * warm-up run. Matrix products are split by shape, because linear layers (2-D) and
 * attention over the cache (batched, [B·H, 1, T]) run on different WASM paths.
 *
 *   npm run bench:generation-profile [-- --batch 32 --new-tokens 48]
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { createModel, DEFAULT_MODEL_CONFIG, generate, selectBackend } from "../src/lm/index.ts";
import { hotpotSample, questionPrompts } from "./gpu.ts";

const { values } = parseArgs({ options: { batch: { type: "string", default: "32" }, "new-tokens": { type: "string", default: "48" } } });
console.error(`backend: ${(await selectBackend()).name}`);
const { tasks, tokenizer } = await hotpotSample();
const model = createModel({ ...DEFAULT_MODEL_CONFIG, vocabSize: tokenizer.vocabSize });
const prompts = questionPrompts(tasks, Number(values.batch));
const options = { maxNewTokens: Number(values["new-tokens"]), temperature: 1, seed: 1 };
await generate(model, tokenizer, prompts, options);

const start = performance.now();
const { kernels } = await tf.profile(async () => void (await generate(model, tokenizer, prompts, options)));
console.log(`one generation under the profiler: ${(performance.now() - start).toFixed(0)} ms, ${kernels.length} kernels`);
/** A matrix product's kind: 2-D (batch 1) or batched, with its operand shapes. */
const kind = (k: (typeof kernels)[number]) =>
  k.name !== "BatchMatMul" ? k.name : `BatchMatMul ${(k.inputShapes[0]?.length ?? 0) === 3 && k.inputShapes[0]![0]! > 1 ? "batched" : "2-D"} ${JSON.stringify(k.inputShapes.map((s) => s?.length))}`;
const totals = new Map<string, { ms: number; calls: number }>();
for (const k of kernels) {
  const total = totals.get(kind(k)) ?? { ms: 0, calls: 0 };
  total.ms += k.kernelTimeMs as number;
  total.calls++;
  totals.set(kind(k), total);
}
for (const [name, t] of [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
  console.log(`${name.padEnd(36)} ${t.ms.toFixed(1).padStart(8)} ms ${String(t.calls).padStart(7)} calls`);
}
