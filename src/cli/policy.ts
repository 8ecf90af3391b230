import { z } from "zod";
import type { QaTask } from "../../tools/wiki/index.ts";
import type { Policy } from "../agent/policy.ts";
import { BaselinePolicy, OpenAIPolicy, OraclePolicy } from "../policies/index.ts";
import { numberFlag, type OptionSpec } from "./command.ts";

export const POLICY_NAMES = ["baseline", "oracle", "openai"] as const;

export const policyOptions: OptionSpec = {
  policy: { type: "string" },
  model: { type: "string" },
  "base-url": { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
};

export const policyFlags = z.object({
  policy: z.enum(POLICY_NAMES).default("baseline"),
  model: z.string().optional(),
  "base-url": z.url().optional(),
  temperature: numberFlag(z.number().min(0).max(2)).optional(),
  seed: numberFlag(z.number().int()).optional(),
});

export const policyUsage = `  --policy NAME        ${POLICY_NAMES.join(" | ")} (default baseline)
  --model M            model name for --policy openai (default gpt-4o-mini)
  --base-url URL       OpenAI-compatible server (else OPENAI_BASE_URL, else api.openai.com)
  --temperature T      sampling temperature (default 0)
  --seed N             sampling seed, where the server supports one`;

/** Builds the planner a command line names. */
export function createPolicy(flags: z.infer<typeof policyFlags>): Policy<QaTask> {
  switch (flags.policy) {
    case "baseline":
      return new BaselinePolicy();
    case "oracle":
      return new OraclePolicy();
    case "openai":
      return new OpenAIPolicy({
        model: flags.model ?? "gpt-4o-mini",
        baseURL: flags["base-url"],
        temperature: flags.temperature ?? 0,
        seed: flags.seed,
      });
  }
}
