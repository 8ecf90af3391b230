import { execFileSync } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ContinuousBatch, createModel, disposeModel, forward, generateTokens, InferenceModel, pack, selectBackend, trainTokenizer, type LanguageModel, type SequenceSampling } from "../src/lm/index.ts";
import { Random } from "../src/random.ts";

beforeAll(async () => {
  await selectBackend("wasm");
});

/** The kernels' next-token scores for each row read whole, and tfjs's forward at each row's last position. */
async function bothEngines(model: LanguageModel, rows: number[][]) {
  const inference = await InferenceModel.create(model);
  const kernels = inference.forward(rows.map((tokens) => ({ sequence: inference.sequence(), tokens })));
  const reference = tf.tidy(() => forward(model, pack(model.config, rows)).arraySync());
  let end = 0;
  const expected = rows.map((row) => reference[(end += row.length) - 1]);
  return { inference, kernels, expected };
}

function expectRowsClose(actual: Float32Array, expected: number[][], tolerance = 1e-4): void {
  const vocab = expected[0].length;
  expected.forEach((row, b) => row.forEach((v, i) => expect(Math.abs(actual[b * vocab + i] - v)).toBeLessThan(tolerance)));
}

const randomRows = (lengths: number[], vocab: number) => lengths.map((n, r) => Array.from({ length: n }, (_, i) => (r * 31 + i * 17) % vocab));

describe("the WebAssembly kernels", () => {
  it("are built from their source: the committed module is what `npm run build:kernels` writes", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "kernels-")), "kernels.wasm");
    const script = JSON.parse(await readFile("package.json", "utf8")).scripts["build:kernels"] as string;
    const args = script.replace(/^asc /, "").replace(/-o \S+$/, `-o ${out}`).split(" ");
    execFileSync(join("node_modules", ".bin", "asc"), args);
    expect(Buffer.compare(await readFile(out), await readFile("src/lm/kernels/kernels.wasm"))).toBe(0);
  }, 60_000);

  it("compute what tfjs's forward computes, with an untied head and no copy head, at sizes that leave every kernel a remainder", async () => {
    const model = createModel({ vocabSize: 37, contextLength: 24, dModel: 18, nLayers: 2, nHeads: 3, mlpRatio: 3, tieEmbeddings: false }, 4);
    const { kernels, expected } = await bothEngines(model, randomRows([7, 1, 13, 5, 3], 37));
    expectRowsClose(kernels, expected);
    disposeModel(model);
  });

  it("compute what tfjs's forward computes with a copy head, whether a sequence is read whole, token by token or forked", async () => {
    const model = createModel({ vocabSize: 50, contextLength: 32, dModel: 16, nLayers: 2, nHeads: 2, copyHead: true }, 9);
    const rows = randomRows([9, 4, 12], 50);
    const { inference, kernels, expected } = await bothEngines(model, rows);
    expectRowsClose(kernels, expected);
    const stepwise = rows.map((row) => {
      const sequence = inference.sequence();
      return row.map((token) => inference.forward([{ sequence, tokens: [token] }])).at(-1)!;
    });
    stepwise.forEach((scores, b) => expectRowsClose(scores, [expected[b]]));
    // A fork of the first 5 tokens of row 2, fed the rest, ends where row 2 read whole ends
    const whole = inference.sequence();
    inference.forward([{ sequence: whole, tokens: rows[2] }]);
    const fork = inference.fork(whole, 5);
    expectRowsClose(inference.forward([{ sequence: fork, tokens: rows[2].slice(5) }]), [expected[2]]);
    expect(fork.ids).toEqual(rows[2]);
    disposeModel(model);
  });

  it("move a sequence to a larger slot as it outgrows its room, a fork's too, and still compute what tfjs's forward computes", async () => {
    const model = createModel({ vocabSize: 50, contextLength: 512, dModel: 16, nLayers: 2, nHeads: 2, copyHead: true }, 5);
    const inference = await InferenceModel.create(model);
    const [row, tail] = randomRows([500, 300], 50);
    const forked = [...row.slice(0, 100), ...tail];
    const [expected, expectedForked] = [row, forked].map((r) => tf.tidy(() => forward(model, pack(model.config, [r])).arraySync()));
    // 100 tokens read at once, then one at a time past 128 and 256 positions
    const sequence = inference.sequence();
    expectRowsClose(inference.forward([{ sequence, tokens: row.slice(0, 100) }]), [expected[99]]);
    expect(sequence.slot.room).toBe(128);
    for (let t = 100; t < 300; t++) expectRowsClose(inference.forward([{ sequence, tokens: [row[t]] }]), [expected[t]]);
    expect(sequence.slot.room).toBe(512);
    // A fork of its first 100 tokens grows while reading 100 more, then while decoding beside it
    const fork = inference.fork(sequence, 100);
    expect(fork.slot.room).toBe(128);
    expectRowsClose(inference.forward([{ sequence: fork, tokens: forked.slice(100, 200) }]), [expectedForked[199]]);
    expect(fork.slot.room).toBe(256);
    for (let t = 200; t < 400; t++) {
      expectRowsClose(inference.forward([{ sequence: fork, tokens: [forked[t]] }, { sequence, tokens: [row[t + 100]] }]), [expectedForked[t], expected[t + 100]]);
    }
    expect(fork.slot.room).toBe(512);
    expect(fork.ids).toEqual(forked);
    expect(sequence.ids).toEqual(row);
    disposeModel(model);
  });

  it("take memory as sequences need it: 64 short sequences of a large-context model hold a fraction of 64 whole-context slots, and freed slots are reused", async () => {
    // Context 1024 as the planned large preset's (where 64 whole-context slots would take 2.3 GB), narrower to stay quick
    const config = { vocabSize: 256, contextLength: 1024, dModel: 128, nLayers: 4, nHeads: 4, copyHead: true };
    const model = createModel(config, 1);
    const inference = await InferenceModel.create(model);
    disposeModel(model);
    const slotBytes = (positions: number) => (2 * config.nLayers + 1) * positions * config.dModel * 4;
    const before = inference.memoryBytes;
    const short = (n: number) => Array.from({ length: 64 }, (_, i) => ({ sequence: inference.sequence(), tokens: Array.from({ length: n }, (_, t) => (i + t) % 256) }));
    const feeds = short(4);
    inference.forward(feeds);
    const after = inference.memoryBytes;
    // 64 slots of 128 positions and some slack (the memory grows by an eighth at the least); weights and all, under a quarter of the whole-context slots
    expect(after - before).toBeGreaterThanOrEqual(64 * slotBytes(128) - before / 8);
    expect(after - before).toBeLessThan(64 * slotBytes(256));
    expect(after).toBeLessThan((64 * slotBytes(1024)) / 4);
    for (const { sequence } of feeds) inference.release(sequence);
    inference.forward(short(2));
    expect(inference.memoryBytes).toBe(after);
  });

  it("refuse a sequence longer than the context", async () => {
    const model = createModel({ vocabSize: 10, contextLength: 8, dModel: 8, nLayers: 1, nHeads: 2 }, 1);
    const inference = await InferenceModel.create(model);
    expect(() => inference.forward([{ sequence: inference.sequence(), tokens: Array(9).fill(1) }])).toThrow(/does not fit the context of 8/);
    disposeModel(model);
  });
});

