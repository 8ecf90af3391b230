// The trainers end to end on a toy task, with a tiny model: they must improve it, and resume after a kill.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadPrompt, promptDigest } from "../prompts/index.ts";
import { main } from "../src/cli/main.ts";
import { loadCheckpoint, parameters, saveCheckpoint, selectBackend } from "../src/lm/index.ts";
import { episodeTokens, LocalPolicy, type Planner } from "../src/planner/index.ts";
import {
  dpo,
  klToReference,
  policyGradient,
  rejectionSampling,
  RewardModel,
  trainRewardModel,
  trainSupervised,
  TrainingRun,
  type MetricsRecord,
  type TrainingProgress,
} from "../src/train/index.ts";
import { frozenCopy, resumedOptimizer } from "../src/train/runs.ts";
import { ScriptedPolicy } from "../src/policies/index.ts";
import { arithmeticSuite, expertEpisodes, hopworldSuite, type Suite } from "../src/suites/index.ts";
import { generateWorld, serializeWorld, worldTasks } from "../src/world/index.ts";
import { readTrajectories, type Trajectory } from "../trajectories/index.ts";
import { TOY_ROLLOUTS, TOY_TASKS, TOY_TEMPLATE, TOY_WORDS, toyEpisode, toyPlanner } from "./helpers/toy-task.ts";

let base: Planner;
let dir: string;

/** A fresh copy of the warmed-up toy planner, so tests do not train each other's model. */
const planner = (): Planner => ({ ...base, model: frozenCopy(base.model) });
const toy = { ...TOY_ROLLOUTS, tasks: TOY_TASKS, questions: 8 };
const successOf = (metrics: MetricsRecord[]) => metrics.map((m) => Number(m.success));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

