import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { batchLoss, createModel, targetMask, disposeModel, parameters, selectBackend, tokenLogprobs, type LanguageModel, type TokenBatch } from "../src/lm/index.ts";
import {
  adaptKlCoefficient,
  bestOfN,
  broughtBack,
  distinctRewarded,
  dpo,
  dpoLoss,
  groupAdvantages,
  klK3,
  loadConfig,
  policyGradient,
  policyGradientLoss,
  PolicyGradientConfig,
  preferencePairs,
  questionsFor,
  RejectionConfig,
  rejectionSampling,
  TrainingRun,
  trainRewardModel,
  withHint,
  type LossTerms,
} from "../src/train/index.ts";
import { maskedRowSums, perTarget } from "../src/train/losses.ts";
import { outcomeLoss, preferenceLoss } from "../src/train/objectives.ts";
import { splitByQuestion } from "../src/train/reward-model.ts";
import { frozenCopy, minibatchPlan } from "../src/train/runs.ts";
import { TOY_TASKS, toyEpisode } from "./helpers/toy-task.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";
import { promptDigest } from "../prompts/index.ts";

const scalar = (t: tf.Tensor) => t.dataSync()[0]!;
const values = (xs: readonly number[]) => tf.tensor1d(xs as number[]);

let model: LanguageModel;

beforeAll(async () => {
  await selectBackend();
  model = createModel({ vocabSize: 300, contextLength: 64, dModel: 16, nLayers: 1, nHeads: 2 }, 3);
});

afterAll(() => disposeModel(model));

describe("group-relative advantages", () => {
  it("GRPO standardises each group's rewards", () => {
    // mean 0.5, population std 0.5
    const a = groupAdvantages([1, 0, 0, 1], "grpo");
    a.forEach((x, i) => expect(x).toBeCloseTo([1, -1, -1, 1][i]!, 5));
    const b = groupAdvantages([2, 0, 1], "grpo"); // mean 1, std sqrt(2/3)
    b.forEach((x, i) => expect(x).toBeCloseTo([1, -1, 0][i]! / Math.sqrt(2 / 3), 5));
  });

  it("RLOO subtracts the mean of the other rewards", () => {
    expect(groupAdvantages([1, 0, 0], "rloo")).toEqual([1, -0.5, -0.5]);
    expect(groupAdvantages([3, 1], "rloo")).toEqual([2, -2]);
  });

  it("equal rewards, or a group of one, teach nothing: zero advantages", () => {
    for (const estimator of ["grpo", "rloo"] as const) {
      expect(groupAdvantages([1, 1, 1, 1], estimator)).toEqual([0, 0, 0, 0]);
      expect(groupAdvantages([0.3, 0.3], estimator)).toEqual([0, 0]);
      expect(groupAdvantages([1], estimator)).toEqual([0]);
    }
  });
});

