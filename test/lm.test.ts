import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { causalSelfAttention } from "../src/lm/attention.ts";
import {
  AdamW,
  batchLoss,
  createModel,
  disposeModel,
  forward,
  generate,
  generateTokens,
  learningRateAt,
  loadCheckpoint,
  maskedLoss,
  pack,
  saveCheckpoint,
  selectBackend,
  TextStream,
  Tokenizer,
  tokenLogprobs,
  trainLM,
  trainStep,
  trainTokenizer,
  type LanguageModel,
  type TokenBatch,
} from "../src/lm/index.ts";
import { shiftRows } from "../src/lm/model.ts";
import { concatRows, embed, layerNorm, matMul, scatterAdd } from "../src/lm/ops.ts";
import { Random } from "../src/random.ts";

const CORPUS = [
  "the cat sat on the mat. the dog ate the bone.",
  "a bird sang in the tree. the fish swam in the pond.",
  "Thought 1: I need to search Paris.\nAction 1: Search[Paris]\nObservation 1: It is in France.",
];

const tiny = (vocabSize: number) => ({ vocabSize, contextLength: 64, dModel: 32, nLayers: 2, nHeads: 2, copyHead: true });

/** Each corpus line as a document (bos, text, eos), every token learned. */
function corpusBatch(tokenizer: Tokenizer): TokenBatch {
  const ids = CORPUS.map((line) => [tokenizer.bos, ...tokenizer.encode(line), tokenizer.eos]);
  return { ids, mask: ids.map((row) => row.map(() => 1)) };
}

/** Every number of `actual` within `tolerance` of the one in the same place in `expected`. */
function expectClose(actual: unknown, expected: unknown, tolerance = 1e-4) {
  const a = [actual].flat(Infinity) as number[];
  const b = [expected].flat(Infinity) as number[];
  expect(a.length).toBe(b.length);
  const worst = Math.max(0, ...a.map((x, i) => Math.abs(x - b[i]) / Math.max(1, Math.abs(b[i]))));
  expect(worst).toBeLessThan(tolerance);
}

/** Greedy continuation by re-running the whole sequence through the model for every token. */
function greedyByRecomputation(model: LanguageModel, prompt: number[], count: number): number[] {
  const ids = [...prompt];
  for (let i = 0; i < count; i++) {
    const next = tf.tidy(() => {
      const logits = forward(model, pack(model.config, [ids]));
      return tf.argMax(logits.slice([ids.length - 1, 0], [1, -1]), 1).dataSync()[0];
    });
    ids.push(next);
  }
  return ids.slice(prompt.length);
}

let tokenizer: Tokenizer;
let trained: LanguageModel;
let trainLosses: number[];

beforeAll(async () => {
  await selectBackend();
  tokenizer = trainTokenizer(CORPUS, { vocabSize: 320 });
  trained = createModel(tiny(tokenizer.vocabSize), 1);
  const batch = corpusBatch(tokenizer);
  const { metrics, optimizer } = await trainLM(trained, Array(60).fill(batch), { steps: 60, learningRate: 1e-2, warmupSteps: 5 });
  optimizer.dispose();
  trainLosses = metrics.map((m) => m.loss);
}, 120_000);

afterAll(() => disposeModel(trained));

