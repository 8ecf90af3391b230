import { generateTokens, type Generation, type GenerateOptions, type GenerateOptionsInput, type TokenConstraint } from "../lm/index.ts";
import { MicroBatcher, type Planner } from "../planner/index.ts";

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
 * Decodes requests with the planner, batching concurrent ones. One generation
 * call shares one set of sampling settings, so requests queue by their settings
 * and each queue gathers what arrives while its previous batch runs.
 *
 * A seed fixes a request's text only if nothing else draws from its streams (a
 * sequence's stream depends on its place in the batch), so a sampled request with
 * a seed is decoded in a call of its own. Unseeded ones draw fresh streams per batch.
 */
export class PlannerDecoder {
  private readonly queues = new Map<string, Queue>();
  private calls = 0;
  private sequences = 0;

  constructor(
    private readonly planner: Planner,
    private readonly maxBatch: number,
  ) {}

  /**
   * `n` continuations of one prompt (token ids, `bos` first); under `grammar`, which
   * makes a fresh constraint per continuation (a constraint follows one sequence).
   */
  decode(prompt: number[], n: number, sampling: RequestSampling, grammar?: () => TokenConstraint): Promise<Generation[]> {
    const sequences = Array.from({ length: n }, () => ({ prompt, constraint: grammar?.() }));
    if (sampling.seed !== undefined && sampling.temperature > 0) return this.generate(sequences, { ...sampling, seed: sampling.seed });
    return Promise.all(sequences.map((sequence) => this.enqueue(sequence, sampling)));
  }

  /** Generation calls made and sequences decoded so far: their ratio is the mean batch size. */
  stats(): { calls: number; sequences: number } {
    return { calls: this.calls, sequences: this.sequences };
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
    const batcher = new MicroBatcher<Sequence, Generation>((sequences) => this.generate(sequences, { ...sampling, seed: this.calls }), this.maxBatch);
    const queue = { batcher, waiting: 0 };
    this.queues.set(key, queue);
    return queue;
  }

  /** A batch may mix constrained and free sequences: a free one's constraint allows any token. */
  private generate(sequences: Sequence[], options: GenerateOptionsInput): Promise<Generation[]> {
    this.calls += 1;
    this.sequences += sequences.length;
    const constraints = sequences.some((s) => s.constraint) ? sequences.map((s) => s.constraint ?? anyToken) : undefined;
    const prompts = sequences.map((s) => s.prompt);
    return generateTokens(this.planner.model, this.planner.tokenizer, prompts, { ...options, constraints });
  }
}

const anyToken: TokenConstraint = () => undefined;
