import { recallTool, type EpisodicMemory } from "../../memory/index.ts";
import type { EnvironmentFactory, Task } from "../../tools/environment.ts";
import type { Policy } from "../agent/policy.ts";
import { RecallingPolicy, type RecallingOptions } from "../policies/recalling.ts";
import { runBenchmark, type BenchmarkOptions, type BenchmarkResult } from "../agent/index.ts";

export interface MemoryBenchmarkOptions<T extends Task>
  extends Omit<BenchmarkOptions<T>, "policy" | "environment" | "concurrency" | "samples" | "onEpisode">, RecallingOptions {
  /** The policy to put behind a `RecallingPolicy`. */
  policy: Policy<T>;
  /** The episodes recalled from; each episode of the run is added as it ends. */
  memory: EpisodicMemory;
  /** A fresh environment for each episode, with `tools` (the `Recall` tool) among its own. */
  environment: EnvironmentFactory<T>;
}

/**
 * Runs the tasks in order, one at a time, with `policy` behind a
 * `RecallingPolicy`, and remembers each episode as soon as it ends: a task
 * can recall every earlier one and never its own, whose outcome is not known yet.
 */
export function runWithMemory<T extends Task>(options: MemoryBenchmarkOptions<T>): Promise<BenchmarkResult> {
  const { policy, memory, environment, minSimilarity, ...rest } = options;
  const recall = recallTool(memory);
  return runBenchmark({
    ...rest,
    policy: new RecallingPolicy(policy, { minSimilarity }),
    environment: (task) => environment(task, [recall]),
    concurrency: 1,
    onEpisode: async (trajectory) => {
      await memory.remember([trajectory]);
    },
  });
}