describe("tokenizer", () => {
  it("round-trips text it never saw: unseen names, accents, CJK, emoji, whitespace", () => {
    for (const text of ["Æthelflæd of Łódź met Zyxqwv Q. Brrk", "東京タワー 🦊🦊 naïve", "  tabs\tand\n\nnewlines  ", ""]) {
      const ids = tokenizer.encode(text);
      expect(ids.every((id) => id >= 0 && id < tokenizer.vocabSize && id !== tokenizer.bos && id !== tokenizer.eos)).toBe(true);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  it("learns merges that shorten its training text, deterministically", () => {
    const text = CORPUS.join("");
    expect(tokenizer.encode(text).length).toBeLessThan(0.7 * new TextEncoder().encode(text).length);
    expect(trainTokenizer(CORPUS, { vocabSize: 320 }).toJSON()).toEqual(tokenizer.toJSON());
    expect(trainTokenizer([...CORPUS].reverse(), { vocabSize: 320 }).toJSON()).toEqual(tokenizer.toJSON());
  });

  it("saves to JSON and back, and rejects a corrupt file", () => {
    const restored = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tokenizer)));
    expect(restored.vocabSize).toBe(tokenizer.vocabSize);
    expect(restored.encode(CORPUS[2])).toEqual(tokenizer.encode(CORPUS[2]));
    expect(() => Tokenizer.fromJSON({ format: "react-rl-bpe", version: 1, merges: [[300, 1]] })).toThrow(/unknown or special/);
    expect(() => Tokenizer.fromJSON({ merges: [] })).toThrow();
  });

  it("gives a name the same tokens in running text, in an action and in a Similar list (version 2); version 1 files keep their pieces", () => {
    const text = ["When was Mako Dandlul born? Mako Dandlul was born in 1901, and Mako Dandlul died in 1950."];
    const name = "Mako Dandlul";
    const contains = (ids: number[], part: number[]) => ids.some((_, i) => part.every((id, k) => ids[i + k] === id));
    const v2 = trainTokenizer(text, { vocabSize: 300 });
    const inText = v2.encode(` ${name}`);
    for (const where of [`When was ${name} born?`, `Search[${name}]`, `Similar: ['${name}', '${name} (1901)'].`, `(${name})`]) {
      expect(contains(v2.encode(where), inText), where).toBe(true);
    }
    const v1 = Tokenizer.fromJSON(JSON.parse(JSON.stringify(trainTokenizer(text, { vocabSize: 300, version: 1 }))));
    expect(v1.version).toBe(1);
    expect(contains(v1.encode(`Search[${name}]`), v1.encode(` ${name}`))).toBe(false);
  });

  it("decodes version 2's virtual spaces away, whole or streamed, after a prompt or not", () => {
    const v2 = trainTokenizer(CORPUS, { vocabSize: 300 });
    const texts = ["Search[Paris]", "[ Paris]", "[  x", "[]", "[ ]", "['a', \"b\"] (c) ( d)", "it's 'quoted'", "[[x", "x[", "[", " [ 7", "Search[Paris]\nObservation 1: ['Paris (France)']"];
    for (const text of texts) {
      const ids = v2.encode(text);
      expect(v2.decode(ids), text).toBe(text);
      const stream = new TextStream(v2);
      expect(ids.map((id) => stream.push(id)).join("") + stream.end(), text).toBe(text);
      const prompt = v2.encode("Action 1: Search[");
      const continued = v2.encode("Action 1: Search[Paris]").slice(prompt.length);
      const after = new TextStream(v2, prompt);
      expect(continued.map((id) => after.push(id)).join("") + after.end()).toBe("Paris]");
    }
  });

  it("streams decoding: a character split across tokens appears once its last byte arrives", () => {
    const ids = tokenizer.encode("cat 🦊 é");
    const stream = new TextStream(tokenizer);
    const pieces = ids.map((id) => stream.push(id));
    expect(pieces.join("") + stream.end()).toBe("cat 🦊 é");
    expect(pieces.some((p) => p.includes("\uFFFD"))).toBe(false);
    expect(pieces.filter((p) => p === "").length).toBeGreaterThanOrEqual(3); // the fox's first 3 bytes
    const cut = new TextStream(tokenizer);
    expect(ids.slice(0, -1).map((id) => cut.push(id)).join("") + cut.end()).toBe("cat 🦊 \uFFFD");
  });
});

