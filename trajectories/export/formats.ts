import { z } from "zod";
import { succeeded, TrajectoryShapeSchema, type Trajectory } from "../schema.ts";
import { toOpenAIDpo, toOpenAISft } from "./chat.ts";
import { OpenAIDpoRecordSchema, OpenAISftRecordSchema, TokenRecordSchema } from "./schema.ts";
import { TOOLS_PLACEHOLDER } from "../transcript.ts";
import { byteTokenizer, toTokenRecord, type TokenEncoder } from "./tokens.ts";
import { writeFileAtomic } from "../../src/files.ts";
import { checkArgument, parseOptions } from "../../src/options.ts";

export const EXPORT_FORMATS = ["openai-sft", "openai-dpo", "tokens"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Which trajectories to learn from; every condition given must hold. */
const ExportFilterSchema = z.strictObject({
  minReward: z.number().optional(),
  /** Only episodes with a positive reward. */
  successOnly: z.boolean().optional(),
  maxSteps: z.number().int().min(1).optional(),
  /** Only episodes with no invalid action. */
  noInvalid: z.boolean().optional(),
});
export type ExportFilter = z.infer<typeof ExportFilterSchema>;

/** What to export and how; checked before any record is made (a script in JavaScript can get any of it wrong). */
const ExportOptionsSchema = z.object({
  format: z.enum(EXPORT_FORMATS),
  head: z.object({
    instruction: z.string().refine((text) => !text.includes(TOOLS_PLACEHOLDER), `holds ${TOOLS_PLACEHOLDER}: fill it in as the episodes saw it (withToolList(template, tools))`),
    exemplars: z.array(z.string()),
  }),
  filter: ExportFilterSchema.optional(),
  tokenizer: z.custom<TokenEncoder>((value) => typeof (value as TokenEncoder | undefined)?.encode === "function", "expected an object with encode(text)").optional(),
}).refine((options) => options.tokenizer === undefined || options.format === "tokens", { path: ["tokenizer"], message: "is for format tokens; the chat formats hold text" });

/**
 * `head`: the prompt the trajectories were collected with, its `{tools}` filled in. `filter`: for
 * `openai-dpo` it picks the preferred side; failures are what it is compared against.
 * `tokenizer`: for `tokens`; default `byteTokenizer`.
 */
export type ExportOptions = z.infer<typeof ExportOptionsSchema>;

export interface ExportResult {
  /** One JSON text per record, each checked against its format's schema. */
  lines: string[];
  /** Trajectories given. */
  read: number;
  /** Trajectories that passed the filter. */
  kept: number;
}

const SCHEMAS: Record<ExportFormat, z.ZodType> = {
  "openai-sft": OpenAISftRecordSchema,
  "openai-dpo": OpenAIDpoRecordSchema,
  tokens: TokenRecordSchema,
};

function passesFilter(trajectory: Trajectory, filter: ExportFilter): boolean {
  return (
    (filter.minReward === undefined || trajectory.reward >= filter.minReward) &&
    (!filter.successOnly || succeeded(trajectory)) &&
    (filter.maxSteps === undefined || trajectory.metrics.steps <= filter.maxSteps) &&
    (!filter.noInvalid || trajectory.metrics.invalid === 0)
  );
}

const TrajectoriesArgument = z.array(TrajectoryShapeSchema);

/** Turns trajectories into training records of one format, in the order given. */
export function exportTrajectories(trajectories: readonly Trajectory[], options: ExportOptions): ExportResult {
  checkArgument("exportTrajectories", "trajectories", TrajectoriesArgument, trajectories);
  const { format, head, filter = {} } = parseOptions("exportTrajectories", ExportOptionsSchema, options);
  const kept = trajectories.filter((t) => passesFilter(t, filter));
  const records: unknown[] =
    format === "openai-dpo"
      ? toOpenAIDpo(trajectories, head, (t) => passesFilter(t, filter))
      : kept.flatMap((t) => {
          const record = format === "tokens" ? toTokenRecord(t, head, options.tokenizer ?? byteTokenizer) : toOpenAISft(t, head);
          return record ? [record] : [];
        });
  const schema = SCHEMAS[format];
  const lines = records.map((record, i) => {
    const checked = schema.safeParse(record);
    // The converters build valid records by construction; a failure here is a bug, not bad input.
    if (!checked.success) throw new Error(`${format} record ${i + 1} breaks its format: ${checked.error.issues[0]?.message}`);
    return JSON.stringify(checked.data);
  });
  return { lines, read: trajectories.length, kept: kept.length };
}

/** Writes the records as JSONL, atomically: a reader sees the old file or the whole new one. */
export function writeExport(path: string, result: Pick<ExportResult, "lines">): Promise<void> {
  return writeFileAtomic(path, result.lines.map((line) => `${line}\n`).join(""));
}

/** The schema a line of a format's file must match: for checking a file before it is uploaded. */
export function exportSchema(format: ExportFormat): z.ZodType {
  return SCHEMAS[format];
}
