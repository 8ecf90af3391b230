/**
 * Does episodic memory help on questions that come back? One seeded stream of
 * hopworld test questions (names no trained model has seen), where items go
 * back to earlier questions: word for word, reworded, or flipped (the same
 * wording asked the other way round, so an old answer is wrong). The baseline
 * policy runs it alone, then behind a RecallingPolicy at each `--min-similarity`
 * that recalls from the episodes before it and reuses a close, rewarded answer.
 *
 *   npm run bench:memory-episodes [-- --seed 1 --length 500 --recurring 0.5 --min-similarity 0.95,0.85 --out DIR]
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { EpisodicMemory } from "../memory/index.ts";
import { loadPrompt } from "../prompts/index.ts";
import type { QaTask } from "../tools/wiki/index.ts";
import { readTrajectories } from "../trajectories/index.ts";
import { runBenchmark, type BenchmarkResult } from "../src/agent/index.ts";
import { runWithMemory } from "../src/bench/index.ts";
import { numberFlag } from "../src/cli/command.ts";
import { ProgressBar } from "../src/cli/progress.ts";
import { markdownTable } from "../src/report/table.ts";
import { answeredFromMemory, BaselinePolicy } from "../src/policies/index.ts";
import {
  generateWorld,
  HOPWORLD_PROMPT,
  RECURRENCES,
  recurringQuestions,
  StreamOptionsSchema,
  worldDocstore,
  worldEnvironment,
  worldTasks,
  type Recurrence,
} from "../src/world/index.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    length: { type: "string", default: "500" },
    recurring: { type: "string", default: "0.5" },
    "min-similarity": { type: "string", default: "0.95,0.85" },
    out: { type: "string" },
  },
});
const flags = z
  .object({
    seed: numberFlag(StreamOptionsSchema.shape.seed),
    length: numberFlag(StreamOptionsSchema.shape.length),
    recurring: numberFlag(StreamOptionsSchema.shape.recurring.unwrap()),
    "min-similarity": z
      .string()
      .transform((list) => list.split(",").map(Number))
      .pipe(z.array(z.number().min(-1).max(1))),
    out: z.string().optional(),
  })
  .parse(values);

// The world of the README's examples (default sizes); its test split is the stream's source.
const world = generateWorld({ seed: flags.seed });
const stream = recurringQuestions(
  world.questions.filter((question) => question.split === "test"),
  { seed: flags.seed, length: flags.length, recurring: flags.recurring },
);
const recurrenceOf = new Map(stream.map((item) => [item.question.id, item.recurrence]));
const tasks = worldTasks({ ...world, questions: stream.map((item) => item.question) }, "test");
const docstore = worldDocstore(world);
const template = await loadPrompt(HOPWORLD_PROMPT);
const out = flags.out ?? (await mkdtemp(join(tmpdir(), "react-rl-memory-episodes-")));

const shared = {
  tasks,
  prompt: () => template,
  typeOf: (task: QaTask) => recurrenceOf.get(task.id)!,
  dataset: "hopworld",
};

interface Arm {
  label: string;
  result: BenchmarkResult;
  /** Episodes that finished with a remembered answer, and their EM. */
  reused: { n: number; em: number };
}

async function runArm(label: string, dir: string, run: (onProgress: (p: { done: number; total: number; em: number }) => void) => Promise<BenchmarkResult>): Promise<Arm> {
  const bar = new ProgressBar(label);
  const result = await run((p) => bar.update(p.done, p.total, `EM ${p.em.toFixed(3)}`));
  bar.finish();
  const reused = (await readTrajectories(join(dir, "trajectories.jsonl"))).trajectories.filter(answeredFromMemory);
  return { label, result, reused: { n: reused.length, em: reused.reduce((sum, t) => sum + t.metrics.em, 0) / Math.max(1, reused.length) } };
}

const arms: Arm[] = [];
const baselineDir = join(out, "without-memory");
arms.push(
  await runArm("without memory", baselineDir, (onProgress) =>
    runBenchmark({ ...shared, policy: new BaselinePolicy(), environment: () => worldEnvironment(docstore), out: baselineDir, onProgress }),
  ),
);
for (const minSimilarity of flags["min-similarity"]) {
  const dir = join(out, `with-memory-${minSimilarity}`);
  const memory = await EpisodicMemory.open(join(dir, "memory"));
  arms.push(
    await runArm(`with memory (min similarity ${minSimilarity})`, dir, (onProgress) =>
      runWithMemory({
        ...shared,
        policy: new BaselinePolicy(),
        memory,
        minSimilarity,
        environment: (_task, tools) => worldEnvironment(docstore, tools),
        out: dir,
        onProgress,
      }),
    ),
  );
}

const count = (recurrence: Recurrence) => stream.filter((item) => item.recurrence === recurrence).length;
const emOf = (arm: Arm, recurrence: Recurrence) => (arm.result.summary.byType?.[recurrence]?.em ?? 0).toFixed(3);
const header = ["policy", "EM", ...RECURRENCES.map((r) => `EM ${r} (${count(r)})`), "avg steps", "avg steps, repeats", "answered from memory (EM)"];
const rows = arms.map((arm) => [
  arm.label,
  arm.result.summary.em.toFixed(3),
  ...RECURRENCES.map((r) => emOf(arm, r)),
  arm.result.summary.avgSteps.toFixed(2),
  (arm.result.summary.byType?.repeat?.avgSteps ?? 0).toFixed(2),
  arm.reused.n === 0 ? "0" : `${arm.reused.n} (${arm.reused.em.toFixed(3)})`,
]);
console.log(`hopworld seed ${flags.seed}, test split: a stream of ${tasks.length} questions, recurring ${flags.recurring}; episodes in ${out}`);
console.log(markdownTable(header, rows));
console.log(
  JSON.stringify(
    arms.map((arm) => ({
      policy: arm.label,
      em: arm.result.summary.em,
      byRecurrence: Object.fromEntries(RECURRENCES.map((r) => [r, arm.result.summary.byType?.[r]?.em])),
      avgSteps: arm.result.summary.avgSteps,
      reused: arm.reused,
    })),
  ),
);
