/**
 * What the planner decodes on, started when first asked and let go when idle: the
 * WebAssembly SIMD kernels with their running batch (CPU backends), or tfjs on its
 * backend (the one a GPU would use); each with a prefix cache if asked for.
 * TurnDecoder (in-process rollouts) and the server's decoder both decode through it.
 */
import {
  addStats,
  ContinuousBatch,
  emptyGenerationStats,
  generateTokens,
  InferenceModel,
  PrefixCache,
  type CachedSequence,
  type Generation,
  type GenerateOptionsInput,
  type GenerationStats,
  type KvSequence,
  type LanguageModel,
} from "../lm/index.ts";
import type { Planner } from "./planner.ts";

export const ENGINES = ["kernels", "tfjs"] as const;
export type EngineName = (typeof ENGINES)[number];

export interface EngineSettings {
  engine: EngineName;
  /** Most sequences in one pass of the kernels' batch (tfjs batches are the caller's). */
  maxBatch: number;
  /** Keep sequences once written so that a later prompt continuing one reads only its new tokens. */
  prefixCache: boolean;
}

/** How long an engine waits for its next call before it lets go of its memory. */
const IDLE_RELEASE_MS = 2000;

type Engine = { model: InferenceModel; batch: ContinuousBatch } | { model: LanguageModel; cache?: PrefixCache<CachedSequence> };

/**
 * The kernels take a snapshot of the weights at the first call after a release
 * (the planner's weights must not change while calls run); concurrent calls join
 * one continuous batch. On tfjs each call is a batch of its own.
 */
export class DecodingEngine {
  /** Calls, tfjs's work, and the work of kernel batches already let go. */
  private readonly counted: GenerationStats = emptyGenerationStats();
  private engine?: Promise<Engine>;
  /** The engine once started. */
  private current?: Engine;
  private busy = 0;
  private idle?: NodeJS.Timeout;

  constructor(
    private readonly planner: Planner,
    readonly settings: EngineSettings,
  ) {}

  /** Generation's work and time so far. */
  get stats(): GenerationStats {
    const total = { ...this.counted };
    if (this.current && "batch" in this.current) addStats(total, this.current.batch.stats);
    return total;
  }

  /** Kernel slots holding sequences now (kept by the prefix cache, or being written); 0 on tfjs or once let go. */
  get slotsInUse(): number {
    return this.current && "batch" in this.current ? this.current.model.slotsInUse : 0;
  }

  /** generateTokens on the engine: `options` must not name a batch, cache or stats (the engine's are used). */
  async generate(prompts: number[][], options: GenerateOptionsInput): Promise<Generation[]> {
    clearTimeout(this.idle);
    this.busy++;
    try {
      const engine = await (this.engine ??= this.start().then((e) => (this.current = e)));
      const on = "batch" in engine ? { batch: engine.batch } : { cache: engine.cache };
      return await generateTokens(engine.model, this.planner.tokenizer, prompts, { ...options, ...on, stats: this.counted });
    } finally {
      // Callers ask again within milliseconds while busy; an engine left idle (its run over) frees its memory.
      if (--this.busy === 0) this.idle = setTimeout(() => this.clear(), IDLE_RELEASE_MS).unref();
    }
  }

  /** Frees the prefix cache and the kernels' memory; the engine starts again at the next call. */
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

  /** The engine, with a prefix cache of two sequences per batch row (the latest of each, and room for those that just finished). */
  private async start(): Promise<Engine> {
    const { maxBatch, prefixCache, engine } = this.settings;
    if (engine === "tfjs") return { model: this.planner.model, cache: prefixCache ? new PrefixCache(2 * maxBatch) : undefined };
    const model = await InferenceModel.create(this.planner.model);
    const cache = prefixCache ? new PrefixCache<KvSequence>(2 * maxBatch, (sequence) => model.release(sequence)) : undefined;
    return { model, batch: new ContinuousBatch(model, this.planner.tokenizer, { maxBatch, cache }) };
  }
}
