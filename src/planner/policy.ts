import { basename } from "node:path";
import { z } from "zod";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import { generateTokens, type Generation } from "../lm/index.ts";
import { hashString } from "../random.ts";
import { MicroBatcher } from "./batcher.ts";
import { copySource, rawTokenStrings, TurnGrammar } from "./grammar.ts";
import type { Planner } from "./planner.ts";
import { transcriptTokens } from "./transcript.ts";

export const SamplingSchema = z.object({
  /** 0 decodes greedily. */
  temperature: z.number().min(0).max(2).default(0),
  topP: z.number().gt(0).max(1).default(1),
  seed: z.number().int().default(0),
  /** A turn is a short thought and one action. */
  maxNewTokens: z.number().int().positive().default(64),
  /** Episodes whose steps are decoded together in one batch. */
  maxBatch: z.number().int().positive().default(64),
  /** Decode under the ReAct turn grammar (grammar.ts): every turn a thought and one well-formed action. */
  grammar: z.boolean().default(true),
});
export type Sampling = z.infer<typeof SamplingSchema>;

/**
 * The embedded planner as a Policy. Concurrent episodes' requests are decoded
 * together in one batch, so running many episodes at once (bench --concurrency)
 * is what makes it fast.
 */
export class LocalPolicy implements Policy {
  readonly name = "local";
  readonly model: string;
  readonly temperature: number;
  readonly seed: number;
  private readonly sampling: Sampling;
  private readonly batcher: MicroBatcher<PolicyRequest, Generation>;
  /** How often each prompt (by hash) has been asked for: the n-th asking draws from stream n. */
  private readonly asked = new Map<number, number>();

  constructor(
    private readonly planner: Planner,
    sampling: z.input<typeof SamplingSchema> = {},
  ) {
    this.sampling = SamplingSchema.parse(sampling);
    this.model = basename(planner.source);
    this.temperature = this.sampling.temperature;
    this.seed = this.sampling.seed;
    this.batcher = new MicroBatcher((requests) => this.decode(requests), this.sampling.maxBatch);
  }

  async act(request: PolicyRequest): Promise<Completion> {
    const generation = await this.batcher.submit(request);
    return {
      text: generation.text,
      tokens: generation.tokens,
      logprobs: generation.logprobs,
      usage: { promptTokens: generation.promptTokens, completionTokens: generation.tokens.length },
    };
  }

  private decode(requests: PolicyRequest[]): Promise<Generation[]> {
    const { model, tokenizer } = this.planner;
    const prompts = requests.map((r) => r.prompt);
    const sequences = prompts.map((prompt) => transcriptTokens(prompt, tokenizer));
    // A stream per (prompt, how often it was asked before): samples do not depend on which
    // requests happened to share a batch, and the k samples of one prompt still differ.
    const streamKeys = prompts.map((prompt) => {
      const key = hashString(prompt);
      const n = this.asked.get(key) ?? 0;
      this.asked.set(key, n + 1);
      return `${key}:${n}`;
    });
    const vocabulary = rawTokenStrings(tokenizer);
    const constraints = this.sampling.grammar
      ? sequences.map(({ ids, mask }, i) => new TurnGrammar(vocabulary, copySource(ids, mask, vocabulary), requests[i].step).constraint)
      : undefined;
    const ids = sequences.map((s) => s.ids);
    return generateTokens(model, tokenizer, ids, { ...this.sampling, streamKeys, constraints, stop: ["\nObservation"] });
  }
}