beforeAll(async () => {
  await selectBackend();
  base = await toyPlanner();
  dir = await mkdtemp(join(tmpdir(), "react-rl-loop-"));
}, 60_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe("trainers improve a toy task", () => {
  it("rejection sampling raises the success rate of its samples", async () => {
    const { metrics, interrupted } = await rejectionSampling({ ...toy, planner: planner(), out: join(dir, "rs"), rounds: 6, samples: 4, epochs: 4, batchSize: 8, learningRate: 1e-2 });
    expect(interrupted).toBe(false);
    expect(metrics.map((m) => m.round)).toEqual([1, 2, 3, 4, 5, 6]);
    const success = successOf(metrics);
    expect(mean(success.slice(-2))).toBeGreaterThan(success[0]! + 0.25);
    expect(metrics.every((m) => Number(m.kept) > 0 && Number(m.optimizerSteps) > 0)).toBe(true);
    // Where the time went: sampling, and the fine-tune with the tokens it read
    expect(metrics.every((m) => Number(m.sampleSeconds) > 0 && Number(m.trainTokens) > 0 && Number(m.trainSeconds) > 0)).toBe(true);
    expect(metrics.every((m) => Number(m.sampleSeconds) + Number(m.trainSeconds) <= Number(m.seconds))).toBe(true);
    // Its checkpoint keeps the prompt it trained with, which a LocalPolicy of it then runs with
    expect((await loadCheckpoint(join(dir, "rs", "checkpoint"))).meta.prompt).toEqual(toy.template);
  });

  it("rationalisation retries unsolved questions with the answer as a hint, keeping only what the episode found itself", async () => {
    const out = join(dir, "rs-hint");
    const { metrics } = await rejectionSampling({ ...toy, planner: planner(), out, rounds: 1, samples: 2, temperature: 0, rationalize: true });
    const hinted = (await readTrajectories(join(out, "rollouts", "0001", "hinted", "trajectories.jsonl"))).trajectories;
    const unsolved = 8 - Number(metrics[0]!.solved) * 8;
    expect(unsolved).toBeGreaterThan(0);
    expect(hinted).toHaveLength(2 * unsolved);
    expect(hinted.every((e) => /\(Hint: the answer is \w+\.\)$/.test(e.question))).toBe(true);
    // The toy's observations never show the answer: a hinted success is a copy of the hint, never kept
    expect(metrics[0]!.rationalized).toBe(0);
  });

  it("policy gradient (two PPO-clipped passes per update) raises the success rate, logging every figure", async () => {
    const { metrics } = await policyGradient({ ...toy, planner: planner(), out: join(dir, "rl"), updates: 12, groupSize: 8, minibatch: 32, ppoEpochs: 2, learningRate: 3e-3 });
    const success = successOf(metrics);
    expect(mean(success.slice(-3))).toBeGreaterThan(mean(success.slice(0, 3)) + 0.25);
    for (const key of ["reward", "success", "kl", "klCoefficient", "entropy", "clipFraction", "invalidRate", "loss", "sampleSeconds", "trainTokens", "trainSeconds"]) {
      expect(metrics.every((m) => Number.isFinite(m[key]))).toBe(true);
    }
    expect(Number(metrics[0]!.kl)).toBeLessThan(0.05); // the first rollouts come from the reference itself
    expect(metrics.slice(1).every((m) => Number(m.kl) > 0)).toBe(true);
    expect(metrics.some((m) => Number(m.clipFraction) > 0)).toBe(true); // the second pass meets the clip
    expect(metrics.at(-1)!.klCoefficient).not.toBe(metrics[0]!.klCoefficient);
  });

  it("policy gradient leaves groups of equal rewards out, unless told to keep them", async () => {
    // Greedy rollouts: each question's group is one episode four times over, so every advantage is 0
    const greedy = { ...toy, updates: 1, groupSize: 4, temperature: 0 };
    const skipped = planner();
    const [left] = (await policyGradient({ ...greedy, planner: skipped, out: join(dir, "rl-skip") })).metrics;
    expect(left).toMatchObject({ trainedEpisodes: 0 });
    expect(left).not.toHaveProperty("kl");
    expect(sameWeights(skipped, base.model)).toBe(true);
    const [kept] = (await policyGradient({ ...greedy, planner: planner(), out: join(dir, "rl-keep"), keepZeroAdvantage: true })).metrics;
    expect(kept).toMatchObject({ trainedEpisodes: 32 });
    expect(Number(kept!.trainTokens)).toBeGreaterThan(Number(left!.trainTokens)); // 0: no step, no token
    expect(Number(kept!.kl)).toBeLessThan(1e-6); // at the reference the KL term has no gradient: nothing moves
  });

  it("DPO makes the planner prefer the right answer", async () => {
    const episodes = TOY_TASKS.flatMap((task) => TOY_WORDS.map((word) => toyEpisode(task, word)));
    const { metrics } = await dpo({ planner: planner(), episodes, template: TOY_TEMPLATE, out: join(dir, "dpo"), epochs: 6, batchSize: 8, beta: 0.5, learningRate: 1e-2 });
    expect(metrics).toHaveLength(6 * 3); // 24 pairs in batches of 8
    expect(Math.abs(Number(metrics[0]!.margin))).toBeLessThan(1e-3); // the first step is the reference itself
    expect(mean(metrics.slice(-3).map((m) => Number(m.margin)))).toBeGreaterThan(0.5);
    expect(mean(metrics.slice(-3).map((m) => Number(m.accuracy)))).toBeGreaterThan(0.8);
    expect(Number(metrics.at(-1)!.loss)).toBeLessThan(Number(metrics[0]!.loss));
  });
});

describe("the reward model", () => {
  it("trains, is evaluated on held-out questions, loads back, and serves as the RL reward", async () => {
    const episodes = TOY_TASKS.flatMap((task) => TOY_WORDS.map((word) => toyEpisode(task, word)));
    const out = join(dir, "rm");
    const { metrics, evaluation } = await trainRewardModel({ planner: planner(), episodes, template: TOY_TEMPLATE, out, heldOut: 0.25, epochs: 8, batchSize: 8, learningRate: 3e-3 });
    expect(Number(metrics.at(-1)!.loss)).toBeLessThan(Number(metrics[0]!.loss));
    expect(evaluation).toBeDefined();
    expect(evaluation!.episodes).toBe(8); // 2 of 8 questions, 4 episodes each
    expect(evaluation!.bestOfN).toMatchObject({ questions: 2, n: 4, single: 0.25, oracle: 1 });
    expect(JSON.parse(await readFile(join(out, "evaluation.json"), "utf8"))).toEqual(evaluation);

    const rewardModel = await RewardModel.load(join(out, "checkpoint"), TOY_TEMPLATE);
    const scores = await rewardModel.score(episodes.slice(0, 4));
    expect(scores.every((s) => s > 0 && s < 1)).toBe(true);
    await expect(RewardModel.load(join(dir, "rs", "checkpoint"), TOY_TEMPLATE)).rejects.toThrow(/not a reward model/);
    // It reads episodes with the prompt it was trained with, whichever the caller has.
    const other = { instruction: "Answer with one word.", exemplars: [] };
    const loaded = await RewardModel.load(join(out, "checkpoint"), other);
    expect(await loaded.score(episodes.slice(0, 4))).toEqual(scores);
    expect(await new RewardModel(loaded.planner, other).score(episodes.slice(0, 4))).not.toEqual(scores);
    const broken = join(dir, "rm-broken");
    await cp(join(out, "checkpoint"), broken, { recursive: true });
    const manifest = JSON.parse(await readFile(join(broken, "manifest.json"), "utf8"));
    await writeFile(join(broken, "manifest.json"), JSON.stringify({ ...manifest, meta: { ...manifest.meta, prompt: { instruction: 3 } } }));
    await expect(RewardModel.load(broken, TOY_TEMPLATE)).rejects.toThrow(/broken prompt/);

    const { metrics: rl } = await policyGradient({ ...toy, planner: planner(), out: join(dir, "rl-rm"), updates: 1, groupSize: 4, reward: "rm", rewardModel });
    expect(Number(rl[0]!.reward)).toBeGreaterThan(0);
    expect(Number(rl[0]!.reward)).toBeLessThan(1);
    // Its config keeps the reward model: another (here the one with its prompt broken, other weights aside) is another run
    expect(JSON.parse(await readFile(join(dir, "rl-rm", "config.json"), "utf8"))).toMatchObject({ rewardModel: join(out, "checkpoint"), rewardModelDigest: rewardModel.weightsDigest });
    const retrained = { source: join(out, "checkpoint"), weightsDigest: "sha256 0123456789ab", score: (e: readonly unknown[]) => rewardModel.score(e as never) };
    await expect(policyGradient({ ...toy, planner: planner(), out: join(dir, "rl-rm"), updates: 2, groupSize: 4, reward: "rm", rewardModel: retrained })).rejects.toThrow(
      `rewardModelDigest: "${rewardModel.weightsDigest}" -> "sha256 0123456789ab"`,
    );
  });
});

describe("the reward model's accuracy", () => {
  it("is how often P(success) > 1/2 calls an episode right", async () => {
    // Every episode a success: a model that learns to say so is right every time, one that never does never is
    const successes = TOY_TASKS.map((task) => toyEpisode(task, task.answer!));
    const { metrics } = await trainRewardModel({ planner: planner(), episodes: [...successes, ...successes], template: TOY_TEMPLATE, out: join(dir, "rm-all"), heldOut: 0.25, epochs: 8, batchSize: 4, learningRate: 1e-2 });
    expect(Number(metrics.at(-1)!.accuracy)).toBe(1);
  });
});

describe("on a backend that cannot read tensors synchronously, as tfjs's WebGPU in Node", () => {
  it("every trainer, the KL measure, checkpoints and generation on tfjs read back with data() alone", async () => {
    const dataSync = vi.spyOn(tf.Tensor.prototype, "dataSync").mockImplementation(() => {
      throw new Error("dataSync() on a backend that has none");
    });
    try {
      const episodes = TOY_TASKS.flatMap((task) => TOY_WORDS.map((word) => toyEpisode(task, word)));
      const trained = planner();
      await rejectionSampling({ ...toy, planner: trained, out: join(dir, "async-rs"), rounds: 1, samples: 2, epochs: 1, batchSize: 8 });
      await policyGradient({ ...toy, planner: trained, out: join(dir, "async-pg"), updates: 1, groupSize: 4, ppoEpochs: 2 });
      await dpo({ planner: trained, episodes, template: TOY_TEMPLATE, out: join(dir, "async-dpo"), epochs: 1, batchSize: 8 });
      const { evaluation } = await trainRewardModel({ planner: planner(), episodes, template: TOY_TEMPLATE, out: join(dir, "async-rm"), heldOut: 0.25, epochs: 1, batchSize: 8 });
      expect(evaluation!.episodes).toBe(8);
      expect(await klToReference(trained, base.model, episodes, TOY_TEMPLATE)).toBeGreaterThan(0);
      const policy = new LocalPolicy(trained, { engine: "tfjs", temperature: 1, maxNewTokens: 8 });
      const completion = await policy.act({ task: TOY_TASKS[0]!, prompt: "Answer.\n\nQuestion: apple?\nThought 1:", step: 1, stop: ["\nObservation"] });
      expect(completion.tokens!.length).toBeGreaterThan(0);
      expect(dataSync).not.toHaveBeenCalled();
    } finally {
      dataSync.mockRestore();
    }
  });
});

describe("resuming after a kill", () => {
  it("continues from the last finished round with its weights, logging each round once", async () => {
    const out = join(dir, "resume");
    const settings = { ...toy, out, rounds: 3, samples: 2, epochs: 1, batchSize: 8, learningRate: 1e-2, concurrency: 4 };
    const stop = new AbortController();
    // Stopped while sampling round 2: round 1 is saved, round 2's episodes so far are logged
    const onProgress = (p: TrainingProgress) => {
      if (p.index === 2 && p.phase === "sample" && p.done >= 4) stop.abort();
    };
    const first = await rejectionSampling({ ...settings, planner: planner(), signal: stop.signal, onProgress });
    expect(first).toMatchObject({ interrupted: true, ran: 1 });
    expect(first.metrics.map((m) => m.round)).toEqual([1]);
    const saved = await loadCheckpoint(join(out, "checkpoint"));
    expect(saved.meta).toMatchObject({ stage: "rs", completed: 1 });
    // The same, as an older react-rl left it: round 2's episodes labelled with the run's start
    const older = join(dir, "resume-older");
    await cp(out, older, { recursive: true });
    const round2 = join(older, "rollouts", "0002", "trajectories.jsonl");
    const startLabels = { model: base.source, weightsDigest: "sha256 000000000000" };
    const relabelled = (await readTrajectories(round2)).trajectories.map((t) => JSON.stringify({ ...t, meta: { ...t.meta, ...startLabels } }));
    expect(relabelled.length).toBeGreaterThanOrEqual(4);
    await writeFile(round2, `${relabelled.join("\n")}\n`);

    const resumedPlanner = planner();
    let weightsAtRound2: boolean | undefined;
    const run = await TrainingRun.open(out, { method: "rs", config: {}, counter: "round", template: settings.template }).catch((error: Error) => error);
    expect(run).toBeInstanceOf(Error); // other settings: refused, nothing touched
    const second = await rejectionSampling({
      ...settings,
      planner: resumedPlanner,
      onProgress: (p) => {
        // The round-1 weights are in place when round 2's sampling resumes
        if (p.index === 2 && p.phase === "sample") weightsAtRound2 ??= sameWeights(resumedPlanner, saved.model);
      },
    });
    expect(weightsAtRound2).toBe(true);
    expect(second).toMatchObject({ interrupted: false, ran: 2 });
    expect(second.metrics.map((m) => m.round)).toEqual([1, 2, 3]);
    // Round 2 says how many of its episodes the stopped run had sampled (its sampleSeconds are this run's alone); the others sampled all theirs
    expect(second.metrics.map((m) => m.resumedEpisodes)).toEqual([undefined, relabelled.length, undefined]);
    expect((await readFile(join(out, "metrics.jsonl"), "utf8")).trim().split("\n")).toHaveLength(3);
    expect(await readdir(join(out, "rollouts"))).toEqual(["0001", "0002", "0003"]);
    expect((await loadCheckpoint(join(out, "checkpoint"))).meta.completed).toBe(3);

    // Rerunning a finished run does nothing more
    const third = await rejectionSampling({ ...settings, planner: planner() });
    expect(third).toMatchObject({ interrupted: false, ran: 0 });
    expect(third.metrics).toHaveLength(3);
    // The older folder's round 2 is sampled again by the weights it resumes with, as the episodes now say
    const resumedOlder = planner();
    await expect(rejectionSampling({ ...settings, out: older, planner: resumedOlder, rounds: 2 })).resolves.toMatchObject({ interrupted: false });
    const resampled = (await readTrajectories(round2)).trajectories;
    expect(resampled).toHaveLength(16);
    expect(new Set(resampled.map((t) => t.meta.weightsDigest))).toEqual(new Set([saved.weightsDigest]));
  });
});

describe("a trainer stopped during a round's optimisation", () => {
  /** A signal that stops the run once the round's first optimizer step is taken. */
  function stopAfterFirstStep() {
    const stop = new AbortController();
    return { signal: stop.signal, onProgress: (p: TrainingProgress) => p.phase === "train" && p.done === 1 && stop.abort() };
  }

  it("takes back the steps it took, logs nothing, and a rerun trains the round again", async () => {
    const runs = [
      (options: { planner: Planner; signal?: AbortSignal; onProgress?: (p: TrainingProgress) => void }) =>
        rejectionSampling({ ...toy, ...options, out: join(dir, "rs-stopped"), rounds: 1, samples: 4, epochs: 4, batchSize: 4, learningRate: 1e-2 }),
      (options: { planner: Planner; signal?: AbortSignal; onProgress?: (p: TrainingProgress) => void }) =>
        policyGradient({ ...toy, ...options, out: join(dir, "rl-stopped"), updates: 1, groupSize: 4, minibatch: 8, keepZeroAdvantage: true, learningRate: 3e-3 }),
    ];
    for (const run of runs) {
      const trained = planner();
      const start = frozenCopy(trained.model);
      await expect(run({ planner: trained, ...stopAfterFirstStep() })).resolves.toMatchObject({ interrupted: true, ran: 0, metrics: [] });
      expect(sameWeights(trained, start)).toBe(true); // as it started: round 1 has no checkpoint to go back to
      await expect(run({ planner: trained })).resolves.toMatchObject({ interrupted: false, ran: 1 });
      expect(sameWeights(trained, start)).toBe(false);
    }
  });
});

describe("supervised training stopped by its signal", () => {
  it("saves an unfinished checkpoint at the step reached, which a second call resumes to the end", async () => {
    const out = join(dir, "sft-stopped");
    const rows = TOY_TASKS.map((task) => episodeTokens(toyEpisode(task, task.answer!), TOY_TEMPLATE, base.tokenizer));
    const options = { out, steps: 6, batchSize: 4, learningRate: 1e-2, warmupSteps: 0, seed: 3 };
    const stop = new AbortController();
    // Aborted during step 2: that step finishes, and training stops there, saved (no `saveEvery` save is due)
    const onStep = (m: { step: number }) => {
      if (m.step === 2) stop.abort();
    };
    const first = await trainSupervised(planner(), rows, { ...options, signal: stop.signal, onStep });
    expect(first.map((m) => m.step)).toEqual([1, 2]);
    const saved = await loadCheckpoint(out);
    expect(saved.meta).toMatchObject({ done: false, steps: 2 });
    expect(saved.step).toBe(2);
    expect(saved.optimizerMoments?.size).toBe(2 * parameters(saved.model).length);

    // Resumed as `train sft` resumes: the saved weights and optimizer, the same options
    const second = await trainSupervised({ ...saved, source: out }, rows, { ...options, optimizer: resumedOptimizer(saved.model, saved) });
    expect(second.map((m) => m.step)).toEqual([3, 4, 5, 6]);
    expect((await loadCheckpoint(out)).meta).toMatchObject({ done: true, steps: 6 });
    // On the batches an unbroken run takes, to the same weights
    const unbroken = planner();
    await trainSupervised(unbroken, rows, { ...options, out: join(dir, "sft-unbroken") });
    expect(sameWeights(unbroken, (await loadCheckpoint(out)).model)).toBe(true);
  });
});

function sameWeights(a: Planner, b: Planner["model"]): boolean {
  const theirs = new Map(parameters(b));
  return parameters(a.model).every(([name, v]) => {
    const x = v.dataSync();
    const y = theirs.get(name)!.dataSync();
    return x.every((value, i) => value === y[i]);
  });
}

describe("react-rl train rs|rl|dpo|rm", () => {
  it("runs from flags and a config file, resumes by rerunning, and turns bad settings into clear errors", async () => {
    const world = join(dir, "world.json");
    const generated = generateWorld({ seed: 3, sizes: { train: 6, dev: 1, test: 1 } });
    await writeFile(world, serializeWorld(generated));
    const model = join(dir, "tiny");
    await saveCheckpoint(model, { model: base.model, tokenizer: base.tokenizer });
    const config = join(dir, "rs.json");
    await writeFile(config, JSON.stringify({ rounds: 1, questions: 2, samples: 2, maxSteps: 2, world, model }));
    const rs = ["train", "rs", "--config", config, "--runs", dir, "--name", "cli"];

    expect(await main([...rs, "--seed", "4"])).toBe(0);
    const metrics = join(dir, "cli", "metrics.jsonl");
    expect((await readFile(metrics, "utf8")).trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, "cli", "config.json"), "utf8"))).toMatchObject({ method: "rs", rounds: 1, seed: 4, samples: 2 });
    // The report: the round's curves, inline in a page that opens offline
    const curves = await readFile(join(dir, "cli", "curves.svg"), "utf8");
    expect(curves).toContain(">Rejection sampling: rollouts</text>");
    expect(await readFile(join(dir, "cli", "report.html"), "utf8")).toContain(curves.split("\n")[2]!);
    const said = vi.spyOn(console, "error");
    expect(await main([...rs, "--seed", "4"])).toBe(0); // finished: nothing more to do, and said so
    expect(said.mock.calls.flat()).toContain(`${join(dir, "cli")} had finished its 1 round: nothing more to do`);
    said.mockRestore();
    expect((await readFile(metrics, "utf8")).trim().split("\n")).toHaveLength(1);
    expect(await main([...rs, "--seed", "5"])).toBe(1); // other settings in the same run folder

    const rollouts = join(dir, "cli", "rollouts", "0001");
    expect(await main(["train", "dpo", "--model", model, "--trajectories", rollouts, "--runs", dir])).toBe(1); // a random model solves nothing: no pairs
    const printed = vi.spyOn(console, "log");
    expect(await main(["train", "rm", "--model", model, "--trajectories", rollouts, "--runs", dir, "--name", "cli-rm", "--epochs", "1", "--held-out", "0.5"])).toBe(0);
    expect(printed.mock.calls.flat().find((line) => String(line).startsWith("best-of-"))).toMatch(/^best-of-2 EM /); // two samples per question
    printed.mockRestore();
    expect(await readFile(join(dir, "cli-rm", "report.html"), "utf8")).toMatch(/<th>held-out questions<\/th>[\s\S]*<svg/);
    expect(await main(["train", "rl", "--model", model, "--reward", "rm"])).toBe(1); // rm needs --reward-model
    expect(await main(["train", "rl", "--updates", "many"])).toBe(1);

    // --skip-questions passes over the questions an earlier run sampled (this model was fine-tuned on none)
    const rl = ["train", "rl", "--model", model, "--world", world, "--runs", dir, "--updates", "1", "--questions", "2", "--group-size", "2", "--max-steps", "2"];
    expect(await main([...rl, "--name", "cli-skip", "--skip-questions", "4"])).toBe(0);
    const { trajectories: sampled } = await readTrajectories(join(dir, "cli-skip", "rollouts", "0001", "trajectories.jsonl"));
    expect(new Set(sampled.map((t) => t.id))).toEqual(new Set(worldTasks(generated, "train").slice(4, 6).map((t) => t.id)));
    // resuming it on other questions is a changed setting, not a silent switch
    expect(await main([...rl, "--name", "cli-skip", "--skip-questions", "2", "--updates", "2"])).toBe(1);
    const other = join(dir, "other-world.json"); // the same question ids, other questions
    await writeFile(other, serializeWorld(generateWorld({ seed: 4, sizes: { train: 6, dev: 1, test: 1 } })));
    expect(await main([...rl, "--name", "cli-skip", "--skip-questions", "4", "--updates", "2", "--world", other])).toBe(1);
    expect(JSON.parse(await readFile(join(dir, "cli-skip", "config.json"), "utf8")).trainingQuestions).toMatch(/^2 from /);
    expect(await main([...rl, "--name", "cli-skip-all", "--skip-questions", "6"])).toBe(1); // no training questions left
    // fewer questions left than an update takes: said, not silent
    const notes = vi.spyOn(console, "error");
    expect(await main([...rl, "--name", "cli-again", "--skip-questions", "5"])).toBe(0);
    expect(notes.mock.calls.flat()).toContain("note: 1 training question left, fewer than 2 per update: every update samples the same ones");
    notes.mockRestore();
  });
});

