import { stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { formatSummary, readTrajectories, summarize } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { defineCommand } from "./command.ts";

export const trajectoriesCommand = defineCommand({
  name: "trajectories",
  summary: "inspect trajectory logs",
  usage: `react-rl trajectories stats DIR|FILE

  stats   episodes, EM, F1, fuzzy reward, steps, halted and invalid-action rates;
          DIR means DIR/trajectories.jsonl. Prints the summary as JSON on its last line.`,
  options: {},
  flags: z.object({}),
  async run(_flags, positionals) {
    const [verb, target, ...rest] = positionals;
    if (verb !== "stats" || !target || rest.length > 0) throw new UserError("usage: react-rl trajectories stats DIR|FILE");
    const path = await logPath(target);
    const { trajectories, tornTail } = await readTrajectories(path);
    if (tornTail) console.error(`${path}: the last line is incomplete (a crash mid-write?) and was ignored`);
    const summary = summarize(trajectories);
    console.log(formatSummary(summary));
    console.log(JSON.stringify(summary));
    return 0;
  },
});

async function logPath(target: string): Promise<string> {
  const info = await stat(target).catch(() => {
    throw new UserError(`not found: ${target}`);
  });
  return info.isDirectory() ? join(target, "trajectories.jsonl") : target;
}
