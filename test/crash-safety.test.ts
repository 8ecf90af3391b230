import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Planner } from "../src/planner/index.ts";
import { TrainingRun, type MetricsRecord } from "../src/train/index.ts";
import type { Progress } from "../src/train/runs.ts";
import { AdamW, createModel, disposeModel, loadCheckpoint, recoverCheckpoint, saveCheckpoint, selectBackend, trainTokenizer, type LanguageModel } from "../src/lm/index.ts";
import { shortDigest } from "../src/digest.ts";

// A kill at filesystem step `at` (counted from `steps = 0`): that step and every later one
// throw, so none of the code's own cleanup runs, as after a real crash.
const crash = vi.hoisted(() => ({ at: Infinity, steps: 0 }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const step = () => {
    if (crash.steps++ >= crash.at) throw Object.assign(new Error("simulated crash"), { code: "EIO" });
  };
  const wrap =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      step();
      return f(...args);
    };
  // A file's writes and syncs are steps too; closing is not (the system closes a dead process's files).
  const handleSteps = (handle: import("node:fs/promises").FileHandle) =>
    new Proxy(handle, {
      get: (target, key) => {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== "function") return value;
        const method = (value as (...args: unknown[]) => unknown).bind(target);
        return key === "close" ? method : wrap(async (...args: unknown[]) => method(...args));
      },
    });
  return {
    ...actual,
    mkdir: wrap(actual.mkdir),
    readdir: wrap(actual.readdir),
    rename: wrap(actual.rename),
    rm: wrap(actual.rm),
    stat: wrap(actual.stat),
    open: wrap(async (...args: Parameters<typeof actual.open>) => handleSteps(await actual.open(...args))),
  };
});
afterEach(() => {
  crash.at = Infinity;
});

/** Runs `action` with a crash at step `at`; true if it finished before the crash. */
async function crashingAt(at: number, action: () => Promise<unknown>): Promise<boolean> {
  crash.steps = 0;
  crash.at = at;
  try {
    await action();
    return true;
  } catch (error) {
    if ((error as Error).message !== "simulated crash") throw error;
    return false;
  } finally {
    crash.at = Infinity;
  }
}

const tokenizer = trainTokenizer(["the cat sat on the mat. the dog ate the bone."], { vocabSize: 64 });
const tinyModel = (seed: number) => createModel({ vocabSize: tokenizer.vocabSize, contextLength: 16, dModel: 8, nLayers: 1, nHeads: 2 }, seed);
const weights = (model: LanguageModel) => Array.from(model.tokenEmbedding.dataSync());

beforeAll(async () => {
  await selectBackend();
});

describe("a crash at any step of replacing a checkpoint", () => {
  it("leaves the old checkpoint or the new one, and no temporary folders once recovered", async () => {
    const [old, next] = [tinyModel(1), tinyModel(2)];
    const optimizer = new AdamW(next, { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 });
    const outcomes: string[] = [];
    for (let at = 0; ; at++) {
      const parent = await mkdtemp(join(tmpdir(), "react-rl-crash-"));
      const dir = join(parent, "ckpt");
      await saveCheckpoint(dir, { model: old, tokenizer });
      const finished = await crashingAt(at, () => saveCheckpoint(dir, { model: next, tokenizer, optimizer }));
      await recoverCheckpoint(dir);
      expect(await readdir(parent)).toEqual(["ckpt"]);
      const loaded = await loadCheckpoint(dir);
      const outcome = weights(loaded.model).join() === weights(next).join() ? "new" : "old";
      if (outcome === "old") expect(weights(loaded.model)).toEqual(weights(old));
      else expect(loaded.optimizerMoments).toBeDefined();
      disposeModel(loaded.model);
      outcomes.push(outcome);
      if (finished) break;
    }
    // Every step was a crash point: early ones keep the old checkpoint, late ones the new
    expect(outcomes.length).toBeGreaterThan(15);
    expect(outcomes.at(0)).toBe("old");
    expect(outcomes.at(-1)).toBe("new");
    optimizer.dispose();
    for (const m of [old, next]) disposeModel(m);
  });
});

