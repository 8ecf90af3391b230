import {
  addStats,
  ContinuousBatch,
  emptyGenerationStats,
  generateTokens,
  InferenceModel,
  PrefixCache,
  type CachedSequence,
  type Generation,
  type GenerationStats,
  type KvSequence,
  type LanguageModel,
} from "../lm/index.ts";
import { copySource, rawTokenStrings, TurnGrammar } from "./grammar.ts";
import type { Planner } from "./planner.ts";
import type { Sampling } from "./local-policy.ts";
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

/** What a decoder decodes with: the kernels and their running batch, or tfjs; each with its prefix cache. */
type Engine = { model: InferenceModel; batch: ContinuousBatch } | { model: LanguageModel; cache?: PrefixCache<CachedSequence> };

/**
 * Decodes many episodes' next turns: their transcripts as tokens, each under the
 * turn grammar, with each episode's keys and values kept between its turns (the
 * prefix cache). Runs on the main thread or in a worker, on the kernels (a
 * snapshot of the weights, taken at the first call; concurrent calls join one
 * continuous batch) or on tfjs (each call a batch of its own).
 */
export class TurnDecoder {
  /** Calls, tfjs's work, and the work of kernel batches already let go. */
  private readonly counted: GenerationStats = emptyGenerationStats();
  private engine?: Promise<Engine>;
  /** The engine once started. */
  private current?: Engine;
  private busy = 0;
  private idle?: NodeJS.Timeout;

  constructor(
    private readonly planner: Planner,
    private readonly sampling: Sampling,
  ) {}

  /** Generation's work and time so far. */
  get stats(): GenerationStats {
    const total = { ...this.counted };
    if (this.current && "batch" in this.current) addStats(total, this.current.batch.stats);
    return total;
  }

  /** The engine, with a prefix cache of two sequences per episode in flight (its latest turn, and room for those that just finished). */
  private async start(): Promise<Engine> {
    const { maxBatch, prefixCache, engine } = this.sampling;
    if (engine === "tfjs") return { model: this.planner.model, cache: prefixCache ? new PrefixCache(2 * maxBatch) : undefined };
    const model = await InferenceModel.create(this.planner.model);
    const cache = prefixCache ? new PrefixCache<KvSequence>(2 * maxBatch, (sequence) => model.release(sequence)) : undefined;
    return { model, batch: new ContinuousBatch(model, this.planner.tokenizer, { maxBatch, cache }) };
  }

  async decode(requests: TurnRequest[]): Promise<Generation[]> {
    const { tokenizer } = this.planner;
    const sequences = requests.map((r) => transcriptTokens(r.prompt, tokenizer));
    const vocabulary = rawTokenStrings(tokenizer);
    const constraints = this.sampling.grammar
      ? sequences.map(({ ids, mask }, i) => new TurnGrammar(vocabulary, copySource(ids, mask, vocabulary), requests[i].step).constraint)
      : undefined;
    clearTimeout(this.idle);
    this.busy++;
    try {
      const engine = await (this.engine ??= this.start().then((e) => (this.current = e)));
      const options = {
        ...this.sampling,
        streamKeys: requests.map((r) => r.streamKey),
        constraints,
        stop: ["\nObservation"],
        stats: this.counted,
        ...("batch" in engine ? { batch: engine.batch } : { cache: engine.cache }),
      };
      return await generateTokens(engine.model, tokenizer, sequences.map((s) => s.ids), options);
    } finally {
      // Episodes ask again within milliseconds; a decoder left idle (its run over) frees its memory.
      if (--this.busy === 0) this.idle = setTimeout(() => this.clear(), IDLE_RELEASE_MS).unref();
    }
  }

  /** Frees the prefix cache and the kernels' memory; the decoder stays usable. */
  clear(): void {
    clearTimeout(this.idle);
    const engine = this.current;
    this.engine = this.current = undefined;
    if (!engine) return;
    if ("batch" in engine) {
      engine.batch.clear();
      addStats(this.counted, engine.batch.stats);
    } else engine.cache?.clear();
  }
}
