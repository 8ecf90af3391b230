import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPrompt } from "../prompts/index.ts";
import { runEpisode } from "../src/agent/episode.ts";
import { ARITHMETIC_PROMPT, arithmeticEnvironment, arithmeticTasks } from "../src/suites/arithmetic.ts";
import { demonstrations } from "../src/cli/train.ts";
import { BASE_PLANNER, loadPlanner, type TokenSequence } from "../src/planner/index.ts";
import { trainingRows } from "../src/train/rollouts.ts";
import type { Tokenizer } from "../src/lm/index.ts";
import { BaselinePolicy, OraclePolicy } from "../src/policies/index.ts";
import type { Policy } from "../src/agent/policy.ts";
import type { QaTask } from "../tools/wiki/index.ts";
import { cli, lastJson } from "./helpers/cli.ts";

const tasks = arithmeticTasks({ seed: 1, split: "test", count: 60 });

async function run(policy: Policy<QaTask>, task: QaTask) {
  return runEpisode(policy, arithmeticEnvironment(task), { task, prompt: await loadPrompt(ARITHMETIC_PROMPT) });
}

describe("arithmetic questions", () => {
  it("are a function of the seed and split, and a split's first questions do not depend on how many are asked for", () => {
    expect(arithmeticTasks({ seed: 1, split: "test", count: 60 })).toEqual(tasks);
    expect(arithmeticTasks({ seed: 1, split: "test", count: 20 })).toEqual(tasks.slice(0, 20));
    expect(arithmeticTasks({ seed: 2, split: "test", count: 60 }).map((t) => t.question)).not.toEqual(tasks.map((t) => t.question));
  });

  it("are distinct, never repeat a training question in dev or test, and take 2 to 4 operations with an integer answer", () => {
    const train = new Set(arithmeticTasks({ seed: 1, split: "train" }).map((t) => t.question));
    expect(train.size).toBe(3000);
    for (const split of ["dev", "test"] as const) {
      const held = arithmeticTasks({ seed: 1, split });
      expect(held).toHaveLength(300);
      expect(new Set(held.map((t) => t.id)).size).toBe(300);
      expect(new Set(held.map((t) => t.question)).size).toBe(300);
      expect(held.filter((t) => train.has(t.question))).toEqual([]);
      expect(new Set(held.map((t) => t.type))).toEqual(new Set(["ops-2", "ops-3", "ops-4"]));
      for (const task of held) expect(task.answer).toMatch(/^[1-9]\d*$/);
    }
  });

  it("are solved by the oracle through Code[...] in the real environment, while the baseline fails them", async () => {
    for (const task of tasks) {
      const trajectory = await run(new OraclePolicy(), task);
      expect(trajectory.metrics).toMatchObject({ em: 1, steps: 2, invalid: 0 });
      expect(trajectory.steps[0]!.action).toBe(`Code[${task.program}]`);
      // The sandbox computes the program independently of the generator's own arithmetic.
      expect(trajectory.steps[0]!.observation).toBe(`Result: ${task.answer}`);
    }
    const baseline = await Promise.all(tasks.slice(0, 20).map((task) => run(new BaselinePolicy(), task)));
    expect(baseline.filter((t) => t.metrics.em === 1)).toEqual([]);
  });

  it("run from the CLI with --dataset arithmetic, and --data-seed belongs to it alone", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "react-rl-arithmetic-")), "bench");
    const bench = await cli(["bench", "--dataset", "arithmetic", "--data-seed", "1", "--limit", "30", "--policy", "oracle", "--out", out]);
    expect(bench.code).toBe(0);
    expect(lastJson(bench.stdout)).toMatchObject({ n: 30, em: 1 });
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    expect(Object.keys(summary.byType).sort()).toEqual(["ops-2", "ops-3", "ops-4"]);
    const logged = (await readFile(join(out, "trajectories.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    expect(logged.map((t) => t.question)).toEqual(tasks.slice(0, 30).map((t) => t.question));

    const misplaced = await cli(["bench", "--dataset", "hotpotqa", "--data-seed", "2"]);
    expect(misplaced.code).toBe(1);
    expect(misplaced.stderr).toContain("--data-seed is for --dataset arithmetic");
  });
});

/** A row's text in runs of equal mask: what the planner is trained to write (mask 1) and what it only reads (mask 0). */
function textByMask({ ids, mask }: TokenSequence, tokenizer: Tokenizer): { written: string[]; read: string[] } {
  const runs = { written: [] as string[], read: [] as string[] };
  for (let start = 0, end = 1; start < ids.length; start = end, end = start + 1) {
    while (end < ids.length && mask[end] === mask[start]) end++;
    runs[mask[start] === 1 ? "written" : "read"].push(tokenizer.decode(ids.slice(start, end)));
  }
  return runs;
}

describe("arithmetic demonstrations for train sft --dataset arithmetic", () => {
  it("are Code-then-Finish episodes of training questions whose rows train the planner on its actions, not on the results", async () => {
    const { episodes, template } = await demonstrations({ dataset: "arithmetic", examples: 6 });
    expect(template).toEqual(await loadPrompt(ARITHMETIC_PROMPT));
    const train = arithmeticTasks({ seed: 1, split: "train", count: 6 });
    expect(episodes.map((e) => e.id)).toEqual(train.map((t) => t.id));

    const planner = await loadPlanner(BASE_PLANNER);
    const rows = trainingRows(episodes, template, planner);
    rows.forEach((row, i) => {
      const task = train[i]!;
      // The whole episode fits the context: nothing of the question was cut.
      expect(row.ids[0]).toBe(planner.tokenizer.bos);
      const { written, read } = textByMask(row, planner.tokenizer);
      expect(written).toEqual([" I compute the answer.\nAction 1: Code[" + task.program + "]", " I know the answer.\nAction 2: Finish[" + task.answer + "]"]);
      expect(read.join("")).toContain(task.question);
      expect(read.join("")).toContain(`Observation 1: Result: ${task.answer}`);
    });
  });

  it("refuse a world and leave --data-seed to arithmetic, before any training", async () => {
    await expect(demonstrations({ dataset: "arithmetic", examples: 1, world: "world.json" })).rejects.toThrow(/takes --data-seed, not --world/);
    await expect(demonstrations({ dataset: "arithmetic", examples: 1, "world-seed": 2 })).rejects.toThrow(/not --world or --world-seed/);
    await expect(demonstrations({ dataset: "hopworld", examples: 1, "data-seed": 2 })).rejects.toThrow("--data-seed is for --dataset arithmetic");
  });
});
