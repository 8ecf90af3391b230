import { emptyGenerationStats, generateTokens, PrefixCache, type Generation, type GenerationStats } from "../lm/index.ts";
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
 * its turns (the prefix cache). Runs on the main thread or in a worker.
 */
export class TurnDecoder {
  /** Generation's work and time so far. */
  readonly stats: GenerationStats = emptyGenerationStats();
  private readonly cache?: PrefixCache;
  private idle?: NodeJS.Timeout;

  constructor(
    private readonly planner: Planner,
    private readonly sampling: Sampling,
  ) {
    // Two sequences per episode in flight: its latest turn, and room for those that just finished.
    if (sampling.prefixCache) this.cache = new PrefixCache(2 * sampling.maxBatch);
  }

  decode(requests: TurnRequest[]): Promise<Generation[]> {
    const { model, tokenizer } = this.planner;
    const sequences = requests.map((r) => transcriptTokens(r.prompt, tokenizer));
    const vocabulary = rawTokenStrings(tokenizer);
    const constraints = this.sampling.grammar
      ? sequences.map(({ ids, mask }, i) => new TurnGrammar(vocabulary, copySource(ids, mask, vocabulary), requests[i].step).constraint)
      : undefined;
    clearTimeout(this.idle);
    // Episodes ask again within milliseconds; a decoder left idle (its run over) frees the cache's memory.
    const release = () => (this.idle = setTimeout(() => this.cache?.clear(), IDLE_RELEASE_MS).unref());
    const options = {
      ...this.sampling,
      streamKeys: requests.map((r) => r.streamKey),
      constraints,
      stop: ["\nObservation"],
      cache: this.cache,
      stats: this.stats,
    };
    return generateTokens(model, tokenizer, sequences.map((s) => s.ids), options).finally(release);
  }

  /** Frees the prefix cache; the decoder stays usable. */
  clear(): void {
    clearTimeout(this.idle);
    this.cache?.clear();
  }
}
