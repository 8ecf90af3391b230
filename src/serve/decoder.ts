import type { Generation, GenerateOptions, GenerateOptionsInput, GenerationStats, TokenConstraint } from "../lm/index.ts";
import { DecodingEngine, MicroBatcher, type EngineName, type Planner } from "../planner/index.ts";

/** How a request wants its text sampled; `seed` only matters when temperature > 0. */
export type RequestSampling = Omit<GenerateOptions, "seed" | "compactBatch"> & { seed?: number };

/** One sequence to decode: its prompt (token ids, `bos` first) and, under a grammar, what it may write. */
interface Sequence {
  prompt: number[];
  constraint?: TokenConstraint;
}

/** Sequences that wait on one queue, and the queue: it lives while anything waits on it. */
interface Queue {
  batcher: MicroBatcher<Sequence, Generation>;
  waiting: number;
}

/**
 * Generation's work so far (passes: the kernels' batch steps, or tfjs's decode steps),
 * the sequences asked for, and the kernel slots holding sequences now (the prefix
 * cache's and those being written; 0 on tfjs, and once the engine has let go when idle).
 */
export type DecoderStats = GenerationStats & { sequences: number; slotsInUse: number };

/**
 * Decodes requests with the planner, batching concurrent ones, on the engine given
 * (see DecodingEngine).
 *
 * On the kernels every request joins the one running batch at once, whatever its
 * settings: each sequence samples with its own settings and random streams, and its
 * scores do not depend on its batch, so a seed fixes a request's text. A request that
 * continues an earlier one (a conversation's next turn) reads only its new tokens.
 *
 * On tfjs one generation call shares one set of sampling settings, so requests queue
 * by their settings and each queue gathers what arrives while its previous batch runs.
 * There a sequence's stream depends on its place in the batch, so a sampled request
 * with a seed is decoded in a call of its own.
 *
 * Unseeded requests draw fresh streams (per request on the kernels, per batch on tfjs).
 */
export class PlannerDecoder {
  private readonly engine: DecodingEngine;
  private readonly queues = new Map<string, Queue>();
  private sequences = 0;
  /** The seed the next unseeded request, or tfjs batch, draws from. */
  private fresh = 0;

  constructor(planner: Planner, options: { maxBatch: number; engine: EngineName }) {
    this.engine = new DecodingEngine(planner, { ...options, prefixCache: options.engine === "kernels" });
  }

  /**
   * `n` continuations of one prompt (token ids, `bos` first); under `grammar`, which
   * makes a fresh constraint per continuation (a constraint follows one sequence).
   */
  decode(prompt: number[], n: number, sampling: RequestSampling, grammar?: () => TokenConstraint): Promise<Generation[]> {
    this.sequences += n;
    const sequences = Array.from({ length: n }, () => ({ prompt, constraint: grammar?.() }));
    if (this.engine.settings.engine === "kernels") return this.generate(sequences, { ...sampling, seed: sampling.seed ?? this.fresh++ });
    if (sampling.seed !== undefined && sampling.temperature > 0) return this.generate(sequences, { ...sampling, seed: sampling.seed });
    return Promise.all(sequences.map((sequence) => this.enqueue(sequence, sampling)));
  }

  stats(): DecoderStats {
    return { ...this.engine.stats, sequences: this.sequences, slotsInUse: this.engine.slotsInUse };
  }

  private async enqueue(sequence: Sequence, sampling: RequestSampling): Promise<Generation> {
    const key = JSON.stringify([sampling.temperature, sampling.topP, sampling.maxNewTokens, sampling.stop]);
    const queue = this.queues.get(key) ?? this.openQueue(key, sampling);
    queue.waiting += 1;
    try {
      return await queue.batcher.submit(sequence);
    } finally {
      queue.waiting -= 1;
      if (queue.waiting === 0) this.queues.delete(key);
    }
  }

  private openQueue(key: string, sampling: RequestSampling): Queue {
    const batcher = new MicroBatcher<Sequence, Generation>((sequences) => this.generate(sequences, { ...sampling, seed: this.fresh++ }), this.engine.settings.maxBatch);
    const queue = { batcher, waiting: 0 };
    this.queues.set(key, queue);
    return queue;
  }

  /** A batch may mix constrained and free sequences: a free one's constraint allows any token. */
  private generate(sequences: Sequence[], options: GenerateOptionsInput): Promise<Generation[]> {
    const constraints = sequences.some((s) => s.constraint) ? sequences.map((s) => s.constraint ?? anyToken) : undefined;
    return this.engine.generate(sequences.map((s) => s.prompt), { ...options, constraints });
  }
}

const anyToken: TokenConstraint = () => undefined;
