import { z } from "zod";
import { formatPromptFile } from "../../prompts/index.ts";
import type { QaTask } from "../../tools/wiki/index.ts";
import { UserError } from "../errors.ts";
import { pathExists, writeFileAtomic } from "../files.ts";
import { bootstrapFewShot, type CandidateScore } from "../train/index.ts";
import { checkFolder, defineCommand, numberFlag } from "./command.ts";
import { createPolicy, episodeFlags, episodeUsage, policyFlags, policyUsage } from "./policy-flags.ts";
import { stopped, untilInterrupted } from "./interrupt.ts";
import { counted, ProgressBar } from "./progress.ts";
import { loadNamedPrompt, promptPath, promptUsage } from "./prompt.ts";
import { suiteFlags, suiteFrom, suiteUsage } from "./suite.ts";
import type { Suite } from "../suites/index.ts";

export const fewshotCommand = defineCommand({
  name: "fewshot bootstrap",
  summary: "choose few-shot exemplars from the policy's own successful episodes",
  usage: `react-rl fewshot bootstrap --name NAME [options]

Runs the policy on training questions, keeps its rewarded episodes as exemplars,
scores random sets of K of them (and the starting prompt's own) on dev questions,
and saves the best as prompts/NAME.txt in the current folder (your project, never
the react-rl package), for react-rl bench --prompt NAME run from that folder.

  --name NAME          the prompt to write: prompts/NAME.txt in the current folder (letters,
                       digits, - and _); prompts/ is made if missing
  --force              replace prompts/NAME.txt if it exists
${promptUsage}
                       the prompt to start from: its instruction is kept
${suiteUsage}
  --train N            the first N questions collect exemplars (default 50): of the training
                       split for hopworld and arithmetic, else of the file
  --dev N              the next N questions score each candidate (default 50): the first of the
                       dev split for hopworld and arithmetic
  --k K                exemplars per candidate (default 3)
  --candidates C       random exemplar sets to try (default 8)
  --draw-seed S        seed for drawing the sets (default 0)
${policyUsage()}
${episodeUsage}
  --out DIR            working folder, resumable (default runs/fewshot-NAME)

Prints {"name": ..., "file": ..., "best": ..., "score": ..., "baseScore": ..., "pool": ...} on its last line.`,
  flags: policyFlags.extend({
    name: z.string({ error: "required" }),
    force: z.boolean().default(false),
    ...suiteFlags.shape,
    prompt: z.string().optional(),
    train: numberFlag(z.number().int().positive()).default(50),
    dev: numberFlag(z.number().int().positive()).default(50),
    k: numberFlag(z.number().int().positive().max(20)).default(3),
    candidates: numberFlag(z.number().int().positive().max(1000)).default(8),
    "draw-seed": numberFlag(z.number().int()).default(0),
    ...episodeFlags.shape,
    out: z.string().optional(),
  }),
  async run(flags) {
    const target = promptPath(flags.name);
    if (!flags.force && (await pathExists(target))) {
      throw new UserError(`${target} exists: choose another --name, or --force to replace it`);
    }
    const out = flags.out ?? `runs/fewshot-${flags.name}`;
    await checkFolder("--out", out);
    const suite = await suiteFrom(flags);
    const base = await loadNamedPrompt(flags.prompt ?? suite.prompt);
    const { train, dev } = trainAndDev(suite, flags.train, flags.dev);
    const policy = await createPolicy(flags);
    let bar: { label: string; progress: ProgressBar } | undefined;
    const result = await untilInterrupted((signal) =>
      bootstrapFewShot<QaTask>({
        policy,
        environment: suite.environment,
        train,
        dev,
        base,
        k: flags.k,
        candidates: flags.candidates,
        seed: flags["draw-seed"],
        out,
        concurrency: flags.concurrency,
        maxSteps: flags["max-steps"],
        signal,
        onProgress: (label, p) => {
          if (bar?.label !== label) {
            bar?.progress.finish();
            bar = { label, progress: new ProgressBar(label) };
          }
          bar.progress.update(p.done, p.total, `EM ${p.em.toFixed(3)}`);
        },
      }),
    );
    bar?.progress.finish();
    if (result.interrupted) return stopped();
    console.log(formatCandidates(result.candidates, result.best));
    if (result.pool === 0) console.error("no training episode was rewarded: nothing to choose from, so the starting prompt is kept");
    else if (result.pool < flags.k) console.error(`only ${result.pool} training episode${result.pool === 1 ? " was" : "s were"} rewarded: each candidate has ${counted(result.pool, "exemplar")}, not --k ${flags.k} (more --train questions give more)`);
    await writeFileAtomic(target, formatPromptFile(result.template));
    const score = result.candidates[result.best]!.score;
    const baseScore = result.candidates[0]!.score;
    console.log(`saved ${target}: candidate ${result.best}, dev reward ${score.toFixed(3)} (starting prompt ${baseScore.toFixed(3)})`);
    console.log(`use it from this folder with: react-rl bench --prompt ${flags.name}`);
    console.log(JSON.stringify({ name: flags.name, file: target, best: result.best, score, baseScore, pool: result.pool }));
    return 0;
  },
});

/** The questions that collect exemplars and those that score candidates: the suite's splits, or a file's first and next questions. */
function trainAndDev(suite: Suite, train: number, dev: number): { train: QaTask[]; dev: QaTask[] } {
  if (suite.splits) return { train: suite.tasks("train", train), dev: suite.tasks("dev", dev) };
  const all = suite.tasks("train", train + dev);
  if (all.length < train + dev) throw new UserError(`${suite.label} has ${all.length} questions; --train ${train} and --dev ${dev} need ${train + dev}`);
  return { train: all.slice(0, train), dev: all.slice(train) };
}

function formatCandidates(candidates: readonly CandidateScore[], best: number): string {
  return candidates
    .map((c, i) => {
      const exemplars = c.exemplarIds === null ? "(the starting prompt's exemplars)" : c.exemplarIds.join(", ");
      return `${i === best ? "*" : " "} candidate ${i}  reward ${c.score.toFixed(3)}  EM ${c.em.toFixed(3)}  ${exemplars}`;
    })
    .join("\n");
}