describe("react-rl train rs on any suite", () => {
  it("trains one round on arithmetic and on hopworld through the same command, each on its own training questions", async () => {
    const world = join(dir, "suite-world.json");
    await writeFile(world, serializeWorld(generateWorld({ seed: 3, sizes: { train: 4, dev: 1, test: 1 } })));
    const model = join(dir, "suite-tiny");
    await saveCheckpoint(model, { model: base.model, tokenizer: base.tokenizer });
    const rs = ["train", "rs", "--model", model, "--runs", dir, "--rounds", "1", "--questions", "2", "--samples", "1", "--max-steps", "2", "--epochs", "1"];
    const suites = [
      { name: "arithmetic", flags: ["--dataset", "arithmetic", "--data-seed", "5"], tasks: arithmeticSuite(5).tasks("train", 2) },
      { name: "hopworld", flags: ["--world", world], tasks: worldTasks(generateWorld({ seed: 3, sizes: { train: 4, dev: 1, test: 1 } }), "train").slice(0, 2) },
    ];
    for (const suite of suites) {
      expect(await main([...rs, ...suite.flags, "--name", `suite-${suite.name}`])).toBe(0);
      const { trajectories } = await readTrajectories(join(dir, `suite-${suite.name}`, "rollouts", "0001", "trajectories.jsonl"));
      // in the order episodes ended
      expect(trajectories.map((t) => `${t.id} ${t.question}`).sort()).toEqual(suite.tasks.map((t) => `${t.id} ${t.question}`).sort());
      expect(trajectories.map((t) => t.meta.dataset)).toEqual(suite.tasks.map(() => `${suite.name}-train`));
    }
    // a suite's flags that do not go with it are one-line errors
    expect(await main([...rs, "--dataset", "arithmetic", "--world", world, "--name", "suite-bad"])).toBe(1);
    expect(await main([...rs, "--data-seed", "5", "--name", "suite-bad"])).toBe(1);
  });
});

