import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { AdamW, createModel, disposeModel, parameters, selectBackend, tokenLogprobs, type LanguageModel, type TokenBatch } from "../src/lm/index.ts";
import { objectiveStep, rowLogprobs, sharePieces } from "../src/train/data-parallel.ts";
import { combineShares, verdictLogprobs, type Objective } from "../src/train/objectives.ts";
import { perTarget } from "../src/train/losses.ts";
import { RewardModel } from "../src/train/reward-model.ts";
import { trainingRows } from "../src/train/rollouts.ts";
import { frozenCopy } from "../src/train/runs.ts";
import { TOY_TASKS, TOY_TEMPLATE, toyEpisode, toyPlanner } from "./helpers/toy-task.ts";

const CONFIG = { vocabSize: 300, contextLength: 64, dModel: 16, nLayers: 1, nHeads: 2, copyHead: true };
const OPTIMIZER = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 };

/** Five rows of different lengths, some tokens masked out (observations), one row with no policy token at all. */
function batch(): TokenBatch {
  const lengths = [12, 7, 20, 9, 15];
  const ids = lengths.map((n, r) => Array.from({ length: n }, (_, i) => (r * 37 + i * 11) % 290));
  const mask = ids.map((row, r) => row.map((_, i) => (r === 3 ? 0 : i % 3 === 0 ? 0 : 1)));
  return { ids, mask };
}

const weightsOf = (model: LanguageModel) => parameters(model).map(([, v]) => [...v.dataSync()]);

/** Two copies of one model, each with its optimizer, one stepping on one thread and one on `threads`. */
async function sideBySide(objective: Objective, threads: number) {
  const one = createModel(CONFIG, 5);
  const many = frozenCopy(one);
  const [optOne, optMany] = [new AdamW(one, OPTIMIZER), new AdamW(many, OPTIMIZER)];
  const single = await objectiveStep(one, optOne, objective, 1e-2, 1, 1);
  const shared = await objectiveStep(many, optMany, objective, 1e-2, 1, threads);
  const weights = [weightsOf(one), weightsOf(many)];
  optOne.dispose();
  optMany.dispose();
  disposeModel(one);
  disposeModel(many);
  return { single, shared, weights };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number) {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(0, ...Array.from(actual, (x, i) => Math.abs(x - expected[i]!)));
  expect(worst).toBeLessThan(tolerance);
}

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("sharing a step's rows among threads", () => {
  it("cuts consecutive runs of pieces with about as many tokens each, never an empty one", () => {
    expect(sharePieces([10, 10, 10, 10], 2)).toEqual([[0, 2], [2, 4]]);
    expect(sharePieces([30, 5, 5, 5, 5], 2)).toEqual([[0, 1], [1, 5]]);
    expect(sharePieces([5, 5, 5, 5, 30], 2)).toEqual([[0, 4], [4, 5]]);
    expect(sharePieces([100, 1, 1], 3)).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(sharePieces([4, 4], 8)).toEqual([[0, 1], [1, 2]]);
    expect(sharePieces([4, 4, 4], 1)).toEqual([[0, 3]]);
  });

  it("weights the shares' means by their tokens and joins their per-token outputs in order", () => {
    const whole = combineShares([
      { weight: 3, loss: 2, outputs: { kl: Float32Array.of(1), logprobs: Float32Array.of(-1, -2) } },
      { weight: 1, loss: 6, outputs: { kl: Float32Array.of(5), logprobs: Float32Array.of(-3) } },
      { weight: 0, loss: 0, outputs: { kl: Float32Array.of(0), logprobs: Float32Array.of() } },
    ]);
    expect(whole.loss).toBeCloseTo(3, 6);
    expect(whole.outputs.kl![0]).toBeCloseTo(2, 6);
    expect([...whole.outputs.logprobs!]).toEqual([-1, -2, -3]);
  });
});

