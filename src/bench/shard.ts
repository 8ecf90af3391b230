// Scale-out across machines: each runs one shard of the tasks into its own log,
// then the logs are merged. A task's shard depends on its id alone (a stable
// hash), so shards never overlap, cover every task, stay the same when the task
// list is reordered or grows, and a rerun of a shard resumes its own log.
import { z } from "zod";
import { trajectoryKey, type Trajectory } from "../../trajectories/index.ts";
import { hashString } from "../random.ts";

/** Shard `index` of `count`, 1-based as written on the command line: `--shard 2/4`. */
export interface Shard {
  index: number;
  count: number;
}

export const ShardSchema = z
  .string()
  .regex(/^\d+\/\d+$/, { error: "expected i/n, e.g. 1/4" })
  .transform((text): Shard => {
    const [index, count] = text.split("/").map(Number) as [number, number];
    return { index, count };
  })
  .refine((shard) => shard.count >= 1 && shard.index >= 1 && shard.index <= shard.count, {
    error: "needs 1 <= i <= n",
  });

export function inShard(id: string, shard: Shard): boolean {
  return hashString(id) % shard.count === shard.index - 1;
}

export function shardTasks<T extends { id: string }>(tasks: readonly T[], shard: Shard): T[] {
  return tasks.filter((task) => inShard(task.id, shard));
}

export interface MergeResult {
  /** One trajectory per episode (id and sample), in order of first appearance across the logs. */
  trajectories: Trajectory[];
  /** Extra copies dropped, identical or not. */
  duplicates: number;
  /** Episodes (`id#sample`) whose copies differ: the one kept is the earliest started (then the first in JSON order). */
  conflicts: string[];
}

/**
 * Merges logs with no episode lost or repeated: an episode is a question's id and
 * its sample (collect's several per question). The copy kept for an episode does
 * not depend on the order the logs are given in, and never on the reward: a
 * merge must not pick the luckier of two attempts.
 */
export function mergeLogs(logs: readonly (readonly Trajectory[])[]): MergeResult {
  const copies = new Map<string, { trajectory: Trajectory; json: string }[]>();
  for (const trajectory of logs.flat()) {
    const entry = { trajectory, json: JSON.stringify(trajectory) };
    const key = trajectoryKey(trajectory);
    const seen = copies.get(key);
    if (seen) seen.push(entry);
    else copies.set(key, [entry]);
  }
  let duplicates = 0;
  const conflicts: string[] = [];
  const trajectories = [...copies].map(([key, entries]) => {
    duplicates += entries.length - 1;
    if (new Set(entries.map((e) => e.json)).size > 1) conflicts.push(key);
    const [kept] = entries.sort((a, b) => compare(a.trajectory.meta.startedAt, b.trajectory.meta.startedAt) || compare(a.json, b.json));
    return kept!.trajectory;
  });
  return { trajectories, duplicates, conflicts };
}

/** Code-unit order: the same on every machine, unlike locale order. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