describe("hand-written gradients match tfjs autodiff", () => {
  const random = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);

  /** Gradients of sum(f(inputs) * weights), from our op and from a reference built of plain tfjs ops. */
  function expectSameGradients(ours: (...x: tf.Tensor[]) => tf.Tensor, reference: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]) {
    tf.tidy(() => {
      const weights = random(ours(...inputs).shape, 99);
      const loss = (f: (...x: tf.Tensor[]) => tf.Tensor) => (...x: tf.Tensor[]) => tf.sum(tf.mul(f(...x), weights));
      expectClose(ours(...inputs).arraySync(), reference(...inputs).arraySync());
      const a = tf.grads(loss(ours))(inputs);
      const b = tf.grads(loss(reference))(inputs);
      a.forEach((g, i) => expectClose(g.arraySync(), b[i].arraySync()));
    });
  }

  it("matMul", () => {
    expectSameGradients((a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D), (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), [random([5, 4], 1), random([4, 3], 2)]);
  });

  it("layerNorm", () => {
    const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
    };
    expectSameGradients((x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D), reference as never, [random([6, 8], 3), random([8], 4), random([8], 5)]);
  });

  it("embedding lookup (repeated ids add up)", () => {
    const ids = tf.tensor1d([3, 1, 3, 0], "int32");
    expectSameGradients((t) => embed(t as tf.Tensor2D, ids), (t) => tf.matMul(tf.oneHot(ids, 5).toFloat(), t as tf.Tensor2D), [random([5, 3], 6)]);
  });

  it("scatter-add (repeated indices add up)", () => {
    const indices = Int32Array.from([4, 0, 4, 2, 4]);
    const reference = (u: tf.Tensor) => tf.reshape(tf.matMul(tf.reshape(u, [1, 5]), tf.oneHot(tf.tensor1d(indices, "int32"), 6).toFloat()), [6]);
    expectSameGradients((u) => scatterAdd(u as tf.Tensor1D, indices, 6), reference, [random([5], 7)]);
  });

  it("row concatenation (blocks of different lengths)", () => {
    const reference = (...blocks: tf.Tensor[]) => tf.concat(blocks, 0);
    expectSameGradients((...blocks) => concatRows(blocks as tf.Tensor2D[]), reference, [random([3, 4], 8), random([1, 4], 9), random([5, 4], 10)]);
  });

  it("causal attention over packed sequences of different lengths", () => {
    const lengths = [3, 5, 1];
    const nHeads = 2;
    const headDim = 4;
    const reference = (qkv: tf.Tensor) => {
      let start = 0;
      const outs = lengths.map((n) => {
        const rows = tf.slice(qkv, [start, 0], [n, -1]);
        start += n;
        const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(rows, [n, 3, nHeads, headDim]), [1, 2, 0, 3]));
        const future = tf.sub(1, tf.linalg.bandPart(tf.ones([n, n]), -1, 0));
        const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim)), tf.mul(future, -1e9));
        return tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [1, 0, 2]), [n, nHeads * headDim]);
      });
      return tf.concat(outs, 0);
    };
    expectSameGradients((qkv) => causalSelfAttention(qkv as tf.Tensor2D, lengths, nHeads), reference, [random([9, 3 * nHeads * headDim], 7)]);
  });
});