describe("the KL estimate", () => {
  it("k3 is 0 where the policies agree and matches exp(d) - d - 1 elsewhere", () => {
    expect([...klK3(values([-1, -2]), values([-1, -2])).dataSync()]).toEqual([0, 0]);
    // log π = log 0.5, log π_ref = log 0.25: d = log 0.5, so k3 = 0.5 + log 2 - 1
    const k3 = klK3(values([Math.log(0.5)]), values([Math.log(0.25)])).dataSync()[0]!;
    expect(k3).toBeCloseTo(0.5 + Math.log(2) - 1, 6);
    expect(klK3(values([-3]), values([-0.1])).dataSync()[0]).toBeGreaterThan(0);
  });

  it("in the loss: 0 against an identical reference, positive and as computed by hand against another", () => {
    const batch = policyBatch();
    const terms = (reference: LanguageModel): LossTerms => ({
      advantages: perTarget(batch, [1, -1]),
      refLogprobs: packedLogprobs(reference, batch.ids),
      klCoefficient: 0.1,
      clipRatio: 0.2,
    });
    const same = frozenCopy(model);
    expect(tf.tidy(() => scalar(policyGradientLoss(model, batch, terms(same)).kl))).toBe(0);

    const other = createModel(model.config, 99);
    const measured = tf.tidy(() => scalar(policyGradientLoss(model, batch, terms(other)).kl));
    const mine = packedLogprobs(model, batch.ids);
    const theirs = packedLogprobs(other, batch.ids);
    const mask = targetMask(batch);
    let total = 0;
    mask.forEach((m, i) => (total += m * (Math.exp(theirs[i]! - mine[i]!) - (theirs[i]! - mine[i]!) - 1)));
    expect(measured).toBeGreaterThan(0);
    expect(measured).toBeCloseTo(total / mask.reduce((a, b) => a + b, 0), 5);
    disposeModel(same);
    disposeModel(other);
  });

  it("the adaptive coefficient grows above the target, shrinks below, by at most 20% of rollouts/horizon", () => {
    const control = { target: 0.02, horizon: 100 };
    expect(adaptKlCoefficient(0.1, 0.04, 50, control)).toBeCloseTo(0.1 * (1 + 0.2 * 0.5), 10);
    expect(adaptKlCoefficient(0.1, 0.021, 50, control)).toBeCloseTo(0.1 * (1 + 0.05 * 0.5), 10);
    expect(adaptKlCoefficient(0.1, 0, 50, control)).toBeCloseTo(0.1 * (1 - 0.2 * 0.5), 10);
    expect(adaptKlCoefficient(0.1, 0.02, 50, control)).toBe(0.1);
  });
});

/** Two rows whose last token is an observation token: a target only, never an input. */
function policyBatch(): TokenBatch {
  return {
    ids: [
      [256, 40, 41, 42, 43, 44, 45, 46],
      [256, 50, 51, 52, 53, 54],
    ],
    mask: [
      [0, 0, 1, 1, 0, 0, 1, 0],
      [0, 1, 1, 0, 1, 0],
    ],
  };
}

function withToken(batch: TokenBatch, row: number, at: number, id: number): TokenBatch {
  const ids = batch.ids.map((r) => [...r]);
  ids[row]![at] = id;
  return { ids, mask: batch.mask };
}

describe("masks: observation tokens give no loss and no gradient", () => {
  // π_old and π_ref fixed from the unchanged batch, so the surrogate and the KL both see a changed token
  const fixed = () => packedLogprobs(model, policyBatch().ids);
  const losses = (batch: TokenBatch) =>
    tf.tidy(() => {
      const terms: LossTerms = {
        advantages: perTarget(batch, [1.5, -0.7]),
        refLogprobs: fixed().map((x) => x - 0.5),
        oldLogprobs: fixed().map((x) => x + 0.1),
        klCoefficient: 0.3,
        clipRatio: 0.2,
      };
      return {
        policyGradient: scalar(policyGradientLoss(model, batch, terms).loss),
        sequence: [...maskedRowSums(tokenLogprobsOf(batch), batch).dataSync()],
        supervised: scalar(batchLoss(model, batch)),
      };
    });

  it("changing an observation token's target changes none of the losses", () => {
    const batch = policyBatch();
    const before = losses(batch);
    // The last tokens of both rows are observation tokens (mask 0)
    const after = losses(withToken(withToken(batch, 0, 7, 99), 1, 5, 98));
    expect(after).toEqual(before);
  });

  it("changing a policy token's target changes every one of them", () => {
    const batch = policyBatch();
    const before = losses(batch);
    const after = losses(withToken(batch, 0, 6, 99));
    expect(after.policyGradient).not.toBe(before.policyGradient);
    expect(after.sequence[0]).not.toBe(before.sequence[0]);
    expect(after.sequence[1]).toBe(before.sequence[1]);
    expect(after.supervised).not.toBe(before.supervised);
  });

  it("the gradient of the policy-gradient loss leaves an observation-only row's weights untouched", () => {
    // A row with no policy token contributes nothing: the loss of [row] alone has zero gradient.
    const batch: TokenBatch = { ids: [[256, 7, 8, 9]], mask: [[0, 0, 0, 0]] };
    const terms: LossTerms = { advantages: perTarget(batch, [2]), refLogprobs: new Float32Array(3).fill(-1), klCoefficient: 0.5, clipRatio: 0.2 };
    const norm = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => policyGradientLoss(model, batch, terms).loss, parameters(model).map(([, v]) => v));
      return scalar(tf.addN(Object.values(grads).map((g) => tf.sum(tf.abs(g)))));
    });
    expect(norm).toBe(0);
  });
});

