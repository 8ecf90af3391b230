import { join } from "node:path";
import { z } from "zod";
import { formatSummary, readTrajectories, summarize, type Trajectory } from "../../trajectories/index.ts";
import { predictionsOf } from "../bench/score.ts";
import { mergeLogs } from "../bench/shard.ts";
import { UserError } from "../errors.ts";
import { pathExists, writeFileAtomic } from "../files.ts";
import { checkFile, checkFolder, defineCommand } from "./command.ts";
import { checkOutput, logPath, readLogs } from "./logs.ts";

const statsCommand = defineCommand({
  name: "trajectories stats",
  summary: "a trajectory log's episodes, EM, F1, fuzzy reward, steps, halted and invalid-action rates",
  usage: `react-rl trajectories stats DIR|FILE

DIR means DIR/trajectories.jsonl. Prints the summary as JSON on its last line.`,
  args: ["DIR|FILE"],
  flags: z.object({}),
  run: (_flags, [target]) => stats(target!),
});

const mergeCommand = defineCommand({
  name: "trajectories merge",
  summary: "join trajectory logs (e.g. the shards of bench or collect --shard) into one",
  usage: `react-rl trajectories merge OUT IN...

Joins logs into OUT: a new .jsonl file, or a folder that gets OUT/trajectories.jsonl (an
existing log there, an input's included, is refused: inputs stay as they are). One episode
per id and sample (collect --samples; a log without samples is sample 0): copies are dropped,
and where copies differ the earliest started is kept and the episodes reported as id#sample.
Torn last lines are ignored. Prints {"episodes": ..., "duplicates": ..., "conflicts": ...} on
its last line.`,
  args: ["OUT", "IN..."],
  flags: z.object({}),
  run: (_flags, [out, ...inputs]) => merge(out!, inputs),
});

const predictionsCommand = defineCommand({
  name: "trajectories predictions",
  summary: "a trajectory log's final answers as a HotpotQA prediction file, for score or the official evaluator",
  usage: `react-rl trajectories predictions DIR|FILE --out FILE [--force]

Writes {"answer": {"<id>": "<text>", ...}}, HotpotQA's official prediction format, with
each episode's final answer ("" for one that never finished): what score --pred and
hotpot_evaluate_v1.py read. One episode per question: a log of collect --samples is
refused. DIR means DIR/trajectories.jsonl. An existing --out is replaced only with --force,
and never by the log itself. Prints {"predictions": ...} on its last line.`,
  args: ["DIR|FILE"],
  flags: z.object({ out: z.string({ error: "required" }), force: z.boolean().default(false) }),
  run: (flags, [target]) => predictions(target!, flags.out, flags.force),
});

/** `trajectories stats`, `merge` and `predictions`. */
export const trajectoriesCommands = [statsCommand, mergeCommand, predictionsCommand];

async function stats(target: string): Promise<number> {
  const summary = summarize(await readLog(target));
  console.log(formatSummary(summary));
  console.log(JSON.stringify(summary));
  return 0;
}

async function predictions(target: string, out: string, force: boolean): Promise<number> {
  await checkOutput(out, [target], force);
  const predicted = predictionsOf(await readLog(target));
  await writeFileAtomic(out, `${JSON.stringify(predicted, null, 2)}\n`);
  const count = Object.keys(predicted.answer).length;
  console.log(`wrote ${count} predictions to ${out}`);
  console.log(JSON.stringify({ predictions: count }));
  return 0;
}

/** One log's episodes; a log with none is a mistake (a wrong path, a run that never started). */
async function readLog(target: string): Promise<Trajectory[]> {
  const path = await logPath(target);
  const { trajectories, tornTail } = await readTrajectories(path);
  if (tornTail) console.error(`${path}: the last line is incomplete (a crash mid-write?) and was ignored`);
  if (trajectories.length === 0) throw new UserError(`${path} holds no episodes`);
  return trajectories;
}

async function merge(out: string, inputs: string[]): Promise<number> {
  const outPath = await newLogPath(out);
  const inputPaths = await Promise.all(inputs.map(logPath));
  const { trajectories, duplicates, conflicts } = mergeLogs(await readLogs(inputPaths));
  await writeFileAtomic(outPath, trajectories.map((t) => `${JSON.stringify(t)}\n`).join(""));
  console.log(`merged ${inputs.length} logs into ${outPath}: ${trajectories.length} episodes, ${duplicates} duplicate copies dropped`);
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, 10).join(", ");
    console.error(`${conflicts.length} episodes (id#sample) had differing copies (kept the earliest started): ${shown}${conflicts.length > 10 ? ", ..." : ""}`);
  }
  console.log(JSON.stringify({ episodes: trajectories.length, duplicates, conflicts: conflicts.length }));
  return 0;
}

/**
 * Where merge writes OUT's log: a new one, never an input's. Rewriting an input
 * would lose it on a mistake, and leave a bench folder's summary.json describing
 * other episodes than its log.
 */
async function newLogPath(out: string): Promise<string> {
  const isFile = out.endsWith(".jsonl");
  // Their shape only (a folder for a file, a path through a file): an existing log is refused below, saying why
  await (isFile ? checkFile("OUT", out, true) : checkFolder("OUT", out));
  const outPath = isFile ? out : join(out, "trajectories.jsonl");
  if (await pathExists(outPath)) throw new UserError(`${outPath} exists: merge into a new OUT (merge never rewrites a log)`);
  return outPath;
}