describe("model and loss", () => {
  it("overfits a toy corpus: the loss falls far below where it started", () => {
    expect(trainLosses[0]).toBeGreaterThan(4);
    expect(trainLosses.at(-1)!).toBeLessThan(0.3 * trainLosses[0]);
  });

  it("masked positions add nothing: changing a masked target leaves the loss, and their gradient is zero", () => {
    tf.tidy(() => {
      const logits = tf.randomNormal([4, 7], 0, 2, "float32", 3) as tf.Tensor2D;
      const mask = tf.tensor1d([1, 0, 1, 0]);
      const loss = (targets: number[]) => maskedLoss(logits, tf.tensor1d(targets, "int32"), mask).dataSync()[0];
      expect(loss([1, 2, 3, 4])).toBeCloseTo(loss([1, 6, 3, 0]), 6);
      expect(loss([1, 2, 3, 4])).not.toBeCloseTo(loss([5, 2, 3, 4]), 3);
      const grad = tf.grad((l: tf.Tensor) => maskedLoss(l as tf.Tensor2D, tf.tensor1d([1, 2, 3, 4], "int32"), mask))(logits).arraySync() as number[][];
      expect(grad[1].every((g) => g === 0) && grad[3].every((g) => g === 0)).toBe(true);
      expect(grad[0].some((g) => g !== 0)).toBe(true);
    });
  });

  it("rejects sequences longer than the context", () => {
    expect(() => pack(trained.config, [Array(65).fill(1)])).toThrow(UserError);
  });

  it("warms the learning rate up linearly, then decays it by cosine to the minimum", () => {
    const o = { steps: 110, learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 10 };
    expect(learningRateAt(0, o)).toBeCloseTo(1e-4);
    expect(learningRateAt(9, o)).toBeCloseTo(1e-3);
    expect(learningRateAt(60, o)).toBeCloseTo(5.5e-4);
    expect(learningRateAt(110, o)).toBeCloseTo(1e-4);
  });

  it("takes `steps` optimizer steps in all, counting on from a resumed optimizer", async () => {
    const model = createModel(tiny(tokenizer.vocabSize), 6);
    const batches = Array(10).fill(corpusBatch(tokenizer));
    const first = await trainLM(model, batches, { steps: 3, warmupSteps: 0 });
    expect(first.metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    const resumed = await trainLM(model, batches, { steps: 5, warmupSteps: 0 }, { optimizer: first.optimizer });
    expect(resumed.metrics.map((m) => m.step)).toEqual([4, 5]);
    expect(resumed.metrics[0].learningRate).toBeLessThan(first.metrics[0].learningRate);
    first.optimizer.dispose();
    disposeModel(model);
  });

  it("turns the WASM backend running out of memory into a mistake the user can fix", async () => {
    const model = createModel(tiny(tokenizer.vocabSize), 2);
    const optimizer = new AdamW(model, { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 });
    const abort = () => {
      throw new WebAssembly.RuntimeError("Aborted(). Build with -sASSERTIONS for more info.");
    };
    await expect(trainStep(model, optimizer, corpusBatch(tokenizer), 1e-3, 1, abort)).rejects.toThrow(UserError);
    await expect(trainStep(model, optimizer, corpusBatch(tokenizer), 1e-3, 1, abort)).rejects.toThrow(/^out of memory: a training step on \d+ rows/);
    const outOfBounds = () => {
      throw new WebAssembly.RuntimeError("memory access out of bounds");
    };
    await expect(trainStep(model, optimizer, corpusBatch(tokenizer), 1e-3, 1, outOfBounds)).rejects.toThrow(/^out of memory: a training step on \d+ rows/);
    const bug = () => {
      throw new TypeError("a bug");
    };
    await expect(trainStep(model, optimizer, corpusBatch(tokenizer), 1e-3, 1, bug)).rejects.toThrow(TypeError);
    optimizer.dispose();
    disposeModel(model);
  });

  it("steps on any loss, and leaks no tensors across training steps and log-probability queries", async () => {
    const model = createModel(tiny(tokenizer.vocabSize), 2);
    const optimizer = new AdamW(model, { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 });
    const batch = corpusBatch(tokenizer);
    const plain = tf.tidy(() => batchLoss(model, batch).dataSync()[0]);
    const doubled = await trainStep(model, optimizer, batch, 1e-3, 1, (m, b) => ({ loss: tf.mul(batchLoss(m, b), 2) as tf.Scalar, outputs: { plain: batchLoss(m, b) } }));
    expect(doubled.loss).toBeCloseTo(2 * plain, 4);
    expect(doubled.outputs.plain[0]).toBeCloseTo(plain, 4);
    const before = tf.memory().numTensors;
    await trainStep(model, optimizer, batch, 1e-3, 1, (m, b) => ({ loss: batchLoss(m, b), outputs: { logprobs: tokenLogprobs(m, b.ids) } }));
    tf.tidy(() => {
      tokenLogprobs(model, batch.ids);
    });
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    disposeModel(model);
  });
});

describe("copy head", () => {
  /** [sep, a1..a5, sep, a1..a5], five different tokens: the second half copies the first; only it is learned. */
  function copyTask(random: Random, tokens: [number, number], count: number): TokenBatch {
    const range = Array.from({ length: tokens[1] - tokens[0] }, (_, i) => tokens[0] + i);
    const ids = Array.from({ length: count }, () => {
      const half = random.shuffle(range).slice(0, 5);
      return [1, ...half, 1, ...half];
    });
    return { ids, mask: ids.map((row) => row.map((_, i) => (i > 6 ? 1 : 0))) };
  }

  /** Share of the second halves' tokens that the model, reading the true prefix, ranks first. */
  function copyAccuracy(model: LanguageModel, batch: TokenBatch): number {
    return tf.tidy(() => {
      const { inputs, targets } = shiftRows(batch.ids);
      const best = tf.argMax(forward(model, pack(model.config, inputs)), 1).dataSync();
      const mask = batch.mask.flatMap((row) => row.slice(1));
      const hits = mask.filter((m, i) => m === 1 && best[i] === targets[i]).length;
      return hits / mask.filter((m) => m === 1).length;
    });
  }

  it("copies token sequences it never saw, where the plain model cannot", async () => {
    const random = new Random(11);
    const training = Array.from({ length: 60 }, () => copyTask(random, [10, 110], 16));
    const newSequences = copyTask(random, [10, 110], 64);
    const accuracies = async (copyHead: boolean) => {
      const model = createModel({ vocabSize: 260, contextLength: 16, dModel: 32, nLayers: 2, nHeads: 2, copyHead }, 3);
      const { optimizer } = await trainLM(model, training, { steps: training.length, learningRate: 5e-3, warmupSteps: 5 });
      optimizer.dispose();
      const measured = copyAccuracy(model, newSequences);
      disposeModel(model);
      return measured;
    };
    const withCopy = await accuracies(true);
    const plain = await accuracies(false);
    expect(withCopy).toBeGreaterThan(0.95);
    expect(plain).toBeLessThan(0.2);
  }, 120_000);
});

describe("generation", () => {
  const prompts = ["the cat sat", "Thought 1: I need to search Paris.\nAction 1:", "a", "the cat sat"];

  it("with the KV cache, picks the same greedy tokens as re-running the whole sequence", async () => {
    const [generation] = await generate(trained, tokenizer, [prompts[1]], { maxNewTokens: 12, temperature: 0 });
    const promptIds = [tokenizer.bos, ...tokenizer.encode(prompts[1])];
    expect(generation.tokens).toEqual(greedyByRecomputation(trained, promptIds, 12));
    expect(generation.text).toBe(tokenizer.decode(generation.tokens));
    const recomputed = tf.tidy(() => tokenLogprobs(trained, [[...promptIds, ...generation.tokens]]).arraySync());
    expectClose(generation.logprobs, recomputed.slice(-12));
    const [fromIds] = await generateTokens(trained, tokenizer, [promptIds], { maxNewTokens: 12, temperature: 0 });
    expect(fromIds).toEqual(generation);
    expect(await generateTokens(trained, tokenizer, [], { maxNewTokens: 8 })).toEqual([]);
  });

  it("continues with learned text and stops at eos", async () => {
    const [generation] = await generate(trained, tokenizer, ["the cat sat on"], { maxNewTokens: 30, temperature: 0 });
    expect(generation.text).toBe(" the mat. the dog ate the bone.");
    expect(generation.finishReason).toBe("stop");
    expect(generation.tokens.at(-1)).toBe(tokenizer.eos);
  });

  it("batches prompts of different lengths (and repeated ones) exactly as one at a time", async () => {
    const batched = await generate(trained, tokenizer, prompts, { maxNewTokens: 10, temperature: 0 });
    for (const [i, prompt] of prompts.entries()) {
      const [alone] = await generate(trained, tokenizer, [prompt], { maxNewTokens: 10, temperature: 0 });
      expect(batched[i].tokens).toEqual(alone.tokens);
      expectClose(batched[i].logprobs, alone.logprobs);
      expect(batched[i].promptTokens).toBe(1 + tokenizer.encode(prompt).length);
    }
  });

  it("stops at a stop string and cuts the text there", async () => {
    const [free] = await generate(trained, tokenizer, ["the cat sat on"], { maxNewTokens: 18, temperature: 0 });
    expect(free.text).toContain(" the bone");
    const [stopped] = await generate(trained, tokenizer, ["the cat sat on"], { maxNewTokens: 18, temperature: 0, stop: ["bone", "zzz"] });
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf("bone")));
    expect(stopped.finishReason).toBe("stop");
    expect(free.finishReason).toBe("length");
    expect(stopped.tokens).toEqual(free.tokens.slice(0, stopped.tokens.length));
    expect(tokenizer.decode(stopped.tokens)).toContain("bone");
    expect(tokenizer.decode(stopped.tokens.slice(0, -1))).not.toContain("bone");
  });

  it("samples reproducibly from a seed, differently from another seed; a tiny top-p is greedy", async () => {
    const random = createModel(tiny(tokenizer.vocabSize), 5);
    const options = { maxNewTokens: 16, temperature: 1, seed: 7 };
    const a = await generate(random, tokenizer, ["the", "the"], options);
    const b = await generate(random, tokenizer, ["the", "the"], options);
    const c = await generate(random, tokenizer, ["the", "the"], { ...options, seed: 8 });
    expect(b).toEqual(a);
    expect(a[1].tokens).not.toEqual(a[0].tokens); // each sequence has its own stream
    expect(c[0].tokens).not.toEqual(a[0].tokens);
    const nucleus = await generate(random, tokenizer, ["the"], { ...options, topP: 1e-6 });
    const greedy = await generate(random, tokenizer, ["the"], { maxNewTokens: 16, temperature: 0 });
    expect(nucleus[0].tokens).toEqual(greedy[0].tokens);
    disposeModel(random);
  });

  it("writes only tokens a constraint allows, and logs their logprobs unconstrained", async () => {
    const [free] = await generate(trained, tokenizer, ["the cat sat on"], { maxNewTokens: 6, temperature: 0 });
    const banned = free.tokens[2];
    const allowAllBut = () => Uint8Array.from({ length: tokenizer.vocabSize }, (_, id) => (id === banned ? 0 : 1));
    const [greedy] = await generate(trained, tokenizer, ["the cat sat on"], { maxNewTokens: 6, temperature: 0, constraints: [allowAllBut] });
    expect(greedy.tokens.slice(0, 2)).toEqual(free.tokens.slice(0, 2));
    expect(greedy.tokens).not.toContain(banned);
    const promptIds = [tokenizer.bos, ...tokenizer.encode("the cat sat on")];
    const recomputed = tf.tidy(() => tokenLogprobs(trained, [[...promptIds, ...greedy.tokens]]).arraySync());
    expectClose(greedy.logprobs, recomputed.slice(-6));
    const only = (id: number) => () => Uint8Array.from({ length: tokenizer.vocabSize }, (_, t) => (t === id ? 1 : 0));
    const sampled = await generate(trained, tokenizer, ["the", "a"], { maxNewTokens: 4, temperature: 1.5, topP: 0.9, constraints: [only(banned), only(tokenizer.eos)] });
    expect(sampled[0].tokens).toEqual([banned, banned, banned, banned]);
    expect(sampled[1].tokens).toEqual([tokenizer.eos]);
    await expect(generate(trained, tokenizer, ["the", "a"], { maxNewTokens: 4, constraints: [allowAllBut] })).rejects.toThrow(/1 constraints for 2 prompts/);
  });

  it("keeps the most recent tokens of a prompt longer than the context; refuses impossible requests", async () => {
    const long = "the cat sat on the mat. ".repeat(20);
    const [generation] = await generate(trained, tokenizer, [long], { maxNewTokens: 8, temperature: 0 });
    expect(generation.promptTokens).toBe(64 - 8);
    await expect(generate(trained, tokenizer, ["x"], { maxNewTokens: 64 })).rejects.toThrow(UserError);
    const mismatched = createModel(tiny(tokenizer.vocabSize + 1));
    await expect(generate(mismatched, tokenizer, ["x"])).rejects.toThrow(/do not belong together/);
    disposeModel(mismatched);
  });

  it("leaks no tensors, with the output head tied or not", async () => {
    const untied = createModel({ ...tiny(tokenizer.vocabSize), tieEmbeddings: false, copyHead: false });
    const before = tf.memory().numTensors;
    await generate(trained, tokenizer, prompts, { maxNewTokens: 5, temperature: 0.8, topP: 0.9, stop: ["."] });
    const [generation] = await generate(untied, tokenizer, prompts, { maxNewTokens: 5 });
    expect(generation.tokens).toHaveLength(5);
    expect(tf.memory().numTensors).toBe(before);
    disposeModel(untied);
  });
});

