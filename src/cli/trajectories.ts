import { mkdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { formatSummary, readTrajectories, summarize, writeFileAtomic } from "../../trajectories/index.ts";
import { mergeLogs } from "../bench/shard.ts";
import { UserError } from "../errors.ts";
import { defineCommand } from "./command.ts";
import { logPath, readLogs } from "./logs.ts";

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
  summary: "join trajectory logs (e.g. the shards of bench --shard) into one",
  usage: `react-rl trajectories merge OUT IN...

Joins logs into OUT: a .jsonl file, or a folder that gets OUT/trajectories.jsonl. One episode
per id: copies are dropped, and where copies differ the earliest started is kept and the ids
are reported. Torn last lines are ignored. OUT may be one of the inputs; any other existing
OUT is refused. Prints {"episodes": ..., "duplicates": ..., "conflicts": ...} on its last line.`,
  args: ["OUT", "IN..."],
  flags: z.object({}),
  run: (_flags, [out, ...inputs]) => merge(out!, inputs),
});

/** `trajectories stats` and `trajectories merge`. */
export const trajectoriesCommands = [statsCommand, mergeCommand];

async function stats(target: string): Promise<number> {
  const path = await logPath(target);
  const { trajectories, tornTail } = await readTrajectories(path);
  if (tornTail) console.error(`${path}: the last line is incomplete (a crash mid-write?) and was ignored`);
  const summary = summarize(trajectories);
  console.log(formatSummary(summary));
  console.log(JSON.stringify(summary));
  return 0;
}

async function merge(out: string, inputs: string[]): Promise<number> {
  const outPath = out.endsWith(".jsonl") ? out : join(out, "trajectories.jsonl");
  const inputPaths = await Promise.all(inputs.map(logPath));
  const exists = await stat(outPath).then(() => true, () => false);
  if (exists && !inputPaths.some((path) => resolve(path) === resolve(outPath))) {
    throw new UserError(`${outPath} exists: name it among the inputs to merge into it, or choose another OUT`);
  }
  const { trajectories, duplicates, conflicts } = mergeLogs(await readLogs(inputPaths));
  await mkdir(dirname(outPath), { recursive: true });
  await writeFileAtomic(outPath, trajectories.map((t) => `${JSON.stringify(t)}\n`).join(""));
  console.log(`merged ${inputs.length} logs into ${outPath}: ${trajectories.length} episodes, ${duplicates} duplicate copies dropped`);
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, 10).join(", ");
    console.error(`${conflicts.length} ids had differing copies (kept the earliest started): ${shown}${conflicts.length > 10 ? ", ..." : ""}`);
  }
  console.log(JSON.stringify({ episodes: trajectories.length, duplicates, conflicts: conflicts.length }));
  return 0;
}
