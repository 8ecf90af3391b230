/**
 * Continuous batching on the kernels: sequences join the running batch at any
 * step and leave it the step they finish, so a decode step always carries every
 * sequence in flight, however their lengths differ (no waiting for a batch's
 * longest member). Joining sequences read their prompts in the same pass as the
 * others decode. Each sequence's results do not depend on its batch: the kernels
 * compute every row alone, in the same order.
 */
import { setImmediate } from "node:timers/promises";
import type { InferenceModel, KvSequence } from "./inference.ts";
import type { PrefixCache } from "./prefix-cache.ts";
import { emptyGenerationStats, Sequence, type Generation, type SequenceSampling } from "./sequence.ts";
import type { Tokenizer } from "./tokenizer.ts";

interface Member {
  sequence: Sequence;
  prompt: number[];
  /** Its keys and values, once it has joined. */
  kv?: KvSequence;
  resolve: (generation: Generation) => void;
  reject: (error: unknown) => void;
}

export class ContinuousBatch {
  /** Tokens, passes and time so far (no `calls`: a batch has passes), the time of each pass split between prefill and decode by their share of its rows. */
  readonly stats = emptyGenerationStats();
  private waiting: Member[] = [];
  private active: Member[] = [];
  private running = false;

  /** `cache` keeps each finished sequence for a later prompt that continues it. */
  constructor(
    readonly model: InferenceModel,
    private readonly tokenizer: Tokenizer,
    private readonly options: { maxBatch: number; cache?: PrefixCache<KvSequence> },
  ) {}

  /** Frees the kept sequences (the prefix cache); the batch stays usable. */
  clear(): void {
    this.options.cache?.clear();
  }

  /** Sequences waiting or being generated. */
  get size(): number {
    return this.waiting.length + this.active.length;
  }

  /** Continues `prompt` (token ids, kept to what fits before maxNewTokens). */
  generate(prompt: number[], sampling: SequenceSampling): Promise<Generation> {
    const ids = prompt.slice(-(this.model.config.contextLength - sampling.maxNewTokens));
    return new Promise((resolve, reject) => {
      this.waiting.push({ sequence: new Sequence(this.tokenizer, ids, sampling), prompt: ids, resolve, reject });
      this.stats.promptTokens += ids.length;
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      // One turn of the event loop first, so that callers starting together join together
      while ((await setImmediate(), this.size > 0)) this.step();
    } catch (error) {
      for (const member of [...this.active, ...this.waiting]) member.reject(error);
      this.active = [];
      this.waiting = [];
    } finally {
      this.running = false;
    }
  }

  /** One pass: the joining read their prompts, the rest feed their last token; then every member samples. */
  private step(): void {
    const started = performance.now();
    const joining = this.waiting.splice(0, this.options.maxBatch - this.active.length);
    // Identical prompts (k samples of a question) are read once, then forked
    const readers = new Map<string, Member>();
    const followers: [Member, Member][] = [];
    for (const member of joining) {
      const key = member.prompt.join(",");
      const reader = readers.get(key);
      if (reader) followers.push([member, reader]);
      else readers.set(key, member);
    }
    const reading = [...readers.values()];
    for (const member of reading) member.kv = this.continued(member.prompt);
    const feeds = [
      ...reading.map((m) => ({ sequence: m.kv!, tokens: m.prompt.slice(m.kv!.ids.length) })),
      ...this.active.map((m) => ({ sequence: m.kv!, tokens: [m.sequence.tokens.at(-1)!] })),
    ];
    const read = feeds.slice(0, reading.length).reduce((n, f) => n + f.tokens.length, 0);
    const scores = this.model.forward(feeds);
    const vocab = this.model.config.vocabSize;
    const rowOf = new Map<Member, number>([...reading, ...this.active].map((m, row) => [m, row]));
    for (const [member, reader] of followers) {
      member.kv = this.model.fork(reader.kv!);
      rowOf.set(member, rowOf.get(reader)!);
    }
    const members = [...reading, ...followers.map(([m]) => m), ...this.active];
    for (const member of members) member.sequence.sample(scores.subarray(rowOf.get(member)! * vocab, (rowOf.get(member)! + 1) * vocab));
    this.active = members.filter((member) => !member.sequence.done || this.finish(member));
    this.measure(started, read, feeds.length - reading.length);
  }

  /** Hands a finished member its generation and keeps (or frees) its sequence; false, to drop it from the batch. */
  private finish(member: Member): false {
    if (this.options.cache) this.options.cache.add(member.kv!);
    else this.model.release(member.kv!);
    this.stats.generatedTokens += member.sequence.tokens.length;
    member.resolve(member.sequence.result());
    return false;
  }

  /** A sequence to read `ids` into: a kept one sharing its prefix (taken, or its shared part copied), or a new one. */
  private continued(ids: number[]): KvSequence {
    const { cache } = this.options;
    const match = cache?.match(ids);
    if (!match) return this.model.sequence();
    if (match.length < match.entry.ids.length) return this.model.fork(match.entry, match.length);
    cache!.take(match.entry);
    return match.entry;
  }

  private measure(started: number, read: number, decoded: number): void {
    const { stats } = this;
    const ms = performance.now() - started;
    stats.readTokens += read;
    stats.passes += 1;
    stats.prefillMs += (ms * read) / (read + decoded);
    stats.decodeMs += (ms * decoded) / (read + decoded);
  }
}
