import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPrompt } from "../prompts/index.ts";
import { runEpisode } from "../src/agent/episode.ts";
import { ARITHMETIC_PROMPT, arithmeticEnvironment, arithmeticTasks } from "../src/bench/arithmetic.ts";
import { BaselinePolicy, OraclePolicy } from "../src/policies/index.ts";
import type { Policy } from "../src/agent/policy.ts";
import type { QaTask } from "../tools/wiki/index.ts";
import { cli, lastJson } from "./helpers/cli.ts";

const tasks = arithmeticTasks({ seed: 1, split: "test", count: 60 });

async function run(policy: Policy<QaTask>, task: QaTask) {
  return runEpisode(policy, arithmeticEnvironment(), { task, prompt: await loadPrompt(ARITHMETIC_PROMPT) });
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