describe("react-rl train dpo and rm on any suite", () => {
  /** A success (the expert's) and a failure (a wrong guess) for each of the first `count` training questions. */
  async function successesAndFailures(suite: Suite, count: number): Promise<Trajectory[]> {
    const guesser = new ScriptedPolicy(({ step }) => ` I guess.\nAction ${step}: Finish[nothing]`);
    return [...(await expertEpisodes(suite, "train", count)), ...(await expertEpisodes({ ...suite, expert: guesser }, "train", count))];
  }

  it("learn from logs of arithmetic and of hopworld through the same commands and suite flags", async () => {
    const generated = generateWorld({ seed: 3, sizes: { train: 4, dev: 1, test: 1 } });
    const world = join(dir, "logs-world.json");
    await writeFile(world, serializeWorld(generated));
    const model = join(dir, "logs-tiny");
    await saveCheckpoint(model, { model: base.model, tokenizer: base.tokenizer });
    const suites = [
      { name: "arithmetic", flags: ["--dataset", "arithmetic", "--data-seed", "5"], suite: arithmeticSuite(5) },
      { name: "hopworld", flags: ["--world", world], suite: hopworldSuite(generated) },
    ];
    for (const { name, flags, suite } of suites) {
      const episodes = await successesAndFailures(suite, 3);
      expect(episodes.map((e) => e.reward)).toEqual([1, 1, 1, 0, 0, 0]);
      const log = join(dir, `logs-${name}.jsonl`);
      await writeFile(log, episodes.map((e) => `${JSON.stringify(e)}\n`).join(""));
      const common = ["--model", model, "--trajectories", log, "--runs", dir, "--epochs", "1", ...flags];
      expect(await main(["train", "dpo", ...common, "--name", `dpo-${name}`, "--batch-size", "2"])).toBe(0);
      // one pair per question, two pairs a step
      expect((await readFile(join(dir, `dpo-${name}`, "metrics.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line).step)).toEqual([1, 2]);
      expect(await main(["train", "rm", ...common, "--name", `rm-${name}`, "--held-out", "0.34"])).toBe(0);
      expect(JSON.parse(await readFile(join(dir, `rm-${name}`, "evaluation.json"), "utf8"))).toMatchObject({ questions: 1, episodes: 2 });
    }
    // logs of another suite than --dataset are refused before the run starts, so the flag named fixes it
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const misread = ["--model", model, "--trajectories", join(dir, "logs-hopworld.jsonl"), "--runs", dir, "--name", "dpo-misread"];
    expect(await main(["train", "dpo", ...misread, "--dataset", "arithmetic"])).toBe(1);
    const said = errors.mock.calls.flat().join("\n");
    errors.mockRestore();
    expect(said).toContain(`logs-hopworld.jsonl holds episodes of hopworld, not arithmetic: pass --dataset hopworld`);
    await expect(readFile(join(dir, "dpo-misread", "config.json"), "utf8")).rejects.toThrow("ENOENT");
    expect(await main(["train", "dpo", ...misread, "--world", world, "--epochs", "1", "--batch-size", "2"])).toBe(0);
    // and so are logs that ran with another prompt, unless --prompt names it
    const mine = join(dir, "mine.txt");
    await writeFile(mine, "Answer with Search and Finish.\n---\nQuestion: Q?\nThought 1: t\nAction 1: Finish[A]\n");
    const prompted = join(dir, "logs-mine.jsonl");
    const digest = promptDigest(await loadPrompt(mine));
    await writeFile(prompted, (await readTrajectories(join(dir, "logs-hopworld.jsonl"))).trajectories.map((t) => `${JSON.stringify({ ...t, meta: { ...t.meta, prompt: digest } })}\n`).join(""));
    const mineFlags = ["--model", model, "--trajectories", prompted, "--world", world, "--runs", dir, "--epochs", "1", "--batch-size", "2"];
    const refusals = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await main(["train", "dpo", ...mineFlags, "--name", "dpo-mine"])).toBe(1);
    expect(refusals.mock.calls.flat().join("\n")).toContain(`logs-mine.jsonl holds episodes that ran with another prompt (${digest}) than hopworld`);
    refusals.mockRestore();
    expect(await main(["train", "dpo", ...mineFlags, "--name", "dpo-mine", "--prompt", mine])).toBe(0);
    // a suite's flags that do not go with it are one-line errors here too
    expect(await main(["train", "dpo", "--model", model, "--trajectories", join(dir, "logs-arithmetic.jsonl"), "--dataset", "arithmetic", "--world", world, "--runs", dir, "--name", "dpo-bad"])).toBe(1);
  });
});
