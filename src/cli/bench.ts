import { z } from "zod";
import { Docstore, WikiEnvironment, type QaTask } from "../../tools/wiki/index.ts";
import { formatSummary } from "../../trajectories/index.ts";
import { loadDataset } from "../bench/datasets.ts";
import { runBenchmark } from "../bench/run.ts";
import { HOTPOTQA_SAMPLE } from "../bench/sample.ts";
import { shardTasks, ShardSchema } from "../bench/shard.ts";
import { UserError } from "../errors.ts";
import { HOPWORLD_PROMPT, loadWorld, SplitSchema, worldDocstore, worldTasks } from "../world/index.ts";
import { defineCommand, numberFlag } from "./command.ts";
import { createPolicy, policyFlags, policyOptions, policyUsage } from "./policy.ts";
import { loadNamedPrompt, promptUsage } from "./prompt.ts";
import { untilInterrupted } from "./interrupt.ts";
import { ProgressBar } from "./progress.ts";

const DATASETS = ["hotpotqa", "2wiki", "musique", "hopworld"] as const;

const benchFlags = policyFlags.extend({
  dataset: z.enum(DATASETS).default("hotpotqa"),
  file: z.string().optional(),
  world: z.string().optional(),
  split: SplitSchema.default("test"),
  limit: numberFlag(z.number().int().positive()).optional(),
  shard: ShardSchema.optional(),
  prompt: z.string().optional(),
  concurrency: numberFlag(z.number().int().min(1).max(1024)).default(4),
  "max-steps": numberFlag(z.number().int().min(1).max(100)).default(7),
  out: z.string().optional(),
});

export const benchCommand = defineCommand({
  name: "bench",
  summary: "run a policy on a multi-hop QA benchmark and score it",
  usage: `react-rl bench [options]

  --dataset NAME       ${DATASETS.join(" | ")} (default hotpotqa)
  --file PATH          dataset file, official JSON or JSONL (default: the bundled HotpotQA sample)
  --world FILE         for --dataset hopworld: a world from react-rl world generate; its episodes
                       run with prompts/hopworld.txt unless --prompt names another
  --split NAME         for --dataset hopworld: train | dev | test (default test)
  --limit N            only the first N questions
  --shard i/n          only shard i of n (1-based; by a stable hash of the question id), to spread
                       a run over machines; join the logs with react-rl trajectories merge
${policyUsage}
${promptUsage}
  --concurrency K      episodes in flight at once (default 4)
  --max-steps N        step limit per episode (default 7)
  --out DIR            output folder (default runs/bench-DATASET[-SPLIT]-POLICY[-shard-i-of-n]); rerun to resume

summary.json and the table also give each question type's figures (HotpotQA: bridge, comparison).`,
  options: {
    ...policyOptions,
    dataset: { type: "string" },
    file: { type: "string" },
    world: { type: "string" },
    split: { type: "string" },
    limit: { type: "string" },
    shard: { type: "string" },
    prompt: { type: "string" },
    concurrency: { type: "string" },
    "max-steps": { type: "string" },
    out: { type: "string" },
  },
  flags: benchFlags,
  async run(flags) {
    const { tasks: all, docstore, prompt } = await loadQuestions(flags);
    const limited = all.slice(0, flags.limit);
    const tasks = flags.shard ? shardTasks(limited, flags.shard) : limited;
    const template = await loadNamedPrompt(flags.prompt ?? prompt);
    const policy = createPolicy(flags);
    const shardSuffix = flags.shard ? `-shard-${flags.shard.index}-of-${flags.shard.count}` : "";
    const splitSuffix = flags.dataset === "hopworld" ? `-${flags.split}` : "";
    const out = flags.out ?? `runs/bench-${flags.dataset}${splitSuffix}-${flags.policy}${shardSuffix}`;

    const bar = new ProgressBar(`${flags.dataset} ${flags.policy}`);
    const result = await untilInterrupted((signal) =>
      runBenchmark<QaTask>({
        tasks,
        policy,
        environment: () => new WikiEnvironment(docstore),
        out,
        concurrency: flags.concurrency,
        maxSteps: flags["max-steps"],
        prompt: () => template,
        typeOf: (task) => task.type,
        dataset: flags.dataset,
        signal,
        onProgress: (p) => bar.update(p.done, p.total, `EM ${p.em.toFixed(3)}`),
      }),
    );
    bar.finish();
    const { summary } = result;
    const extra = {
      ...Object.fromEntries(Object.entries(summary.byType ?? {}).map(([type, s]) => [`EM ${type}`, `${s.em.toFixed(3)} (${s.n})`])),
      "wall time": `${(summary.wallMs / 1000).toFixed(1)} s`,
      ...(result.resumed ? { resumed: `${result.resumed} episodes already in ${out}` } : {}),
    };
    console.log(formatSummary(summary, extra));
    console.log(`trajectories: ${out}/trajectories.jsonl`);
    if (result.interrupted) console.error(`interrupted: rerun the same command to resume`);
    console.log(JSON.stringify({ n: summary.n, em: summary.em, f1: summary.f1 }));
    return result.interrupted ? 130 : 0;
  },
});

/** A run's questions, the pages its agent searches, and the prompt they run with unless --prompt names another. */
async function loadQuestions(flags: z.infer<typeof benchFlags>): Promise<{ tasks: QaTask[]; docstore: Docstore; prompt: string }> {
  if (flags.dataset === "hopworld") {
    if (flags.file !== undefined) throw new UserError("--dataset hopworld reads --world FILE, not --file");
    if (flags.world === undefined) {
      throw new UserError("--dataset hopworld needs --world FILE (make one with: react-rl world generate --out FILE)");
    }
    const world = await loadWorld(flags.world);
    // The agent searches every split's pages: test names are unseen in training, not missing from the wiki.
    return { tasks: worldTasks(world, flags.split), docstore: worldDocstore(world), prompt: HOPWORLD_PROMPT };
  }
  if (flags.world !== undefined) throw new UserError("--world is for --dataset hopworld");
  const file = flags.file ?? (flags.dataset === "hotpotqa" ? HOTPOTQA_SAMPLE : undefined);
  if (!file) throw new UserError(`--dataset ${flags.dataset} needs --file PATH (only a HotpotQA sample is bundled)`);
  const tasks = await loadDataset(file);
  // The corpus is every paragraph of the file, so --limit does not shrink the search space.
  return { tasks, docstore: Docstore.fromTasks(tasks), prompt: "hotpotqa" };
}