describe("a step on worker threads", () => {
  it("takes the step one thread takes on the next-token loss", async () => {
    const { single, shared, weights } = await sideBySide({ kind: "next-token", batch: batch() }, 3);
    expect(shared.loss).toBeCloseTo(single.loss, 4);
    expect(shared.gradNorm).toBeCloseTo(single.gradNorm, 4);
    expect(shared.tokens).toBe(single.tokens);
    expect(shared.step).toBe(1);
    weights[0]!.forEach((w, p) => expectClose(weights[1]![p]!, w, 1e-5));
  });

  it("takes the step one thread takes on the policy-gradient objective, with its figures", async () => {
    const b = batch();
    const reference = createModel(CONFIG, 9);
    const refLogprobs = tf.tidy(() => tokenLogprobs(reference, b.ids)).dataSync() as Float32Array;
    disposeModel(reference);
    const terms = { advantages: perTarget(b, [1, -0.5, 0.8, 2, -1.2]), refLogprobs, oldLogprobs: refLogprobs.map((x) => x + 0.05), klCoefficient: 0.3, clipRatio: 0.2 };
    const { single, shared, weights } = await sideBySide({ kind: "policy-gradient", batch: b, terms }, 2);
    expect(shared.loss).toBeCloseTo(single.loss, 4);
    for (const name of ["kl", "entropy", "clipFraction"]) expect(shared.outputs[name]![0]).toBeCloseTo(single.outputs[name]![0]!, 4);
    expect(single.outputs.kl![0]).toBeGreaterThan(0);
    expectClose(shared.outputs.logprobs!, single.outputs.logprobs!, 1e-4);
    weights[0]!.forEach((w, p) => expectClose(weights[1]![p]!, w, 1e-5));
  });

  it("takes the step one thread takes on DPO's objective, never cutting a pair, its margins in order", async () => {
    const b = batch();
    // Pairs (0, 3) and (1, 4) and (2, 0): chosen rows first, then their rejected rows
    const rows = [0, 1, 2, 3, 4, 0];
    const pairs: TokenBatch = { ids: rows.map((r) => b.ids[r]!), mask: rows.map((r) => b.mask[r]!.map(() => 1)) };
    const objective: Objective = { kind: "dpo", batch: pairs, refChosen: [-40, -25, -70], refRejected: [-30, -50, -38], beta: 0.1 };
    const { single, shared, weights } = await sideBySide(objective, 2);
    expect(shared.loss).toBeCloseTo(single.loss, 5);
    expect(shared.outputs.margins).toHaveLength(3);
    expectClose(shared.outputs.margins!, single.outputs.margins!, 1e-4);
    for (const name of ["chosenReward", "rejectedReward"]) expect(shared.outputs[name]![0]).toBeCloseTo(single.outputs[name]![0]!, 4);
    weights[0]!.forEach((w, p) => expectClose(weights[1]![p]!, w, 1e-5));
  });

  it("takes the steps one thread takes on the reward model's objectives, its verdicts in order", async () => {
    const b = batch();
    const pairs: TokenBatch = { ids: [0, 1, 2, 3, 4, 0].map((r) => b.ids[r]!), mask: [0, 1, 2, 3, 4, 0].map((r) => b.mask[r]!) };
    const objectives: [Objective, string[]][] = [
      [{ kind: "reward-outcome", batch: b, verdict: 1, labels: [1, 1, 0, 0, 1] }, ["verdict"]],
      [{ kind: "reward-preference", batch: pairs, verdict: 1 }, ["chosenVerdict", "rejectedVerdict"]],
    ];
    for (const [objective, joinedOutputs] of objectives) {
      const { single, shared, weights } = await sideBySide(objective, 2);
      expect(shared.loss).toBeCloseTo(single.loss, 5);
      for (const name of joinedOutputs) {
        expect(shared.outputs[name]).toHaveLength(objective.kind === "reward-outcome" ? 5 : 3);
        expectClose(shared.outputs[name]!, single.outputs[name]!, 1e-4);
      }
      weights[0]!.forEach((w, p) => expectClose(weights[1]![p]!, w, 1e-5));
    }
  });

  it("reads each row's log-probabilities as one thread does, in order", async () => {
    const model = createModel(CONFIG, 4);
    const rows = batch().ids;
    const [single, shared] = [await rowLogprobs(model, rows, 1), await rowLogprobs(model, rows, 3)];
    expect(shared.map((r) => r.length)).toEqual(rows.map((r) => r.length - 1));
    shared.forEach((values, r) => expectClose(values, single[r]!, 1e-5));
    disposeModel(model);
  });

  it("leaks no tensors", async () => {
    const model = createModel(CONFIG, 2);
    const optimizer = new AdamW(model, OPTIMIZER);
    await objectiveStep(model, optimizer, { kind: "next-token", batch: batch() }, 1e-3, 1, 2);
    const before = tf.memory().numTensors;
    await objectiveStep(model, optimizer, { kind: "next-token", batch: batch() }, 1e-3, 1, 2);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    disposeModel(model);
  });
});