describe("a continuous batch", () => {
  it("writes each sequence exactly as it would alone, whichever sequences join or leave around it", async () => {
    const tokenizer = trainTokenizer(["the cat sat", "a dog ran"], { vocabSize: 270 });
    const model = createModel({ vocabSize: tokenizer.vocabSize, contextLength: 64, dModel: 16, nLayers: 2, nHeads: 2, copyHead: true }, 3);
    const inference = await InferenceModel.create(model);
    const prompts = ["the cat", "a dog ran", "the cat", "x"].map((p) => [tokenizer.bos, ...tokenizer.encode(p)]);
    const sampling = (i: number, maxNewTokens = 6 + 3 * i): SequenceSampling => ({ maxNewTokens, temperature: 1, topP: 1, stop: [], random: Random.forItem(7, i) });
    const alone = await Promise.all(prompts.map((ids, i) => new ContinuousBatch(inference, tokenizer, { maxBatch: 1 }).generate(ids, sampling(i))));
    // All in one batch, the last two joining while the first two are already decoding
    const batch = new ContinuousBatch(inference, tokenizer, { maxBatch: 4 });
    const passes: number[] = [];
    const forward = inference.forward.bind(inference);
    inference.forward = (feeds) => (passes.push(feeds.length), forward(feeds));
    const first = prompts.slice(0, 2).map((ids, i) => batch.generate(ids, sampling(i)));
    while (passes.length < 2) await new Promise((resolve) => setImmediate(resolve));
    const later = prompts.slice(2).map((ids, i) => batch.generate(ids, sampling(i + 2)));
    const together = await Promise.all([...first, ...later]);
    expect(together).toEqual(alone);
    expect(passes.slice(0, 3)).toEqual([2, 2, 4]);
    expect(passes.at(-1)).toBe(1);
    expect(together.map((g) => g.tokens.length)).toEqual([6, 9, 12, 15]);
    expect(batch.stats.generatedTokens).toBe(42);
    expect(batch.size).toBe(0);
    disposeModel(model);
  });

  it("is what generateTokens uses for an InferenceModel, and refuses a model and tokenizer that do not belong together", async () => {
    const tokenizer = trainTokenizer(["the cat sat", "a dog ran"], { vocabSize: 270 });
    const model = createModel({ vocabSize: tokenizer.vocabSize, contextLength: 32, dModel: 8, nLayers: 1, nHeads: 2 }, 2);
    const inference = await InferenceModel.create(model);
    const prompt = [tokenizer.bos, ...tokenizer.encode("hi")];
    const [kernels] = await generateTokens(inference, tokenizer, [prompt], { maxNewTokens: 5, temperature: 0 });
    const [tfjs] = await generateTokens(model, tokenizer, [prompt], { maxNewTokens: 5, temperature: 0 });
    expect(kernels.tokens).toEqual(tfjs.tokens);
    const other = createModel({ vocabSize: 300, contextLength: 32, dModel: 8, nLayers: 1, nHeads: 2 }, 2);
    await expect(generateTokens(await InferenceModel.create(other), tokenizer, [prompt])).rejects.toThrow(/do not belong together/);
    disposeModel(model);
    disposeModel(other);
  });
});
