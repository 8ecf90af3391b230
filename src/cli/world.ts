import { stat } from "node:fs/promises";
import { z } from "zod";
import { formatSummary, summarize, TrajectoryWriter, writeFileAtomic } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import {
  DEFAULT_FAMILIES,
  expertTrajectories,
  expertEpisodeLengths,
  FamiliesSchema,
  generateWorld,
  loadWorld,
  QUESTION_TYPES,
  serializeWorld,
  SPLITS,
  SplitSchema,
  worldStats,
  WorldSizesSchema,
} from "../world/index.ts";
import { defineCommand, numberFlag } from "./command.ts";
import { ProgressBar } from "./progress.ts";

const USAGE = `react-rl world generate --out FILE [--seed N] [--train N] [--dev N] [--test N] [--families LIST]
       react-rl world stats FILE
       react-rl world expert --world FILE --out FILE.jsonl [--split NAME] [--limit N]`;

const worldFlags = z.object({
  out: z.string().optional(),
  seed: numberFlag(z.number().int().min(0).max(2 ** 32 - 1)).default(1),
  train: numberFlag(WorldSizesSchema.shape.train).optional(),
  dev: numberFlag(WorldSizesSchema.shape.dev).optional(),
  test: numberFlag(WorldSizesSchema.shape.test).optional(),
  families: z
    .string()
    .transform((list) => list.split(",").map((name) => name.trim()))
    .pipe(FamiliesSchema)
    .optional(),
  world: z.string().optional(),
  split: SplitSchema.default("train"),
  limit: numberFlag(z.number().int().positive()).optional(),
});
type WorldFlags = z.infer<typeof worldFlags>;

export const worldCommand = defineCommand({
  name: "world",
  summary: "generate hopworld (a fictional wiki with multi-hop questions), inspect it, write expert episodes",
  usage: `${USAGE}

  generate  writes a world: pages and questions in train, dev and test splits whose entity
            names never meet. The same seed, sizes and families give the same file, byte for
            byte. --seed N (default 1); --train, --dev, --test: questions per split (default
            3000, 300, 300). --families LIST: comma-separated, of
            ${QUESTION_TYPES.join(", ")}
            (default ${DEFAULT_FAMILIES.join(",")}); compute questions need Code[...].
            The pages are the same whatever the families. An existing FILE is refused.
  stats     pages and questions per split and question type, their mean lengths, and the
            length of the expert's dev episodes (what a model's context must hold).
            Prints the figures as JSON on its last line.
  expert    runs the expert policy through the wiki environment on a split's questions
            (--split, default train; --limit N: the first N) and writes its episodes as a
            trajectory log, gold demonstrations for fine-tuning. An existing FILE is refused.`,
  flags: worldFlags,
  async run(flags, positionals) {
    const [verb, ...args] = positionals;
    if (verb === "generate" && args.length === 0) return generate(flags);
    if (verb === "stats" && args.length === 1) return stats(args[0]!);
    if (verb === "expert" && args.length === 0) return expert(flags);
    throw new UserError(`usage: ${USAGE}`);
  },
});

async function generate(flags: WorldFlags): Promise<number> {
  const out = await newFile(flags.out, "generate");
  const sizes = { train: flags.train, dev: flags.dev, test: flags.test };
  const world = generateWorld({ seed: flags.seed, sizes, families: flags.families });
  await writeFileAtomic(out, serializeWorld(world));
  const { counts } = worldStats(world);
  const perSplit = SPLITS.map((split) => `${split} ${counts[split].questions}`).join(", ");
  console.log(`${out}: seed ${world.seed}, ${counts.all.pages} pages, ${counts.all.questions} questions (${perSplit})`);
  return 0;
}

async function stats(path: string): Promise<number> {
  const world = await loadWorld(path);
  const lengths = await expertEpisodeLengths(world, "dev");
  const expertEpisodeChars = { mean: lengths.reduce((sum, n) => sum + n, 0) / lengths.length, max: Math.max(...lengths) };
  const figures = { ...worldStats(world), expertEpisodeChars };
  const columns = ["pages", "questions", ...QUESTION_TYPES] as const;
  const rows = [
    ["", ...columns],
    ...Object.entries(figures.counts).map(([split, counts]) => [split, ...columns.map((column) => String(counts[column]))]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padStart(widths[column]!)).join("  "));
  console.log(`mean page ${figures.meanPageChars.toFixed(0)} characters, mean question ${figures.meanQuestionChars.toFixed(0)}`);
  const { mean, max } = figures.expertEpisodeChars;
  console.log(`expert episodes on dev, prompt included: mean ${mean.toFixed(0)} characters, max ${max}`);
  console.log(JSON.stringify(figures));
  return 0;
}

async function expert(flags: WorldFlags): Promise<number> {
  if (flags.world === undefined) throw new UserError("world expert needs --world FILE");
  const out = await newFile(flags.out, "expert");
  const world = await loadWorld(flags.world);
  const writer = await TrajectoryWriter.open(out);
  const bar = new ProgressBar(`expert ${flags.split}`);
  const trajectories = await expertTrajectories(world, flags.split, {
    limit: flags.limit,
    onTrajectory: async (trajectory, done, total) => {
      await writer.append(trajectory);
      bar.update(done, total);
    },
  });
  bar.finish();
  console.log(formatSummary(summarize(trajectories)));
  console.log(`trajectories: ${out}`);
  return 0;
}

/** A path to write a new file at: required, and never one that exists (nothing is overwritten). */
async function newFile(path: string | undefined, verb: string): Promise<string> {
  if (path === undefined) throw new UserError(`world ${verb} needs --out FILE`);
  const exists = await stat(path).then(() => true, () => false);
  if (exists) throw new UserError(`${path} already exists; remove it or choose another --out`);
  return path;
}
