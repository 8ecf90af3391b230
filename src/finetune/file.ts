import { z } from "zod";
import { exportSchema, type ExportFormat } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { parseJson, readTextFile } from "../files.ts";

export const FINE_TUNE_METHODS = ["sft", "dpo"] as const;
export type FineTuneMethod = (typeof FINE_TUNE_METHODS)[number];

/** The export format each method trains on. */
const FORMAT_OF: Record<FineTuneMethod, ExportFormat> = { sft: "openai-sft", dpo: "openai-dpo" };

/** A training file that has passed its format's schema, line by line. */
export interface TrainingFile {
  path: string;
  method: FineTuneMethod;
  examples: number;
}

/**
 * Checks a JSONL training file before it is uploaded, so a mistake costs a
 * second here rather than a failed job on the server. Without `method`, the
 * first record says which: `messages` is SFT, `input` is DPO.
 */
export async function checkTrainingFile(path: string, method?: FineTuneMethod): Promise<TrainingFile> {
  const text = await readTextFile(path);
  const records = text.split("\n").flatMap((line, i) => (line.trim() === "" ? [] : [{ lineNo: i + 1, value: parseJson(line, `${path}:${i + 1}`, z.unknown()) }]));
  if (records.length === 0) throw new UserError(`${path}: no training examples`);
  const chosen = method ?? methodOf(path, records[0]!.value);
  const schema = exportSchema(FORMAT_OF[chosen]);
  for (const { lineNo, value } of records) {
    const checked = schema.safeParse(value);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      throw new UserError(`${path}:${lineNo}: not an ${FORMAT_OF[chosen]} record (${where}${issue?.message}); make one with react-rl export`);
    }
  }
  return { path, method: chosen, examples: records.length };
}

function methodOf(path: string, first: unknown): FineTuneMethod {
  if (typeof first === "object" && first !== null) {
    if ("messages" in first) return "sft";
    if ("input" in first) return "dpo";
  }
  throw new UserError(`${path}:1: neither an openai-sft record ("messages") nor an openai-dpo one ("input")`);
}