function tokenLogprobsOf(batch: TokenBatch): tf.Tensor1D {
  return values([...packedLogprobs(model, batch.ids)]);
}

/** log π of every target of `ids`, rows end to end (read synchronously: tests run on a CPU backend). */
function packedLogprobs(m: LanguageModel, ids: number[][]): Float32Array {
  return tf.tidy(() => tokenLogprobs(m, ids).dataSync() as Float32Array);
}

describe("the policy-gradient surrogate", () => {
  it("clips the ratio where it would reward a move past 1 + ε", () => {
    const batch = policyBatch();
    const current = packedLogprobs(model, batch.ids);
    const terms = (advantage: number): LossTerms => ({
      advantages: perTarget(batch, [advantage, advantage]),
      refLogprobs: current,
      oldLogprobs: current.map((x) => x - 1), // ρ = e on every token
      klCoefficient: 0,
      clipRatio: 0.2,
    });
    const up = tf.tidy(() => {
      const out = policyGradientLoss(model, batch, terms(1));
      return { loss: scalar(out.loss), clip: scalar(out.clipFraction) };
    });
    // -min(e·1, 1.2·1) = -1.2 on every policy token
    expect(up.loss).toBeCloseTo(-1.2, 5);
    expect(up.clip).toBe(1);
    const down = tf.tidy(() => {
      const out = policyGradientLoss(model, batch, terms(-1));
      return { loss: scalar(out.loss), clip: scalar(out.clipFraction) };
    });
    // -min(-e, -1.2) = e: a negative advantage is never clipped away
    expect(down.loss).toBeCloseTo(Math.E, 4);
    expect(down.clip).toBe(0);
  });

  it("without π_old the ratio is 1: the loss is -mean(A) plus the KL term, and entropy is -mean log π", () => {
    const batch = policyBatch();
    const current = packedLogprobs(model, batch.ids);
    const mask = targetMask(batch);
    const advantages = perTarget(batch, [2, -1]);
    const out = tf.tidy(() => {
      const o = policyGradientLoss(model, batch, { advantages, refLogprobs: current, klCoefficient: 1, clipRatio: 0.2 });
      return { loss: scalar(o.loss), entropy: scalar(o.entropy), kl: scalar(o.kl) };
    });
    const policyTokens = mask.reduce((a, b) => a + b, 0);
    const meanOf = (xs: Float32Array) => xs.reduce((a, x, i) => a + x * mask[i]!, 0) / policyTokens;
    expect(out.kl).toBe(0);
    expect(out.loss).toBeCloseTo(-meanOf(advantages), 5);
    expect(out.entropy).toBeCloseTo(-meanOf(current), 5);
  });
});

