import { z } from "zod";
import { ArithmeticOptionsSchema } from "../suites/arithmetic.ts";
import { openSuite, SUITE_NAMES, type Suite } from "../suites/index.ts";
import { numberFlag } from "./command.ts";
import { DEFAULT_WORLD_SEED, worldFlags } from "./world.ts";

/** The flags that name a suite, the same on every command that runs one. */
export const suiteFlags = worldFlags.extend({
  dataset: z.enum(SUITE_NAMES).default("hotpotqa"),
  file: z.string().optional(),
  "data-seed": numberFlag(ArithmeticOptionsSchema.shape.seed.unwrap()).optional(),
});

/** The usage of `suiteFlags`. */
export const suiteUsage = `  --dataset NAME       ${SUITE_NAMES.join(" | ")} (default hotpotqa)
  --file PATH          dataset file, official JSON or JSONL (default for hotpotqa and 2wiki: the
                       bundled sample)
  --world FILE         for --dataset hopworld: a world from react-rl world generate; its episodes
                       run with prompts/hopworld.txt unless --prompt names another
  --world-seed N       for --dataset hopworld, instead of --world: generate the world of seed N
                       in memory, as train does (default ${DEFAULT_WORLD_SEED})
  --data-seed N        for --dataset arithmetic: the seed its questions are generated from (default 1);
                       they run with prompts/arithmetic.txt and the Code tool, over an empty wiki`;

/** The suite the flags name (hopworld: world ${DEFAULT_WORLD_SEED} unless told another). */
export function suiteFrom(flags: z.infer<typeof suiteFlags>): Promise<Suite> {
  return openSuite({ dataset: flags.dataset, file: flags.file, world: flags.world, worldSeed: flags["world-seed"], dataSeed: flags["data-seed"] }, DEFAULT_WORLD_SEED);
}
