import { stat } from "node:fs/promises";
import { join } from "node:path";
import { readTrajectories, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";

/** A log named on the command line: a folder means the `trajectories.jsonl` that `bench` writes in it. */
export async function logPath(target: string): Promise<string> {
  const info = await stat(target).catch(() => {
    throw new UserError(`not found: ${target}`);
  });
  return info.isDirectory() ? join(target, "trajectories.jsonl") : target;
}

/** Reads logs in order; a torn last line (a crash mid-write) is said on stderr and skipped. */
export async function readLogs(targets: readonly string[]): Promise<Trajectory[][]> {
  const logs: Trajectory[][] = [];
  for (const target of targets) {
    const path = await logPath(target);
    const { trajectories, tornTail } = await readTrajectories(path);
    if (tornTail) console.error(`${path}: the last line is incomplete (a crash mid-write?) and was ignored`);
    logs.push(trajectories);
  }
  return logs;
}