describe("DPO", () => {
  it("loss matches a hand computation", () => {
    // s(chosen) = -3 - -4 = 1, s(rejected) = -5 - -4 = -1; β = 0.5: margin 1, loss log(1 + e^-1)
    // second pair: s(chosen) = 0, s(rejected) = 2: margin -1, loss log(1 + e)
    const out = dpoLoss(values([-3, -6]), values([-5, -2]), values([-4, -6]), values([-4, -4]), 0.5);
    expect([...out.margins.dataSync()]).toEqual([1, -1]);
    expect(scalar(out.loss)).toBeCloseTo((Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.E)) / 2, 6);
    expect([...out.chosenRewards.dataSync()]).toEqual([0.5, 0]);
    expect([...out.rejectedRewards.dataSync()]).toEqual([-0.5, 1]);
  });

  it("pairs a success with a failure of the same question, distinct by actions, at most k per question", () => {
    const [a, b, c] = TOY_TASKS;
    const episodes = [
      toyEpisode(a!, a!.answer!),
      toyEpisode(a!, "fig"),
      toyEpisode(a!, "fig"), // a duplicate failure
      toyEpisode(a!, "pear"),
      toyEpisode(b!, b!.answer!), // only successes: no pair
      toyEpisode(c!, "plum"), // only failures: no pair
    ];
    const pairs = preferencePairs(episodes, 5, 0);
    expect(pairs).toHaveLength(2);
    for (const pair of pairs) {
      expect(pair.chosen.reward).toBe(1);
      expect(pair.rejected.reward).toBe(0);
      expect(pair.chosen.question).toBe(pair.rejected.question);
    }
    expect(new Set(pairs.map((p) => p.rejected.answer))).toEqual(new Set(["fig", "pear"]));
    expect(preferencePairs(episodes, 1, 0)).toHaveLength(1);
  });
});

describe("rejection sampling's filters", () => {
  const [task] = TOY_TASKS;

  it("keeps rewarded episodes, one per action sequence", () => {
    const kept = distinctRewarded([toyEpisode(task!, "apple"), toyEpisode(task!, "fig"), toyEpisode(task!, "apple")]);
    expect(kept.map((e) => e.answer)).toEqual(["apple"]);
  });

  it("leaves out a rewarded episode that took an invalid action, unless asked to keep it", () => {
    const stumbled = { ...toyEpisode(task!, "apple"), metrics: { ...toyEpisode(task!, "apple").metrics, invalid: 1 } };
    expect(distinctRewarded([stumbled])).toEqual([]);
    expect(distinctRewarded([stumbled], true)).toEqual([stumbled]);
  });

  it("a hint goes into the question; only episodes whose observations brought the answer back count", () => {
    expect(withHint(task!).question).toBe("Say apple. (Hint: the answer is apple.)");
    expect(broughtBack(toyEpisode(task!, "apple", "Apple pie is made of an apple."), "apple")).toBe(true);
    expect(broughtBack(toyEpisode(task!, "apple", "Episode finished."), "apple")).toBe(false);
    expect(broughtBack(toyEpisode(task!, "apple", "Pineapples grow."), "apple")).toBe(false); // whole words only
  });

  it("rounds take the next questions in turn, wrapping around", () => {
    expect(questionsFor([1, 2, 3, 4, 5], 1, 2)).toEqual([1, 2]);
    expect(questionsFor([1, 2, 3, 4, 5], 3, 2)).toEqual([5, 1]);
    expect(questionsFor([1, 2, 3], 2, 5)).toEqual([3, 1, 2]);
  });
});

describe("the reward model's objectives and best-of-n", () => {
  it("outcome BCE and Bradley-Terry match hand computations", () => {
    expect(scalar(outcomeLoss(values([Math.log(0.8), Math.log(0.3)]), [1, 0]))).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 5);
    // z(0.8) = log 4, z(0.5) = 0: -log σ(log 4) = -log(4/5)
    expect(scalar(preferenceLoss(values([Math.log(0.8)]), values([Math.log(0.5)])))).toBeCloseTo(-Math.log(0.8), 5);
  });

  it("best-of-n picks each group's top-scored episode", () => {
    const [a, b] = TOY_TASKS;
    const right = toyEpisode(a!, "apple");
    const wrong = toyEpisode(a!, "fig");
    const other = [toyEpisode(b!, "fig"), toyEpisode(b!, "plum")];
    const scores = new Map([[right, 0.9], [wrong, 0.2], [other[0]!, 0.6], [other[1]!, 0.1]]);
    const result = bestOfN([[right, wrong], other, [toyEpisode(b!, "apple")]], (e) => scores.get(e)!);
    expect(result).toEqual({ questions: 2, n: 2, single: 0.25, best: 0.5, oracle: 0.5 });
  });

  it("holds out whole questions", () => {
    const episodes = TOY_TASKS.flatMap((task) => [toyEpisode(task, "fig"), toyEpisode(task, task.answer!)]);
    const { train, heldOut } = splitByQuestion(episodes, 0.25, 1);
    expect(heldOut).toHaveLength(4);
    expect(train).toHaveLength(12);
    const trainQuestions = new Set(train.map((e) => e.question));
    expect(heldOut.some((e) => trainQuestions.has(e.question))).toBe(false);
  });
});

