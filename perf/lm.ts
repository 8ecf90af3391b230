/**
 * The embedded language model's speed, on the default config.
 *
 * Training: tokens/s and achieved GFLOP/s, next to a plain 2-D 512x512x512 matmul
 * on the same backend in the same run. FLOPs per trained token are counted as
 *   6·N + 12·L·T·d
 * where N is the weights in matmuls (L·(4 + 2·mlpRatio)·d² in the blocks plus d·V in
 * the output head; embedding lookups, LayerNorms and softmax are not counted), and
 * 12·L·T·d is attention's QKᵀ and PV (4·T·d per token and layer forward, ×3 with the
 * backward pass) over the full T×T (causal masking wastes half; we count it anyway,
 * as nanoGPT and PaLM do).
 *
 * Generation: sequences/s generating --new-tokens tokens for a batch of 32 prompts
 * at once vs the same prompts one at a time, for short prompts (a question) and
 * long ones (a question after three retrieved paragraphs, ~470 tokens).
 *
 *   npm run bench:lm [-- --steps 5 --backend wasm --new-tokens 48]
 */
import { parseArgs } from "node:util";
import { BACKENDS, createModel, DEFAULT_MODEL_CONFIG, describeBackend, disposeModel, parameterCount, selectBackend } from "../src/lm/index.ts";
import { generationRate, hotpotSample, matmulGflops, questionPrompts, trainingRate } from "./gpu.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "5" },
    backend: { type: "string" },
    "new-tokens": { type: "string", default: "48" },
  },
});
const steps = Number(values.steps);
const newTokens = Number(values["new-tokens"]);
const backend = values.backend as (typeof BACKENDS)[number] | undefined;
if (backend && !BACKENDS.includes(backend)) throw new Error(`--backend must be one of ${BACKENDS.join(", ")}`);

const choice = await selectBackend(backend);
console.error(describeBackend(choice));

const { tasks, paragraphs, tokenizer, tokenizerMs } = await hotpotSample();
const corpus = tokenizer.encode(paragraphs.join("\n\n"));
const corpusBytes = new TextEncoder().encode(paragraphs.join("\n\n")).length;
console.error(`tokenizer: ${tokenizer.vocabSize} tokens, trained in ${(tokenizerMs / 1000).toFixed(1)}s; corpus ${corpus.length} tokens (${(corpusBytes / corpus.length).toFixed(2)} bytes/token)`);

const model = createModel({ ...DEFAULT_MODEL_CONFIG, vocabSize: tokenizer.vocabSize });
/** Training steps on `rows` corpus rows of `length` tokens. */
function training(rows: number, length: number) {
  const ids = Array.from({ length: rows }, (_, r) => corpus.slice(r * length, r * length + length + 1));
  return trainingRate(model, ids, steps);
}

const reference = await matmulGflops();
// The last is shaped like the trainers' batches: many episodes of a few hundred tokens
const trainRows = [await training(4, 512), await training(8, 256), await training(16, 384)];
const questions = questionPrompts(tasks, 32);
const withContext = tasks.slice(0, 32).map((t, i) => `${paragraphs.slice(i * 3, i * 3 + 3).join("\n").slice(0, 1000)}\nQuestion: ${t.question}\nThought 1:`);
const generation = (name: string, prompts: string[]) => generationRate(model, tokenizer, name, prompts, { newTokens });
const generationRows = [await generation("question", questions), await generation("question + paragraphs", withContext)];

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const pair = (x: { wall: number; cpu: number }, digits = 1) => `${fmt(x.wall, digits)} / ${fmt(x.cpu, digits)}`;
console.log(`\nbackend ${choice.name}; model ${parameterCount(model)} parameters (${JSON.stringify(model.config)})`);
console.log("rates are wall / cpu time (cpu time leaves out time other processes took from this one)");
console.log(`plain 2-D matmul 512x512x512 (best of 15): ${pair(reference)} GFLOP/s\n`);
console.log("training (batch x length)   ms/step (wall/cpu)   tokens/s (wall)   GFLOP/s        of matmul");
for (const r of trainRows) {
  const share = { wall: (100 * r.gflops.wall) / reference.wall, cpu: (100 * r.gflops.cpu) / reference.cpu };
  console.log(`${`${r.rows} x ${r.length}`.padEnd(26)}  ${`${fmt(r.wallMs, 0)} / ${fmt(r.cpuMs, 0)}`.padStart(19)}  ${fmt(r.tokensPerSecond, 0).padStart(16)}  ${pair(r.gflops).padStart(12)}  ${pair(share, 0).padStart(11)} %`);
}
console.log(`\ngeneration (32 prompts, ${newTokens} new tokens)   prompt tokens   batched seq/s   one-by-one seq/s   speedup`);
for (const g of generationRows) {
  console.log(`${g.prompts.padEnd(42)}  ${String(g.promptTokens).padStart(13)}  ${pair(g.batchedSeqPerSecond).padStart(14)}  ${pair(g.singleSeqPerSecond, 2).padStart(17)}  ${pair(g.speedup).padStart(11)}x`);
}
console.log(JSON.stringify({ bench: "lm", backend: choice.name, params: parameterCount(model), config: model.config, matmulGflops: reference, training: trainRows, generation: generationRows }));
disposeModel(model);
