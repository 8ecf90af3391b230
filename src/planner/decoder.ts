import { emptyGenerationStats, generateTokens, InferenceModel, PrefixCache, type CachedSequence, type Generation, type GenerationStats, type KvSequence } from "../lm/index.ts";
import { copySource, rawTokenStrings, TurnGrammar } from "./grammar.ts";
import type { Planner } from "./planner.ts";
import type { Sampling } from "./policy.ts";
import { transcriptTokens } from "./transcript.ts";

/** One episode's request for its next turn, as a decoder takes it. */
export interface TurnRequest {
  prompt: string;
  /** 1-based number of the step to write. */
  step: number;
  /** The random stream this turn draws from (see LocalPolicy). */
  streamKey: string;
}

/** How long a decoder waits for its next batch before it frees its prefix cache. */
const IDLE_RELEASE_MS = 2000;

/**
 * Decodes many episodes' next turns in one batch: their transcripts as tokens,
 * each under the turn grammar, with each episode's keys and values kept between
 * its turns (the prefix cache). Runs on the main thread or in a worker, on the
 * kernels (a snapshot of the weights, taken at the first batch) or on tfjs.
 */
export class TurnDecoder {
  /** Generation's work and time so far. */
  readonly stats: GenerationStats = emptyGenerationStats();
  private engine?: Promise<{ model: InferenceModel | Planner["model"]; cache?: PrefixCache<KvSequence> | PrefixCache<CachedSequence> }>;
  private idle?: NodeJS.Timeout;

  constructor(
    private readonly planner: Planner,
    private readonly sampling: Sampling,
  ) {}

  /** The model to decode with, and its prefix cache: two sequences per episode in flight (its latest turn, and room for those that just finished). */
  private start() {
    const capacity = 2 * this.sampling.maxBatch;
    const { prefixCache } = this.sampling;
    if (this.sampling.engine === "tfjs") return { model: this.planner.model, cache: prefixCache ? new PrefixCache(capacity) : undefined };
    return InferenceModel.create(this.planner.model).then((model) => ({
      model,
      cache: prefixCache ? new PrefixCache<KvSequence>(capacity, (sequence) => model.release(sequence)) : undefined,
    }));
  }

  async decode(requests: TurnRequest[]): Promise<Generation[]> {
    const { tokenizer } = this.planner;
    const sequences = requests.map((r) => transcriptTokens(r.prompt, tokenizer));
    const vocabulary = rawTokenStrings(tokenizer);
    const constraints = this.sampling.grammar
      ? sequences.map(({ ids, mask }, i) => new TurnGrammar(vocabulary, copySource(ids, mask, vocabulary), requests[i].step).constraint)
      : undefined;
    clearTimeout(this.idle);
    this.engine ??= Promise.resolve(this.start());
    const { model, cache } = await this.engine;
    const options = {
      ...this.sampling,
      streamKeys: requests.map((r) => r.streamKey),
      constraints,
      stop: ["\nObservation"],
      cache,
      stats: this.stats,
    };
    // Episodes ask again within milliseconds; a decoder left idle (its run over) frees its memory.
    return generateTokens(model, tokenizer, sequences.map((s) => s.ids), options).finally(() => (this.idle = setTimeout(() => this.clear(), IDLE_RELEASE_MS).unref()));
  }

  /** Frees the prefix cache and the kernels' memory; the decoder stays usable. */
  clear(): void {
    clearTimeout(this.idle);
    void this.engine?.then(({ cache }) => cache?.clear());
    this.engine = undefined;
  }
}