describe("checkpoints", () => {
  it("round-trip: the loaded model gives the same logits, with tokenizer, step and optimizer state", async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "react-rl-lm-")), "ckpt");
    const model = createModel(tiny(tokenizer.vocabSize), 3);
    const { optimizer } = await trainLM(model, [corpusBatch(tokenizer)], { steps: 1 });
    await saveCheckpoint(dir, { model, tokenizer, optimizer, meta: { stage: "pretrain" } });
    const loaded = await loadCheckpoint(dir);
    const ids = [tokenizer.encode("the cat sat on the mat")];
    const logits = (m: LanguageModel) => tf.tidy(() => forward(m, pack(m.config, ids)).arraySync());
    expect(logits(loaded.model)).toEqual(logits(model));
    expect(loaded.model.config).toEqual(model.config);
    expect(loaded.tokenizer.toJSON()).toEqual(tokenizer.toJSON());
    expect(loaded.step).toBe(1);
    expect(loaded.meta).toEqual({ stage: "pretrain" });
    const restored = new AdamW(loaded.model, { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 });
    restored.restore(loaded.step, loaded.optimizerMoments!);
    expect(restored.moments().map(([, t]) => Array.from(t.dataSync()))).toEqual(optimizer.moments().map(([, t]) => Array.from(t.dataSync())));
    for (const o of [optimizer, restored]) o.dispose();
    for (const m of [model, loaded.model]) disposeModel(m);
  });

  it("replaces an existing checkpoint whole, and a failed save leaves the old one untouched", async () => {
    const parent = await mkdtemp(join(tmpdir(), "react-rl-lm-"));
    const dir = join(parent, "ckpt");
    const first = createModel(tiny(tokenizer.vocabSize), 4);
    const second = createModel(tiny(tokenizer.vocabSize), 5);
    await saveCheckpoint(dir, { model: first, tokenizer });
    const firstLoaded = await loadCheckpoint(dir);
    disposeModel(firstLoaded.model);
    await saveCheckpoint(dir, { model: second, tokenizer });
    const broken = { toJSON: () => { throw new Error("disk full"); } } as unknown as Tokenizer;
    await expect(saveCheckpoint(dir, { model: first, tokenizer: broken })).rejects.toThrow("disk full");
    expect(await readdir(parent)).toEqual(["ckpt"]);
    const loaded = await loadCheckpoint(dir);
    expect(Array.from(loaded.model.tokenEmbedding.dataSync())).toEqual(Array.from(second.tokenEmbedding.dataSync()));
    // The same path, other weights: its digest says so
    const digestOfFile = createHash("sha256").update(await readFile(join(dir, "weights.bin"))).digest("hex").slice(0, 12);
    expect(loaded.weightsDigest).toBe(`sha256 ${digestOfFile}`);
    expect(firstLoaded.weightsDigest).toMatch(/^sha256 [0-9a-f]{12}$/);
    expect(firstLoaded.weightsDigest).not.toBe(loaded.weightsDigest);
    for (const m of [first, second, loaded.model]) disposeModel(m);
  });

  it("says clearly when a directory is not a checkpoint", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-lm-"));
    await expect(loadCheckpoint(dir)).rejects.toThrow(UserError);
    await mkdir(join(dir, "bad"));
    await writeFile(join(dir, "bad", "manifest.json"), '{"format": "something else"}');
    await expect(loadCheckpoint(join(dir, "bad"))).rejects.toThrow(/not a valid checkpoint manifest/);
    // Copied in part: the manifest is there, its weights are not
    const model = createModel(tiny(tokenizer.vocabSize), 4);
    await saveCheckpoint(join(dir, "part"), { model, tokenizer });
    disposeModel(model);
    await rm(join(dir, "part", "weights.bin"));
    await expect(loadCheckpoint(join(dir, "part"))).rejects.toThrow(new UserError(`checkpoint ${join(dir, "part")} is incomplete: it has no weights.bin (copy it again, or train it again)`));
    // A refused checkpoint leaves no tensors behind
    const trained = createModel(tiny(tokenizer.vocabSize), 4);
    const { optimizer } = await trainLM(trained, [corpusBatch(tokenizer)], { steps: 1 });
    await saveCheckpoint(join(dir, "unfinished"), { model: trained, tokenizer, optimizer });
    optimizer.dispose();
    disposeModel(trained);
    await rm(join(dir, "unfinished", "optimizer.bin"));
    const tensors = tf.memory().numTensors;
    await expect(loadCheckpoint(join(dir, "unfinished"))).rejects.toThrow(/is incomplete: it has no optimizer\.bin/);
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
