import { z } from "zod";
import { SeedSchema } from "../random.ts";
import { formatSummary, summarize, TrajectoryWriter } from "../../trajectories/index.ts";
import {
  DEFAULT_FAMILIES,
  FamiliesSchema,
  generateWorld,
  loadWorld,
  QUESTION_TYPES,
  serializeWorld,
  SPLITS,
  SplitSchema,
  worldStats,
  WorldSizesSchema,
  type World,
} from "../world/index.ts";
import { expertEpisodeLengths, expertEpisodes, hopworldSuite, openWorld } from "../suites/index.ts";
import { checkFile, defineCommand, numberFlag } from "./command.ts";
import { ProgressBar } from "./progress.ts";
import { writeFileAtomic } from "../files.ts";

/** The world that train and bench work on unless told another, and that world generate writes. */
export const DEFAULT_WORLD_SEED = 1;

/** The hopworld a command works on: a file, or the seed of one generated in memory (as `world generate` would). */
export const worldFlags = z.object({
  world: z.string().optional(),
  "world-seed": numberFlag(SeedSchema).optional(),
});

/** The usage of `worldFlags`. */
export const worldFlagsUsage = `  --world FILE         a hopworld file (default: generate the world of --world-seed in memory)
  --world-seed N       (default ${DEFAULT_WORLD_SEED})`;

/** The world that `--world` or `--world-seed` names (world ${DEFAULT_WORLD_SEED} when neither does). */
export function worldFrom(flags: z.infer<typeof worldFlags>): Promise<World> {
  return openWorld({ world: flags.world, worldSeed: flags["world-seed"] }, DEFAULT_WORLD_SEED);
}

const generateFlags = z.object({
  out: z.string(),
  force: z.boolean().default(false),
  seed: numberFlag(SeedSchema).default(DEFAULT_WORLD_SEED),
  train: numberFlag(WorldSizesSchema.shape.train).optional(),
  dev: numberFlag(WorldSizesSchema.shape.dev).optional(),
  test: numberFlag(WorldSizesSchema.shape.test).optional(),
  families: z
    .string()
    .transform((list) => list.split(",").map((name) => name.trim()))
    .pipe(FamiliesSchema)
    .optional(),
});

const expertFlags = z.object({
  world: z.string(),
  out: z.string(),
  split: SplitSchema.default("train"),
  limit: numberFlag(z.number().int().positive()).optional(),
});

const generateCommand = defineCommand({
  name: "world generate",
  summary: "generate hopworld: a fictional wiki with multi-hop questions",
  usage: `react-rl world generate --out FILE [--seed N] [--train N] [--dev N] [--test N] [--families LIST] [--force]

Writes a world: pages and questions in train, dev and test splits whose entity names never
meet. The same seed, sizes and families give the same file, byte for byte. The pages are the
same whatever the families. An existing FILE is replaced only with --force (atomically).

  --seed N             (default ${DEFAULT_WORLD_SEED})
  --train N, --dev N, --test N   questions per split (default 3000, 300, 300)
  --families LIST      comma-separated, of ${QUESTION_TYPES.join(", ")}
                       (default ${DEFAULT_FAMILIES.join(",")}); compute questions need Code[...]`,
  flags: generateFlags,
  run: (flags) => generate(flags),
});

const statsCommand = defineCommand({
  name: "world stats",
  summary: "a world's pages and questions per split and type, and its expert episodes' length",
  usage: `react-rl world stats FILE

Pages and questions per split and question type, their mean lengths, and the length of the
expert's dev episodes (what a model's context must hold). Prints the figures as JSON on its
last line.`,
  args: ["FILE"],
  flags: z.object({}),
  run: (_flags, [file]) => stats(file!),
});

const expertCommand = defineCommand({
  name: "world expert",
  summary: "write the expert policy's episodes of a split: gold demonstrations for fine-tuning",
  usage: `react-rl world expert --world FILE --out FILE.jsonl [--split NAME] [--limit N]

Runs the expert policy through the wiki environment on a split's questions and writes its
episodes as a trajectory log. An existing --out is refused.

  --split NAME         train | dev | test (default train)
  --limit N            only the first N questions`,
  flags: expertFlags,
  run: (flags) => expert(flags),
});

/** `world generate`, `world stats` and `world expert`. */
export const worldCommands = [generateCommand, statsCommand, expertCommand];

async function generate(flags: z.infer<typeof generateFlags>): Promise<number> {
  const { out } = flags;
  await checkFile("--out", out, flags.force);
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
  const lengths = await expertEpisodeLengths(hopworldSuite(world), "dev");
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

async function expert(flags: z.infer<typeof expertFlags>): Promise<number> {
  const { out } = flags;
  await checkFile("--out", out);
  const world = await loadWorld(flags.world);
  const writer = await TrajectoryWriter.open(out);
  const bar = new ProgressBar(`expert ${flags.split}`);
  const trajectories = await expertEpisodes(hopworldSuite(world), flags.split, flags.limit, async (trajectory, done, total) => {
    await writer.append(trajectory);
    bar.update(done, total);
  });
  bar.finish();
  console.log(formatSummary(summarize(trajectories)));
  console.log(`trajectories: ${out}`);
  return 0;
}

