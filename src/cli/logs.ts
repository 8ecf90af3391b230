import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promptDigest, type PromptTemplate } from "../../prompts/index.ts";
import { otherPrompt, readTrajectories, recalledExemplars, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { checkFile } from "./command.ts";
import { datasetSuite } from "../suites/index.ts";

/** A log named on the command line: a folder means the `trajectories.jsonl` that `bench` writes in it. */
export async function logPath(target: string): Promise<string> {
  const info = await stat(target).catch(() => {
    throw new UserError(`not found: ${target}`);
  });
  return info.isDirectory() ? join(target, "trajectories.jsonl") : target;
}

/**
 * Refuses the file a command that reads logs (`inputs`) would write, before any work is
 * done: one that exists unless `force`, and one of the logs read even with it.
 */
export async function checkOutput(out: string, inputs: readonly string[], force: boolean): Promise<void> {
  await checkFile("--out", out, force);
  const read = await Promise.all(inputs.map(logPath));
  if (read.some((path) => resolve(path) === resolve(out))) throw new UserError(`--out ${out} is a log this command reads: write elsewhere`);
}

/** Reads logs in order; a torn last line (a crash mid-write) is said on stderr and skipped. */
export async function readLogs(targets: readonly string[]): Promise<Trajectory[][]> {
  const logs: Trajectory[][] = [];
  const read = new Set<string>();
  for (const target of targets) {
    const path = await logPath(target);
    // The same log twice would count its episodes twice
    if (read.has(resolve(path))) throw new UserError(`${path} is named twice`);
    read.add(resolve(path));
    const { trajectories, tornTail } = await readTrajectories(path);
    if (tornTail) console.error(`${path}: the last line is incomplete (a crash mid-write?) and was ignored`);
    logs.push(trajectories);
  }
  return logs;
}

/** The suite an episode was recorded on; undefined for older logs, which lack it. */
function suiteOf(episode: Trajectory): string | undefined {
  return episode.meta.dataset === undefined ? undefined : datasetSuite(episode.meta.dataset);
}

/** The prompt logs are read with, and the name the command line gave it (for messages). */
export interface ReadingPrompt {
  name: string;
  template: PromptTemplate;
  /** Whether the rendering shows the template's exemplars; export --no-exemplars does not, so it reads episodes whose exemplars were recalled per question too. */
  showsExemplars: boolean;
}

/**
 * The episodes of logs recorded on suite `suite`, to be rendered with `prompt`, in order. A
 * log of another suite's episodes, or of episodes that record another prompt, would be
 * rendered with a prompt they never ran with, so it is refused; episodes that record no
 * suite or prompt (older logs, a prompt per question) pass.
 */
export async function readEpisodesOf(targets: readonly string[], suite: string, prompt: ReadingPrompt): Promise<Trajectory[]> {
  const logs = await readLogs(targets);
  const digest = promptDigest(prompt.template);
  for (const [i, log] of logs.entries()) {
    const other = log.map(suiteOf).find((recorded) => recorded !== undefined && recorded !== suite);
    if (other !== undefined) {
      throw new UserError(`${targets[i]} holds episodes of ${other}, not ${suite}: pass --dataset ${other} to read them with their own prompt`);
    }
    if (prompt.showsExemplars && log.some(recalledExemplars)) {
      throw new UserError(
        `${targets[i]} holds episodes whose exemplars were recalled per question (bench --memory --shots): with ${prompt.name}'s own exemplars they would show a prompt they never ran with (export --no-exemplars renders them with the instruction alone)`,
      );
    }
    const ranWith = otherPrompt(log, digest);
    if (ranWith === undefined) continue;
    const prompts = new Set(log.flatMap((episode) => episode.meta.prompt ?? []));
    // No one --prompt reads a log of several prompts: its episodes are each their own prompt's
    const advice = prompts.size > 1 ? `it holds episodes of ${prompts.size} prompts (${[...prompts].join(", ")}): split it by prompt (meta.prompt), and read each part with its own --prompt` : "pass --prompt with the one they ran with";
    throw new UserError(`${targets[i]} holds episodes that ran with another prompt (${ranWith}) than ${prompt.name} (${digest}): ${advice}`);
  }
  return logs.flat();
}