describe("a step that fails", () => {
  const outOfMemory = () => {
    throw new WebAssembly.RuntimeError("Aborted(OOM)");
  };

  it("running out of memory in the update is the one-line mistake, on one thread or several, and leaks nothing", async () => {
    for (const threads of [1, 2]) {
      const model = createModel(CONFIG, 1);
      const optimizer = new AdamW(model, OPTIMIZER);
      optimizer.update = outOfMemory;
      const before = tf.memory().numTensors;
      const step = objectiveStep(model, optimizer, { kind: "next-token", batch: batch() }, 1e-3, 1, threads);
      await expect(step).rejects.toThrow(/^out of memory: a training step on 5 rows/);
      expect(tf.memory().numTensors).toBe(before);
      optimizer.dispose();
      disposeModel(model);
    }
  });

  it("a mistake found in a worker's share reaches the caller as the one-line mistake, and the next step trains on a fresh worker", async () => {
    const model = createModel({ ...CONFIG, contextLength: 16 }, 1);
    const optimizer = new AdamW(model, OPTIMIZER);
    // The worker's share has a row longer than the context: the worker reports it as it would running out of memory
    const long: TokenBatch = { ids: [[1, 2, 3], Array(20).fill(4)], mask: [[1, 1, 1], Array(20).fill(1)] };
    await expect(objectiveStep(model, optimizer, { kind: "next-token", batch: long }, 1e-3, 1, 2)).rejects.toThrow(UserError);
    const fine: TokenBatch = { ids: [[1, 2, 3], [4, 5, 6]], mask: [[1, 1, 1], [1, 1, 1]] };
    expect((await objectiveStep(model, optimizer, { kind: "next-token", batch: fine }, 1e-3, 1, 2)).step).toBe(1);
    optimizer.dispose();
    disposeModel(model);
  });
});

describe("a reward model's scores", () => {
  it("are the verdict's probability after each episode, read on every core", async () => {
    const planner = await toyPlanner();
    const episodes = TOY_TASKS.slice(0, 5).map((task, i) => toyEpisode(task, i % 2 ? task.answer! : "fig"));
    const scores = await new RewardModel(planner, TOY_TEMPLATE).score(episodes);
    const rows = trainingRows(episodes, TOY_TEMPLATE, planner, 1).map((r) => r.ids);
    const expected = tf.tidy(() => tf.exp(verdictLogprobs(planner.model, rows, planner.tokenizer.bos))).dataSync();
    expect(scores).toHaveLength(5);
    expectClose(scores, expected, 1e-5);
    disposeModel(planner.model);
  });
});

describe("log-probabilities on one thread", () => {
  it("read nothing back but the result: the weights go to no worker", async () => {
    const model = createModel(CONFIG, 1);
    const data = tf.Tensor.prototype.data;
    let reads = 0;
    tf.Tensor.prototype.data = function (this: tf.Tensor) {
      reads += 1;
      return data.call(this);
    } as typeof data;
    try {
      await rowLogprobs(model, batch().ids, 1);
    } finally {
      tf.Tensor.prototype.data = data;
    }
    expect(reads).toBe(1);
    disposeModel(model);
  });
});
