import { z } from "zod";
import { announceBackend, backendChoices, backendFlag } from "./backend.ts";
import type { QaTask } from "../../tools/wiki/index.ts";
import { DEFAULT_MAX_STEPS, type Policy } from "../agent/index.ts";
import { BaselinePolicy, OpenAIPolicy, OraclePolicy } from "../policies/index.ts";
import { BASE_PLANNER, decodingOn, LocalPolicy, loadPlanner } from "../planner/index.ts";
import { UserError } from "../errors.ts";
import { givenFlag, numberFlag } from "./command.ts";

const POLICY_NAMES = ["baseline", "oracle", "openai", "local"] as const;

export const policyFlags = z.object({
  policy: z.enum(POLICY_NAMES).default("baseline"),
  model: z.string().optional(),
  "base-url": z.url().optional(),
  timeout: numberFlag(z.number().positive()).optional(),
  retries: numberFlag(z.number().int().min(0).max(20)).optional(),
  temperature: numberFlag(z.number().min(0).max(2)).optional(),
  seed: numberFlag(z.number().int()).optional(),
  backend: backendFlag,
  "free-decoding": z.boolean().default(false),
});

/** The usage of `policyFlags`, with the command's default temperature. */
export const policyUsage = (temperature = 0) => `  --policy NAME        ${POLICY_NAMES.join(" | ")} (default baseline)
  --model M            --policy openai: the model name (default gpt-4o-mini);
                       --policy local: a checkpoint folder (default: the committed base planner)
  --base-url URL       OpenAI-compatible server (else OPENAI_BASE_URL, else api.openai.com)
  --timeout S          --policy openai: seconds to wait for each request's reply (default 60)
  --retries N          --policy openai: retries of a request that failed (default 2); an episode
                       whose request still fails is recorded as failed, and a rerun retries it
  --temperature T      --policy openai or local: sampling temperature (default ${temperature})
  --seed N             --policy openai or local: sampling seed (openai: where the server
                       supports one)
  --backend NAME       --policy local: ${backendChoices}
  --free-decoding      --policy local: decode without the ReAct turn grammar (malformed actions possible)`;

/** The flags only some policies take: given to another, they would be ignored without a word. */
const POLICY_ONLY_FLAGS: Partial<Record<keyof z.infer<typeof policyFlags>, readonly (typeof POLICY_NAMES)[number][]>> = {
  model: ["openai", "local"],
  temperature: ["openai", "local"],
  seed: ["openai", "local"],
  "base-url": ["openai"],
  timeout: ["openai"],
  retries: ["openai"],
  backend: ["local"],
  "free-decoding": ["local"],
};

/**
 * Builds the policy a command line names, sampling at `temperature` unless --temperature
 * says otherwise; a flag of another policy is a one-line mistake.
 */
export async function createPolicy(flags: z.infer<typeof policyFlags>, temperature = 0): Promise<Policy<QaTask>> {
  const othersFlags = (Object.keys(POLICY_ONLY_FLAGS) as (keyof typeof POLICY_ONLY_FLAGS)[]).filter((flag) => !POLICY_ONLY_FLAGS[flag]!.includes(flags.policy));
  const stray = givenFlag(flags, othersFlags);
  if (stray) throw new UserError(`--${stray} is for --policy ${POLICY_ONLY_FLAGS[stray]!.join(" or ")}, not ${flags.policy}`);
  switch (flags.policy) {
    case "baseline":
      return new BaselinePolicy();
    case "oracle":
      return new OraclePolicy();
    case "openai":
      return new OpenAIPolicy({
        model: flags.model ?? "gpt-4o-mini",
        baseURL: flags["base-url"],
        timeoutMs: flags.timeout === undefined ? undefined : Math.ceil(flags.timeout * 1000),
        maxRetries: flags.retries,
        temperature: flags.temperature ?? temperature,
        seed: flags.seed,
      });
    case "local":
      return new LocalPolicy(await loadPlanner(flags.model ?? BASE_PLANNER, flags.backend), {
        temperature: flags.temperature ?? temperature,
        seed: flags.seed ?? 0,
        grammar: !flags["free-decoding"],
        ...decodingOn((await announceBackend(flags.backend)).name),
      });
  }
}

/** How many of the policy's episodes run at once, and how long each may be: bench's, collect's and fewshot's. */
export const episodeFlags = z.object({
  concurrency: numberFlag(z.number().int().min(1).max(1024)).default(4),
  "max-steps": numberFlag(z.number().int().min(1).max(100)).default(DEFAULT_MAX_STEPS),
});

export const episodeUsage = `  --concurrency K      episodes in flight at once (default 4)
  --max-steps N        step limit per episode (default ${DEFAULT_MAX_STEPS})`;