describe("a crash at any step of finishing a training round", () => {
  const options = { method: "rs", config: { rounds: 3 }, counter: "round", template: { instruction: "Answer.", exemplars: [] } };
  const planner = (seed: number): Planner => ({ model: tinyModel(seed), tokenizer, source: "test", meta: {} });
  /** What `TrainingRun.resume` does when a round finishes: log its metrics, then checkpoint it. */
  async function complete(run: TrainingRun, progress: Progress, record: MetricsRecord): Promise<void> {
    await run.log(progress.completed, record);
    await run.save(progress);
  }

  /** Runs round 1, then round 2 with a crash at step `at`; the run folder and whether round 2 finished. */
  async function crashInRound2(at: number, rounds: Planner[]): Promise<{ out: string; finished: boolean }> {
    const out = join(await mkdtemp(join(tmpdir(), "react-rl-crash-")), "run");
    const run = await TrainingRun.open(out, options);
    const { optimizer } = run.restore(rounds[0]!);
    await complete(run, { completed: 1, planner: rounds[0]!, optimizer }, { success: 0.25 });
    const finished = await crashingAt(at, () => complete(run, { completed: 2, planner: rounds[1]!, optimizer }, { success: 0.5 }));
    optimizer.dispose();
    return { out, finished };
  }

  /** The run resumed after the last round it saved, with that round's weights. */
  async function resume(out: string, expected: Planner[]): Promise<{ run: TrainingRun; optimizer: AdamW; resumed: Planner }> {
    const run = await TrainingRun.open(out, options);
    expect(run.completed).toBeGreaterThan(0); // round 1 was saved before any crash: never start over
    const resumed = planner(9);
    const { optimizer } = run.restore(resumed);
    expect(weights(resumed.model)).toEqual(weights(expected[run.completed - 1]!.model));
    // It names the checkpoint it now holds, which its next round's episodes record
    expect(resumed).toMatchObject({ source: resolve(out, "checkpoint"), weightsDigest: shortDigest([await readFile(join(out, "checkpoint", "weights.bin"))]) });
    return { run, optimizer, resumed };
  }

  it("resumes from the old checkpoint or the new one, and loses no metrics line", async () => {
    const rounds = [planner(1), planner(2), planner(3)];
    const record = (round: number, success: number): MetricsRecord => ({ round, success });
    const completedAfterCrash = new Set<number>();
    for (let at = 0; ; at++) {
      const { out, finished } = await crashInRound2(at, rounds);
      const log = join(out, "metrics.jsonl");
      const logged = await readFile(log, "utf8");
      const { run, optimizer, resumed } = await resume(out, rounds);
      completedAfterCrash.add(run.completed);
      expect(await readFile(log, "utf8")).toBe(logged); // never cut
      expect(run.metrics).toEqual([record(1, 0.25), record(2, 0.5)].slice(0, run.completed));
      // The run goes on: round 2 again if its save was lost, logged again; the later line counts
      for (let round = run.completed + 1; round <= 3; round++) await complete(run, { completed: round, planner: rounds[round - 1]!, optimizer }, { success: round === 2 ? 0.75 : 1 });
      optimizer.dispose();
      disposeModel(resumed.model);
      const done = await resume(out, rounds);
      expect(done.run.completed).toBe(3);
      expect(done.run.metrics).toEqual([record(1, 0.25), record(2, run.completed === 2 ? 0.5 : 0.75), record(3, 1)]);
      expect((await readFile(log, "utf8")).startsWith(logged)).toBe(true);
      done.optimizer.dispose();
      disposeModel(done.resumed.model);
      if (finished) break;
    }
    expect([...completedAfterCrash].sort()).toEqual([1, 2]);
    for (const p of rounds) disposeModel(p.model);
  });

  it("refuses a damaged checkpoint, saying what is wrong with it", async () => {
    const { out } = await crashInRound2(Infinity, [planner(1), planner(2)]);
    await writeFile(join(out, "checkpoint", "manifest.json"), "{ cut short");
    await expect(TrainingRun.open(out, options)).rejects.toThrow(/checkpoint\/manifest.json: not valid JSON \(.*\); remove it to start the run over/);
  });
});
