import { z } from "zod";
import { QaTaskSchema, type Paragraph, type QaTask } from "../../tools/wiki/index.ts";
import { describeZodError, UserError } from "../errors.ts";
import { parseJson, readTextFile } from "../files.ts";

type QaTaskInput = z.input<typeof QaTaskSchema>;

export type DatasetFormat = "hotpotqa" | "2wiki" | "musique";

/** HotpotQA's layout, shared by 2WikiMultihopQA: `_id` in the official JSON, `id` in our JSONL samples. */
const HotpotLayoutSchema = z
  .object({
    _id: z.string().optional(),
    id: z.string().optional(),
    question: z.string(),
    answer: z.string(),
    type: z.string().optional(),
    supporting_facts: z.array(z.tuple([z.string(), z.number()])).optional(),
    context: z.array(z.tuple([z.string(), z.array(z.string())])),
  })
  .refine((record) => (record._id ?? record.id) !== undefined, { message: "needs an `_id` or `id`" })
  .transform((record): QaTaskInput => ({
    id: (record._id ?? record.id)!, // present: checked by the refine above
    question: record.question,
    answer: record.answer,
    type: record.type,
    supportingFacts: record.supporting_facts,
    context: record.context,
  }))
  .pipe(QaTaskSchema);

const MusiqueLayoutSchema = z
  .object({
    id: z.string(),
    question: z.string(),
    answer: z.string(),
    paragraphs: z.array(
      z.object({ title: z.string(), paragraph_text: z.string(), is_supporting: z.boolean().optional() }),
    ),
  })
  .transform((record): QaTaskInput => {
    const context = record.paragraphs.map((p): Paragraph => [p.title, splitSentences(p.paragraph_text)]);
    return {
      id: record.id,
      question: record.question,
      answer: record.answer,
      // MuSiQue ids start with the hop type: `2hop__...`, `3hop1__...`; an id of another form names none
      type: /^(\d+hop\d*)__/.exec(record.id)?.[1] ?? "unknown",
      // A supporting paragraph supports with all its sentences.
      supportingFacts: record.paragraphs.flatMap((p, i) =>
        p.is_supporting ? context[i]![1].map((_, sentence): [string, number] => [p.title, sentence]) : [],
      ),
      context,
    };
  })
  .pipe(QaTaskSchema);

const NAMES: Record<DatasetFormat, string> = { hotpotqa: "HotpotQA", "2wiki": "2WikiMultihopQA", musique: "MuSiQue" };

const LAYOUTS: Record<DatasetFormat, z.ZodType<QaTask>> = {
  hotpotqa: HotpotLayoutSchema,
  "2wiki": HotpotLayoutSchema,
  musique: MusiqueLayoutSchema,
};

/**
 * Splits a paragraph at whitespace after `.`, `!` or `?`. Later sentences keep
 * their leading space, as HotpotQA's do, so joining them rebuilds the text.
 */
export function splitSentences(text: string): string[] {
  return text.split(/(?<=[.!?])(?=\s+\S)/u).filter((sentence) => sentence.trim() !== "");
}

/** A record as read, with where it was, for error messages. */
interface RawRecord {
  where: string;
  value: unknown;
}

/**
 * Reads a multi-hop QA file: the official HotpotQA JSON array, or JSONL in the
 * HotpotQA, 2WikiMultihopQA or MuSiQue layout, which the first record tells. A `format`
 * asked for that the file's records cannot be is refused: its episodes would be recorded
 * as another dataset's.
 */
export async function loadDataset(path: string, format: DatasetFormat | "auto" = "auto"): Promise<QaTask[]> {
  const records = parseRecords(path, await readTextFile(path));
  if (records.length === 0) throw new UserError(`${path}: no records`);
  const formats = possibleFormats(path, records[0]!);
  if (format !== "auto" && !formats.includes(format)) throw new UserError(`${path} holds ${NAMES[formats[0]!]} records, not ${NAMES[format]}'s: is it the right file?`);
  const layout = LAYOUTS[format === "auto" ? formats[0]! : format];
  const seen = new Set<string>();
  return records.map(({ where, value }) => {
    const parsed = layout.safeParse(value);
    if (!parsed.success) throw new UserError(`${path}, ${where}: ${describeZodError(parsed.error)}`);
    if (seen.has(parsed.data.id)) throw new UserError(`${path}, ${where}: duplicate id ${parsed.data.id}`);
    seen.add(parsed.data.id);
    return parsed.data;
  });
}

/** A JSON array (HotpotQA's official files) when the text starts with `[`, else JSONL with blank lines skipped. */
function parseRecords(path: string, text: string): RawRecord[] {
  const body = text.replace(/^\uFEFF/, "");
  if (body.trimStart().startsWith("[")) {
    const array = parseJson(body, path, z.unknown());
    if (!Array.isArray(array)) throw new UserError(`${path}: expected a JSON array of records`);
    return array.map((value, i) => ({ where: `record ${i + 1}`, value }));
  }
  return body.split("\n").flatMap((line, i) => {
    if (line.trim() === "") return [];
    const where = `line ${i + 1}`;
    return [{ where, value: parseJson(line, `${path}, ${where}`, z.unknown()) }];
  });
}

/**
 * The datasets a record can be of, the likeliest first: 2WikiMultihopQA's add `evidences`
 * to HotpotQA's layout, and HotpotQA's official ones have a `level`; a copy that kept
 * neither could be either.
 */
function possibleFormats(path: string, first: RawRecord): DatasetFormat[] {
  const value = first.value;
  if (typeof value === "object" && value !== null) {
    if ("paragraphs" in value) return ["musique"];
    if ("evidences" in value) return ["2wiki"];
    if ("level" in value) return ["hotpotqa"];
    if ("context" in value) return ["hotpotqa", "2wiki"];
  }
  throw new UserError(
    `${path}, ${first.where}: cannot tell the dataset format: expected a record with "context" (HotpotQA, 2WikiMultihopQA) or "paragraphs" (MuSiQue)`,
  );
}
