import { z } from "zod";
import { SeedSchema } from "../random.ts";
import { Docstore, WikiEnvironment, type QaTask } from "../../tools/wiki/index.ts";
import { ARITHMETIC_PROMPT, arithmeticEnvironment, arithmeticTasks } from "./arithmetic.ts";
import { loadDataset } from "./datasets.ts";
import { HOTPOTQA_SAMPLE, TWOWIKI_SAMPLE } from "./bundled.ts";
import { UserError } from "../errors.ts";
import { OraclePolicy } from "../policies/oracle.ts";
import { ExpertPolicy, generateWorld, HOPWORLD_PROMPT, loadWorld, worldEnvironments, worldTasks, type World } from "../world/index.ts";
import { questionsShortDigest } from "../../trajectories/digest.ts";
import type { Suite } from "./suite.ts";

/** The suites the command line knows by name; a user's own plugs in from TypeScript. */
export const SUITE_NAMES = ["hotpotqa", "2wiki", "musique", "hopworld", "arithmetic"] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** A hopworld's questions by split; the agent searches every split's pages (test names are unseen in training, not missing). */
export function hopworldSuite(world: World): Suite {
  return {
    name: "hopworld",
    // The seed alone does not say which questions: a world of seed 1 and other sizes holds others than the base saw
    identity: { worldSeed: world.seed, trainQuestions: questionsShortDigest(worldTasks(world, "train")) },
    label: `hopworld-w${world.seed}`,
    splits: true,
    tasks: (split, limit) => worldTasks(world, split).slice(0, limit),
    environment: worldEnvironments(world),
    prompt: HOPWORLD_PROMPT,
    expert: new ExpertPolicy(world),
  };
}

/** Generated arithmetic word problems, answered with the Code tool over an empty wiki; the oracle runs each one's program. */
export function arithmeticSuite(seed = 1): Suite {
  return {
    name: "arithmetic",
    identity: { dataSeed: seed },
    label: "arithmetic",
    splits: true,
    tasks: (split, count) => arithmeticTasks({ seed, split, count }),
    environment: arithmeticEnvironment,
    prompt: ARITHMETIC_PROMPT,
    expert: new OraclePolicy(),
  };
}

/** A multi-hop QA file's questions (the same for every split), searched over every paragraph of the file. */
export function fileSuite(name: string, tasks: readonly QaTask[]): Suite {
  // The corpus is the whole file, so taking fewer questions does not shrink the search space.
  const docstore = Docstore.fromTasks(tasks);
  return {
    name,
    identity: {},
    label: name,
    splits: false,
    tasks: (_split, limit) => tasks.slice(0, limit),
    environment: (_task, tools) => new WikiEnvironment(docstore, tools),
    prompt: "hotpotqa",
  };
}

/** The file a dataset reads when no `--file` names one. */
const BUNDLED_SAMPLES: Partial<Record<SuiteName, string>> = { hotpotqa: HOTPOTQA_SAMPLE, "2wiki": TWOWIKI_SAMPLE };

/** Where a named suite comes from: the command line's `--dataset`, `--file`, `--world`, `--world-seed` and `--data-seed`. */
export const SuiteSourceSchema = z.object({
  dataset: z.enum(SUITE_NAMES),
  file: z.string().optional(),
  world: z.string().optional(),
  worldSeed: SeedSchema.optional(),
  dataSeed: SeedSchema.optional(),
});
export type SuiteSource = z.infer<typeof SuiteSourceSchema>;

/** The suite a source names; a one-line user error for flags that do not go with its dataset. */
export async function openSuite(source: SuiteSource, defaultWorldSeed: number): Promise<Suite> {
  const namesWorld = source.world !== undefined || source.worldSeed !== undefined;
  if (source.dataset === "arithmetic") {
    if (source.file !== undefined || namesWorld) throw new UserError(`--dataset arithmetic is generated: it takes --data-seed, not ${source.file !== undefined ? "--file" : "--world or --world-seed"}`);
    return arithmeticSuite(source.dataSeed);
  }
  if (source.dataSeed !== undefined) throw new UserError("--data-seed is for --dataset arithmetic");
  if (source.dataset === "hopworld") {
    if (source.file !== undefined) throw new UserError("--dataset hopworld reads --world FILE or --world-seed N, not --file");
    return hopworldSuite(await openWorld(source, defaultWorldSeed));
  }
  if (namesWorld) throw new UserError("--world and --world-seed are for --dataset hopworld");
  const file = source.file ?? BUNDLED_SAMPLES[source.dataset];
  if (!file) throw new UserError(`--dataset ${source.dataset} needs --file PATH (samples are bundled for hotpotqa and 2wiki only)`);
  return fileSuite(source.dataset, await loadDataset(file, source.dataset));
}

/** The hopworld a source names: its file, or the world of its seed generated in memory (`defaultSeed` when it names neither). */
export async function openWorld(source: Pick<SuiteSource, "world" | "worldSeed">, defaultSeed: number): Promise<World> {
  if (source.world !== undefined && source.worldSeed !== undefined) throw new UserError("--world and --world-seed each name a world: give one");
  return source.world !== undefined ? loadWorld(source.world) : generateWorld({ seed: source.worldSeed ?? defaultSeed });
}
