import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { EXPORT_FORMATS, exportTrajectories, huggingFaceEncoder, writeExport, type TokenEncoder } from "../../trajectories/index.ts";
import { withToolList } from "../agent/prompt.ts";
import { UserError } from "../errors.ts";
import { readJsonFile } from "../files.ts";
import { Tokenizer } from "../lm/index.ts";
import { defineCommand, numberFlag } from "./command.ts";
import { checkOutput, readEpisodesOf } from "./logs.ts";
import { loadNamedPrompt, promptUsage } from "./prompt.ts";
import { suiteFrom, suiteFlags, suiteUsage } from "./suite.ts";

/** OpenAI refuses fine-tuning files with fewer examples. */
const OPENAI_MIN_EXAMPLES = 10;

export const exportCommand = defineCommand({
  name: "export",
  summary: "turn trajectory logs into fine-tuning data (OpenAI SFT or DPO, or token ids with a loss mask)",
  usage: `react-rl export --format FORMAT --in DIR|FILE [--in ...] --out FILE [options]

  --format F           openai-sft: OpenAI chat fine-tuning, one conversation per trajectory
                         (invalid-action turns weighted 0)
                       openai-dpo: OpenAI preference pairs: each question's best success against
                         each failure of the same question id, at the first step where they part
                       tokens: prompt_ids, response_ids, mask (1 on policy tokens, 0 on observations)
                         and reward, for open trainers (TRL, verl, OpenRLHF); UTF-8 byte ids
                         unless --tokenizer names one
  --in DIR|FILE        a trajectory log (DIR means DIR/trajectories.jsonl); repeat to read several
  --out FILE           the JSONL file to write; never one of the logs read
  --force              replace --out if it exists (atomically)
  --tokenizer PATH     for tokens: the ids of this tokenizer, no special tokens added: a model
                         folder holding tokenizer.json (the embedded planner's, e.g.
                         models/hopworld-base, or a Hugging Face model's) or such a file
  The suite the trajectories were collected on gives their prompt (unless --prompt names the
  one they ran with), and the tools that a {tools} in it lists (the wiki's Search and Lookup,
  or Code), as bench gave them; logs whose episodes record another suite or prompt are refused:
${suiteUsage}
${promptUsage}
  --no-exemplars       leave the prompt's exemplars out of the training prompt (cheaper; the
                       instruction alone)
  --min-reward R       only trajectories with reward >= R
  --success-only       only trajectories with a positive reward
  --max-steps N        only trajectories of at most N steps
  --no-invalid         only trajectories with no invalid action
                       (for openai-dpo the filters choose the preferred side)

Prints {"format": ..., "records": ..., "read": ..., "kept": ...} on its last line.`,
  flags: suiteFlags.extend({
    format: z.enum(EXPORT_FORMATS),
    in: z.array(z.string(), { error: "required" }).min(1),
    out: z.string({ error: "required" }),
    force: z.boolean().default(false),
    prompt: z.string().optional(),
    "no-exemplars": z.boolean().default(false),
    "min-reward": numberFlag(z.number()).optional(),
    "success-only": z.boolean().default(false),
    "max-steps": numberFlag(z.number().int().positive()).optional(),
    "no-invalid": z.boolean().default(false),
    tokenizer: z.string().optional(),
  }),
  async run(flags) {
    if (flags.tokenizer !== undefined && flags.format !== "tokens") throw new UserError("--tokenizer applies to --format tokens only");
    await checkOutput(flags.out, flags.in, flags.force);
    const tokenizer = flags.tokenizer === undefined ? undefined : await loadTokenEncoder(flags.tokenizer);
    const suite = await suiteFrom(flags);
    // The tools the suite's episodes had, as bench gave them (which task's pages does not matter here)
    const [task] = suite.tasks("train", 1);
    const prompt = { name: flags.prompt ?? suite.prompt, template: await loadNamedPrompt(flags.prompt ?? suite.prompt), showsExemplars: !flags["no-exemplars"] };
    const template = withToolList(prompt.template, task ? suite.environment(task).tools : []);
    const trajectories = await readEpisodesOf(flags.in, suite.name, prompt);
    const result = exportTrajectories(trajectories, {
      format: flags.format,
      tokenizer,
      head: flags["no-exemplars"] ? { instruction: template.instruction, exemplars: [] } : template,
      filter: {
        minReward: flags["min-reward"],
        successOnly: flags["success-only"],
        maxSteps: flags["max-steps"],
        noInvalid: flags["no-invalid"],
      },
    });
    const records = result.lines.length;
    if (records === 0) throw new UserError(`nothing to write: ${emptyExportReason(flags.format, result.read, result.kept)}`);
    await writeExport(flags.out, result);
    console.log(`wrote ${records} ${flags.format} records to ${flags.out} (from ${result.kept} of ${result.read} trajectories kept by the filters)`);
    if (flags.format !== "tokens" && records < OPENAI_MIN_EXAMPLES) {
      console.error(`note: OpenAI fine-tuning needs at least ${OPENAI_MIN_EXAMPLES} examples; this file has ${records}`);
    }
    console.log(JSON.stringify({ format: flags.format, records, read: result.read, kept: result.kept }));
    return 0;
  },
});

/** Why an export holds no record, and what gives it some. */
function emptyExportReason(format: string, read: number, kept: number): string {
  if (kept === 0) return `the filters kept none of the ${read} trajectories read`;
  if (format === "openai-dpo") return `no question of the ${kept} trajectories kept has both a success and a failure to pair (collect several samples of each: react-rl collect --samples K)`;
  return `none of the ${kept} trajectories kept has a valid step to learn from`;
}

/**
 * The tokenizer `path` names: a folder's tokenizer.json, or the file itself; the
 * embedded planner's format, or Hugging Face's (with the tokenizer_config.json beside it, if any).
 */
async function loadTokenEncoder(path: string): Promise<TokenEncoder> {
  const file = (await isDirectory(path)) ? join(path, "tokenizer.json") : path;
  const json = await readJsonFile(file, z.unknown(), "--tokenizer");
  const configFile = join(dirname(file), "tokenizer_config.json");
  const config = (await stat(configFile).catch(() => undefined)) ? await readJsonFile(configFile, z.unknown()) : {};
  try {
    if (json === null || typeof json !== "object") throw new Error("not a JSON object");
    if ("format" in json) return Tokenizer.fromJSON(json);
    return huggingFaceEncoder(json, config as object);
  } catch (error) {
    const issue = error instanceof z.ZodError ? error.issues[0] : undefined;
    const reason = issue ? `${issue.path.join(".")}: ${issue.message}` : (error as Error).message;
    throw new UserError(`--tokenizer: ${file} is neither a react-rl planner's nor a Hugging Face tokenizer (${reason})`, { cause: error });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
