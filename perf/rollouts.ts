/**
 * The demo's rollout workload, with today's generation and the fast one, in one
 * run on the same machine: one rejection-sampling round (64 training questions of
 * world 2, 4 samples each at temperature 0.7) and a greedy evaluation of world 1's
 * 300 test questions, both at 64 episodes in flight, from the committed base
 * planner. "whole prompts" reads every turn's prompt through the model on the main
 * thread, finished turns riding along in the batch, as before; "cached" keeps
 * each episode's keys and values between turns (prefix caching), drops finished
 * turns from the batch, and decodes on a pool of worker threads, one per core.
 *
 *   npm run bench:rollouts [-- --questions 64 --eval 300 --workers N]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { loadPrompt } from "../prompts/index.ts";
import type { QaTask } from "../tools/wiki/index.ts";
import { runBenchmark } from "../src/agent/index.ts";
import { untriedTasks } from "../src/cli/train-methods.ts";
import { hopworldSuite } from "../src/suites/index.ts";
import { BASE_PLANNER, LocalPolicy, loadPlanner, type SamplingInput } from "../src/planner/index.ts";
import { markdownTable } from "../src/report/table.ts";
import { generateWorld, HOPWORLD_PROMPT, worldEnvironments, worldTasks } from "../src/world/index.ts";

const { values } = parseArgs({ options: { questions: { type: "string", default: "64" }, eval: { type: "string", default: "300" }, workers: { type: "string" } } });
const flags = z
  .object({ questions: z.coerce.number().int().positive(), eval: z.coerce.number().int().positive(), workers: z.coerce.number().int().min(0).optional() })
  .parse(values);
const workers = flags.workers ?? availableParallelism();

const planner = await loadPlanner(BASE_PLANNER);
const template = await loadPrompt(HOPWORLD_PROMPT);
const testWorld = generateWorld({ seed: 1 });
const trainWorld = generateWorld({ seed: 2 });
const workloads = [
  { name: "RS round", tasks: untriedTasks(hopworldSuite(trainWorld), planner).slice(0, flags.questions), world: trainWorld, samples: 4, temperature: 0.7 },
  { name: "evaluation", tasks: worldTasks(testWorld, "test").slice(0, flags.eval), world: testWorld, samples: 1, temperature: 0 },
];
const engines: { name: string; sampling: SamplingInput }[] = [
  { name: "whole prompts", sampling: { engine: "tfjs", prefixCache: false, compactBatch: false, workers: 0 } },
  { name: "tfjs cached", sampling: { engine: "tfjs", prefixCache: true, workers } },
  { name: "kernels", sampling: { engine: "kernels", prefixCache: true, workers } },
];

const rows: string[][] = [];
const wall = new Map<string, number>();
const root = await mkdtemp(join(tmpdir(), "bench-rollouts-"));
for (const workload of workloads) {
  for (const engine of engines) {
    const policy = new LocalPolicy(planner, { ...engine.sampling, temperature: workload.temperature, seed: 1, maxBatch: 64 });
    const started = performance.now();
    const { summary } = await runBenchmark<QaTask>({
      tasks: workload.tasks,
      samples: workload.samples,
      policy,
      environment: worldEnvironments(workload.world),
      prompt: () => template,
      out: join(root, `${workload.name}-${engine.name}`),
      concurrency: 64,
    });
    const seconds = (performance.now() - started) / 1000;
    await policy.close();
    wall.set(engine.name, (wall.get(engine.name) ?? 0) + seconds);
    const s = policy.stats;
    const perSecond = (n: number) => (n / seconds).toFixed(0);
    rows.push([
      workload.name, engine.name, String(summary.n), seconds.toFixed(1), (summary.n / seconds).toFixed(2),
      perSecond(s.promptTokens), perSecond(s.readTokens), perSecond(s.generatedTokens),
      `${(s.prefillMs / 1000).toFixed(1)} / ${(s.decodeMs / 1000).toFixed(1)}`, summary.em.toFixed(3),
    ]);
    console.error(`${workload.name}, ${engine.name}: ${seconds.toFixed(1)} s`);
  }
}
await rm(root, { recursive: true, force: true });

console.log(`${planner.source}, ${workers} worker thread(s) for "tfjs cached" and "kernels"\n`);
console.log(markdownTable(
  ["workload", "engine", "episodes", "wall s", "episodes/s", "prompt tok/s", "read tok/s", "generated tok/s", "prefill / decode s (summed over workers)", "EM"],
  rows,
));
console.log(`\nrollout speedup: ${(wall.get("whole prompts")! / wall.get("kernels")!).toFixed(2)}x`);