describe("configs and run folders", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "react-rl-train-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("a trainer called from a script says what is wrong with a setting in one line, naming itself", async () => {
    const sampling = { planner: undefined, tasks: [], out: join(dir, "never") };
    const logged = { planner: undefined, episodes: [], out: join(dir, "never") };
    await expect(rejectionSampling({ ...sampling, rounds: 0 } as never)).rejects.toThrow(new UserError("rejectionSampling: rounds: expected a whole number of at least 1"));
    await expect(policyGradient({ ...sampling, reward: "exact" } as never)).rejects.toThrow(/^policyGradient: reward: expected em, f1 or rm$/);
    await expect(dpo({ ...logged, beta: "0.1" } as never)).rejects.toThrow(/^dpo: beta: expected a number/);
    await expect(trainRewardModel({ ...logged, objective: "outcomes" } as never)).rejects.toThrow(/^trainRewardModel: objective: expected outcome or preference \(did you mean outcome\?\)$/);
    // A misspelt setting, which JavaScript lets through, is not dropped for the default
    await expect(rejectionSampling({ ...sampling, temprature: 0.7 } as never)).rejects.toThrow(new UserError("rejectionSampling: unknown option temprature (did you mean temperature or template?)"));
    await expect(policyGradient({ ...sampling, groupsize: 4 } as never)).rejects.toThrow(new UserError("policyGradient: unknown option groupsize (did you mean groupSize?)"));
    await expect(dpo({ ...logged, tasks: [] } as never)).rejects.toThrow(new UserError("dpo: unknown option tasks"));
  });

  it("a trainer called from a script refuses a template given by its name, an environment for its factory, or episodes of another prompt, writing nothing", async () => {
    const out = join(dir, "never");
    const template = { instruction: "Answer.", exemplars: [] };
    const sampling = { planner: undefined, tasks: [{ id: "q1", question: "?" }], environment: () => undefined, template, out };
    await expect(rejectionSampling({ ...sampling, template: "hopworld" } as never)).rejects.toThrow(
      new UserError("rejectionSampling: template: expected a PromptTemplate ({ instruction, exemplars }), as loadPrompt(name) gives"),
    );
    await expect(policyGradient({ ...sampling, environment: {} } as never)).rejects.toThrow(
      new UserError("policyGradient: environment: expected a function from a task to its environment, not an environment"),
    );
    await expect(rejectionSampling({ ...sampling, tasks: [{ question: "?" }] } as never)).rejects.toThrow(/^rejectionSampling: tasks\.0\.id: /);
    await expect(rejectionSampling({ ...sampling, out: "" } as never)).rejects.toThrow(/^rejectionSampling: out: /);
    const ranWith = { ...makeTrajectory("q1", 1), meta: { ...makeTrajectory("q1", 1).meta, prompt: "sha256 000000000000" } };
    await expect(dpo({ planner: undefined, episodes: [ranWith], template, out } as never)).rejects.toThrow(
      new UserError(`dpo: episodes ran with another prompt (sha256 000000000000) than template (${promptDigest(template)}): pass the template they ran with`),
    );
    await expect(trainRewardModel({ planner: undefined, episodes: [ranWith], template, out } as never)).rejects.toThrow(/^trainRewardModel: episodes ran with another prompt/);
    const recalled = { ...makeTrajectory("q1", 1), meta: { ...makeTrajectory("q1", 1).meta, recall: 3 } };
    await expect(dpo({ planner: undefined, episodes: [recalled], template, out } as never)).rejects.toThrow(
      new UserError("dpo: episodes ran with exemplars recalled per question (meta.recall), which template's own exemplars would stand in for"),
    );
    await expect(dpo({ planner: undefined, episodes: [{ id: "q1" }], template, out } as never)).rejects.toThrow(/^dpo: episodes\.0\.version: /);
    // One question: the held-out share took it, and "no episodes" blamed the episodes
    const oneQuestion = [makeTrajectory("q1", 1), { ...makeTrajectory("q1", 0), sample: 1 }];
    await expect(trainRewardModel({ planner: undefined, episodes: oneQuestion, template, out } as never)).rejects.toThrow(
      new UserError("trainRewardModel: the episodes are of 1 question, all held out to measure accuracy (heldOut 0.2): give episodes of more questions"),
    );
    await expect(readdir(out)).rejects.toThrow("ENOENT");
  });

  it("reads a JSON config, lets flags override it, and fills in defaults", async () => {
    const file = join(dir, "rs.json");
    await writeFile(file, JSON.stringify({ rounds: 5, samples: 8, name: "mine" }));
    const config = await loadConfig(RejectionConfig, file, { samples: 2 });
    expect(config).toMatchObject({ rounds: 5, samples: 2, name: "mine", temperature: 1, runs: "runs" });
  });

  it("rejects unknown keys, bad values and impossible combinations as user errors", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ rounds: 2, roundz: 3 }));
    await expect(loadConfig(RejectionConfig, file, {})).rejects.toThrow(/unknown config key roundz \(did you mean rounds\?\)/);
    await expect(loadConfig(RejectionConfig, undefined, { samples: -1 })).rejects.toThrow(UserError);
    // runs/.. would be the folder above runs/
    for (const name of [".", ".."]) await expect(loadConfig(RejectionConfig, undefined, { name })).rejects.toThrow("name: a folder's name, not . or ..");
    await expect(loadConfig(PolicyGradientConfig, undefined, { reward: "rm" })).rejects.toThrow(/rewardModel/);
    // A reward model the reward would never read is a mistake too
    await expect(loadConfig(PolicyGradientConfig, undefined, { rewardModel: "runs/rm/checkpoint" })).rejects.toThrow("rewardModel: a reward model is read only for reward rm (--reward rm)");
    // A world seed past 32 bits would generate another seed's world under its name
    await expect(loadConfig(PolicyGradientConfig, undefined, { worldSeed: 2 ** 32 + 1 })).rejects.toThrow("bad config: worldSeed: ");
    await writeFile(file, "{ not json");
    await expect(loadConfig(RejectionConfig, file, {})).rejects.toThrow(/not valid JSON/);
  });

  it("a run folder refuses other settings, and skips but keeps metrics logged past its checkpoint", async () => {
    const out = join(dir, "run");
    const template = { instruction: "Answer.", exemplars: ["Question: 1 + 1?"] };
    const run = await TrainingRun.open(out, { method: "rs", config: { rounds: 3, seed: 1 }, counter: "round", mutable: ["rounds"], template });
    expect(run.completed).toBe(0);
    await expect(TrainingRun.open(out, { method: "rs", config: { rounds: 3, seed: 2 }, counter: "round", template })).rejects.toThrow(/seed: 1 -> 2/);
    // Another prompt renders the run's episodes differently: refused too
    const edited = { ...template, exemplars: ["Question: 2 + 2?"] };
    await expect(TrainingRun.open(out, { method: "rs", config: { rounds: 3, seed: 1 }, counter: "round", template: edited })).rejects.toThrow(/prompt: "sha256 [0-9a-f]{12}" -> "sha256 [0-9a-f]{12}"/);
    // A run from before config.json kept the prompt resumes, and keeps it from then on
    const older = join(dir, "older");
    await mkdir(older, { recursive: true });
    await writeFile(join(older, "config.json"), JSON.stringify({ method: "rs", rounds: 3, seed: 1 }));
    await expect(TrainingRun.open(older, { method: "rs", config: { rounds: 3, seed: 1 }, counter: "round", template })).resolves.toMatchObject({ completed: 0 });
    await expect(TrainingRun.open(older, { method: "rs", config: { rounds: 3, seed: 1 }, counter: "round", template: edited })).rejects.toThrow(/prompt: /);
    // The planner it starts from: by path, and by weights (a base retrained in place is another start)
    const started = join(dir, "started");
    const start = (weightsDigest: string, source = "runs/sft") => ({ method: "rs", start: { source, weightsDigest }, config: { rounds: 3, seed: 1 }, counter: "round", template });
    await TrainingRun.open(started, start("sha256 aaaaaaaaaaaa"));
    await expect(TrainingRun.open(started, start("sha256 aaaaaaaaaaaa", "./runs/sft/"))).resolves.toMatchObject({ completed: 0 }); // the same path, tidied
    await expect(TrainingRun.open(started, start("sha256 bbbbbbbbbbbb"))).rejects.toThrow('weightsDigest: "sha256 aaaaaaaaaaaa" -> "sha256 bbbbbbbbbbbb"');
    await expect(TrainingRun.open(started, start("sha256 aaaaaaaaaaaa", "runs/sft-moved"))).resolves.toMatchObject({ completed: 0 }); // the same weights, moved
    await expect(TrainingRun.open(older, start("sha256 bbbbbbbbbbbb"))).rejects.toThrow('model: undefined -> "runs/sft"');
    await writeFile(join(older, "config.json"), JSON.stringify({ method: "rs", model: "./runs/sft/", rounds: 3, seed: 1 })); // kept as given
    await expect(TrainingRun.open(older, start("sha256 bbbbbbbbbbbb"))).resolves.toMatchObject({ completed: 0 });
    // Another live process's run (two terminals, one folder): refused, as it would log every round twice
    const busy = join(dir, "busy");
    await mkdir(busy, { recursive: true });
    await writeFile(join(busy, ".react-rl.lock"), `${process.ppid}\n`);
    await expect(TrainingRun.open(busy, start("sha256 aaaaaaaaaaaa"))).rejects.toThrow(`${busy} is in use by another react-rl process (pid ${process.ppid})`);
    // A config.json damaged by hand is the user's to mend, said in one line
    for (const [text, problem] of [["null", "expected a JSON object"], ["{ cut", "not valid JSON"]]) {
      await writeFile(join(older, "config.json"), text);
      const refused = TrainingRun.open(older, start("sha256 bbbbbbbbbbbb"));
      await expect(refused).rejects.toThrow(UserError);
      await expect(refused).rejects.toThrow(`${join(older, "config.json")}: ${problem}`);
    }
    // A round logged but never checkpointed (a kill in between) does not count: it will run again
    const logged = `${JSON.stringify({ round: 1, success: 0.5 })}\n{"round": 2, "succ`;
    await writeFile(join(out, "metrics.jsonl"), logged);
    const reopened = await TrainingRun.open(out, { method: "rs", config: { rounds: 4, seed: 1 }, counter: "round", mutable: ["rounds"], template });
    expect(reopened.metrics).toEqual([]);
    // The torn line is ended, so the round's new line parses
    await reopened.log(1, { success: 0.75 });
    expect(await readFile(join(out, "metrics.jsonl"), "utf8")).toBe(`${logged}\n${JSON.stringify({ round: 1, success: 0.75 })}\n`);
  });

  it("minibatch plans visit every item once per epoch, the same way for the same seed", () => {
    const plan = minibatchPlan(10, 4, 2, 7);
    expect(plan.map((b) => b.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
    for (const epoch of [0, 1]) {
      const seen = plan.filter((b) => b.epoch === epoch).flatMap((b) => b.indices);
      expect(seen.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    expect(minibatchPlan(10, 4, 2, 7)).toEqual(plan);
    expect(minibatchPlan(10, 4, 3, 7).slice(0, 6)).toEqual(plan); // more epochs extend the same plan
  });
});
