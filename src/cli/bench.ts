import { z } from "zod";
import { Docstore, WikiEnvironment, type QaTask } from "../../tools/wiki/index.ts";
import { formatSummary } from "../../trajectories/index.ts";
import { loadDataset } from "../bench/datasets.ts";
import { runBenchmark } from "../bench/run.ts";
import { HOTPOTQA_SAMPLE } from "../bench/sample.ts";
import { UserError } from "../errors.ts";
import { defineCommand, numberFlag } from "./command.ts";
import { createPolicy, policyFlags, policyOptions, policyUsage } from "./policy.ts";
import { ProgressBar } from "./progress.ts";

const DATASETS = ["hotpotqa", "2wiki", "musique"] as const;

export const benchCommand = defineCommand({
  name: "bench",
  summary: "run a policy on a multi-hop QA benchmark and score it",
  usage: `react-rl bench [options]

  --dataset NAME       ${DATASETS.join(" | ")} (default hotpotqa)
  --file PATH          dataset file, official JSON or JSONL (default: the bundled HotpotQA sample)
  --limit N            only the first N questions
${policyUsage}
  --concurrency K      episodes in flight at once (default 4)
  --max-steps N        step limit per episode (default 7)
  --out DIR            output folder (default runs/bench-DATASET-POLICY); rerun to resume`,
  options: {
    ...policyOptions,
    dataset: { type: "string" },
    file: { type: "string" },
    limit: { type: "string" },
    concurrency: { type: "string" },
    "max-steps": { type: "string" },
    out: { type: "string" },
  },
  flags: policyFlags.extend({
    dataset: z.enum(DATASETS).default("hotpotqa"),
    file: z.string().optional(),
    limit: numberFlag(z.number().int().positive()).optional(),
    concurrency: numberFlag(z.number().int().min(1).max(1024)).default(4),
    "max-steps": numberFlag(z.number().int().min(1).max(100)).default(7),
    out: z.string().optional(),
  }),
  async run(flags) {
    const file = flags.file ?? (flags.dataset === "hotpotqa" ? HOTPOTQA_SAMPLE : undefined);
    if (!file) throw new UserError(`--dataset ${flags.dataset} needs --file PATH (only a HotpotQA sample is bundled)`);
    const all = await loadDataset(file);
    // The corpus is every paragraph of the file, so --limit does not shrink the search space.
    const docstore = Docstore.fromTasks(all);
    const tasks = all.slice(0, flags.limit);
    const policy = createPolicy(flags);
    const out = flags.out ?? `runs/bench-${flags.dataset}-${flags.policy}`;

    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    const bar = new ProgressBar(`${flags.dataset} ${flags.policy}`);
    try {
      const result = await runBenchmark<QaTask>({
        tasks,
        policy,
        environment: () => new WikiEnvironment(docstore),
        out,
        concurrency: flags.concurrency,
        maxSteps: flags["max-steps"],
        dataset: flags.dataset,
        signal: controller.signal,
        onProgress: (p) => bar.update(p.done, p.total, `EM ${p.em.toFixed(3)}`),
      });
      bar.finish();
      const { summary } = result;
      const extra = {
        "wall time": `${(summary.wallMs / 1000).toFixed(1)} s`,
        ...(result.resumed ? { resumed: `${result.resumed} episodes already in ${out}` } : {}),
      };
      console.log(formatSummary(summary, extra));
      console.log(`trajectories: ${out}/trajectories.jsonl`);
      if (result.interrupted) console.error(`interrupted: rerun the same command to resume`);
      console.log(JSON.stringify({ n: summary.n, em: summary.em, f1: summary.f1 }));
      return result.interrupted ? 130 : 0;
    } finally {
      process.off("SIGINT", stop);
    }
  },
});
