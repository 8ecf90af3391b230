/**
 * Sequences the model has read, kept with each layer's keys and values, so that a
 * prompt that starts with one (the next ReAct turn of an episode: its last prompt,
 * the action it wrote, the new observation) is only read from where they differ.
 * Prefixes are matched on token ids, so a prompt whose tokens differ anywhere
 * before the end of a cached sequence (a truncated context, a retokenised turn)
 * simply reuses less.
 */
import * as tf from "@tensorflow/tfjs";
import type { SequenceKv } from "./attention.ts";

export interface CachedSequence {
  ids: number[];
  /** Per layer, [H, ids.length, hd]. */
  layers: SequenceKv[];
  /** The copy head's keys, [ids.length, d], when the model has one. */
  copyKeys?: tf.Tensor2D;
}

/** The reusable part of a cached sequence for a prompt: its first `length` tokens. */
export interface PrefixMatch<E = CachedSequence> {
  entry: E;
  length: number;
}

/** Kept sequences of either engine: tfjs tensors (CachedSequence) or the kernels' slots (KvSequence). */
export class PrefixCache<E extends { readonly ids: readonly number[] } = CachedSequence> {
  private entries: E[] = [];

  /**
   * `capacity`: sequences kept; past it the least recently added goes (a few per
   * episode in flight is plenty). `dispose` frees what an entry holds.
   */
  constructor(
    private readonly capacity: number,
    private readonly dispose: (entry: E) => void = disposeSequence as unknown as (entry: E) => void,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /**
   * The cached sequence sharing the longest prefix with `ids`, leaving at least
   * the last token to read (its logits are what the prompt is for).
   */
  match(ids: readonly number[]): PrefixMatch<E> | undefined {
    let best: PrefixMatch<E> | undefined;
    for (const entry of this.entries) {
      const length = commonPrefix(entry.ids, ids, ids.length - 1);
      if (length > (best?.length ?? 0)) best = { entry, length };
    }
    return best;
  }

  /** Keeps a sequence; the sequences it extends are dropped (their episode has moved on). */
  add(sequence: E): void {
    const [extended, kept] = partition(this.entries, (e) => commonPrefix(e.ids, sequence.ids, e.ids.length) === e.ids.length);
    kept.push(sequence);
    const evicted = kept.splice(0, Math.max(0, kept.length - this.capacity));
    for (const entry of [...extended, ...evicted]) this.dispose(entry);
    this.entries = kept;
  }

  /** Removes an entry without freeing it: its new owner extends it in place. */
  take(entry: E): void {
    this.entries = this.entries.filter((e) => e !== entry);
  }

  /** Frees every entry. */
  clear(): void {
    for (const entry of this.entries) this.dispose(entry);
    this.entries = [];
  }
}

function commonPrefix(a: readonly number[], b: readonly number[], limit: number): number {
  const n = Math.min(a.length, b.length, limit);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}

function disposeSequence(entry: CachedSequence): void {
  tf.dispose([...entry.layers.flatMap((l) => [l.keys, l.values]), ...(entry.copyKeys ? [entry.copyKeys] : [])]);
}
