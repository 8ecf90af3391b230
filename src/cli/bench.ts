import { join, resolve } from "node:path";
import { z } from "zod";
import { EpisodicMemory, fewShotPrompt } from "../../memory/index.ts";
import { formatSummary, readTrajectories } from "../../trajectories/index.ts";
import { failedEpisodesMessage, runBenchmark, type BenchmarkResult } from "../agent/index.ts";
import { shardTasks, ShardSchema } from "../bench/shard.ts";
import type { QaTask } from "../../tools/wiki/index.ts";
import { SplitSchema } from "../world/index.ts";
import { UserError } from "../errors.ts";
import { pathExists } from "../files.ts";
import { checkFolder, defineCommand, numberFlag } from "./command.ts";
import { createPolicy, episodeFlags, episodeUsage, policyFlags, policyUsage } from "./policy-flags.ts";
import { loadNamedPrompt, promptUsage } from "./prompt.ts";
import { stopped, untilInterrupted } from "./interrupt.ts";
import { ProgressBar } from "./progress.ts";
import { suiteFlags, suiteFrom, suiteUsage } from "./suite.ts";


const benchFlags = policyFlags.extend({
  ...suiteFlags.shape,
  split: SplitSchema.optional(),
  limit: numberFlag(z.number().int().positive()).optional(),
  shard: ShardSchema.optional(),
  prompt: z.string().optional(),
  memory: z.string().optional(),
  shots: numberFlag(z.number().int().min(1).max(20)).optional(),
  samples: numberFlag(z.number().int().min(1).max(1000)).optional(),
  ...episodeFlags.shape,
  out: z.string().optional(),
});

/** What tells `bench` (evaluation) and `collect` (trial-and-error data) apart: their defaults. */
interface RunKind {
  name: "bench" | "collect";
  summary: string;
  samples: number;
  temperature: number;
}

const BENCH: RunKind = { name: "bench", summary: "run a policy on a multi-hop QA benchmark and score it", samples: 1, temperature: 0 };
const COLLECT: RunKind = {
  name: "collect",
  summary: "collect trial-and-error episodes: K samples per question, successes and failures alike",
  samples: 4,
  temperature: 1,
};

export const benchCommand = questionsCommand(BENCH);
export const collectCommand = questionsCommand(COLLECT);

function questionsCommand(kind: RunKind) {
  return defineCommand({
    name: kind.name,
    summary: kind.summary,
    usage: `react-rl ${kind.name} [options]

${suiteUsage}
  --split NAME         for --dataset hopworld or arithmetic: train | dev | test (default test)
  --limit N            only the first N questions (for arithmetic: how many to generate; default
                       3000 train, 300 dev, 300 test)
  --shard i/n          only shard i of n (1-based; by a stable hash of the question id), to spread
                       a run over machines; join the logs with react-rl trajectories merge
${policyUsage(kind.temperature)}
${promptUsage}
  --memory DIR         episodic memory (made if missing): each question's exemplars are the most
                       similar successful episodes in DIR, never the question's own, topped up with
                       the prompt's; the run's episodes are added to DIR when it ends
  --shots K            exemplars per question with --memory (default 3)
  --samples K          episodes per question (default ${kind.samples}); each is logged with its sample number
${episodeUsage}
  --out DIR            output folder (default runs/${kind.name}-DATASET[-wN][-SPLIT]-POLICY[-shard-i-of-n], wN
                       hopworld's world); rerun to resume

summary.json and the table also give each question type's figures (HotpotQA: bridge, comparison).`,
    flags: benchFlags,
    async run(flags) {
      const suite = await suiteFrom(flags);
      if (flags.split !== undefined && !suite.splits) throw new UserError(`--split is for --dataset hopworld or arithmetic: ${suite.label}'s questions are the same whatever the split`);
      const split = flags.split ?? "test";
      const limited = suite.tasks(split, flags.limit);
      const tasks = flags.shard ? shardTasks(limited, flags.shard) : limited;
      const template = await loadNamedPrompt(flags.prompt ?? suite.prompt);
      if (flags.shots !== undefined && flags.memory === undefined) throw new UserError("--shots needs --memory DIR");
      const shardSuffix = flags.shard ? `-shard-${flags.shard.index}-of-${flags.shard.count}` : "";
      const splitSuffix = suite.splits ? `-${split}` : "";
      const out = flags.out ?? `runs/${kind.name}-${suite.label}${splitSuffix}-${flags.policy}${shardSuffix}`;
      await checkRunFolders(out, flags.memory);
      const memory = flags.memory === undefined ? undefined : await EpisodicMemory.open(flags.memory);
      const shots = memory ? (flags.shots ?? 3) : 0;
      const recalled = memory && ((task: QaTask) => fewShotPrompt(memory, template, task.question, { k: shots, exclude: (episode) => episode.taskId === task.id }));
      const policy = await createPolicy(flags, kind.temperature);

      const bar = new ProgressBar(`${flags.dataset} ${flags.policy}`);
      const result = await untilInterrupted((signal) =>
        runBenchmark<QaTask>({
          tasks,
          policy,
          environment: suite.environment,
          out,
          samples: flags.samples ?? (kind.samples > 1 ? kind.samples : undefined),
          concurrency: flags.concurrency,
          maxSteps: flags["max-steps"],
          template,
          prompt: recalled,
          recall: shots,
          typeOf: (task) => task.type,
          dataset: suite.name,
          signal,
          onProgress: (p) => bar.update(p.done, p.total, `EM ${p.em.toFixed(3)}`),
        }),
      );
      bar.finish();
      if (memory) {
        await memory.remember((await readTrajectories(join(out, "trajectories.jsonl"))).trajectories);
        await memory.save();
      }
      printResult(result, out, memory);
      if (result.interrupted) return stopped();
      return result.failed.length > 0 ? 1 : 0;
    },
  });
}

/**
 * Refuses an --out that is a memory folder, and a --memory that is this run's folder (another
 * run's, EpisodicMemory.open refuses): both keep a trajectories.jsonl, the run's the log its
 * summary.json describes, the memory's the episodes its index/ finds.
 */
async function checkRunFolders(out: string, memory: string | undefined): Promise<void> {
  await checkFolder("--out", out);
  if (await pathExists(join(out, "index"))) throw new UserError(`--out ${out} is a memory folder (it holds index/): give the run a folder of its own`);
  if (memory === undefined) return;
  await checkFolder("--memory", memory);
  if (resolve(memory) === resolve(out)) throw new UserError("--memory and --out name the same folder: give the memory a folder of its own");
}

/** The summary table, where the log is, and the machine-readable last line. */
function printResult(result: BenchmarkResult, out: string, memory: EpisodicMemory | undefined): void {
  const { summary } = result;
  const extra = {
    ...Object.fromEntries(Object.entries(summary.byType ?? {}).map(([type, s]) => [`EM ${type}`, `${s.em.toFixed(3)} (${s.n})`])),
    "wall time": `${(summary.wallMs / 1000).toFixed(1)} s`,
    ...(result.resumed ? { resumed: `${result.resumed} episodes already in ${out}` } : {}),
    ...(memory ? { memory: `${memory.size} episodes in ${memory.dir}` } : {}),
  };
  console.log(formatSummary(summary, extra));
  console.log(`trajectories: ${out}/trajectories.jsonl`);
  if (result.failed.length > 0) console.error(failedEpisodesMessage(result.failed, summary.n + result.failed.length));
  console.log(JSON.stringify({ n: summary.n, em: summary.em, f1: summary.f1 }));
}
