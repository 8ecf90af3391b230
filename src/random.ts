import { z } from "zod";

/** A seed: `Random` keeps 32 bits of it, so a larger one would give another seed's numbers (a world, a question set) under its name. */
export const SeedSchema = z.number().int().min(0).max(2 ** 32 - 1);

/**
 * A seeded pseudo-random stream (mulberry32: 32-bit state, period 2^32), so a
 * world, a sample or a shuffle is a pure function of its seed on every platform. Math.random cannot be seeded.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A stream for item `index` of a batch, independent of the other items' streams. */
  static forItem(seed: number, index: number): Random {
    return new Random(Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b));
  }

  /** A stream of its own for `key`, the same wherever and in whatever order it is asked for. */
  static forKey(seed: number, key: string): Random {
    return Random.forItem(seed, hashString(key));
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  /** An item drawn with probability proportional to its weight. */
  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    let roll = this.next() * items.reduce((sum, item) => sum + weight(item), 0);
    for (const item of items) {
      roll -= weight(item);
      if (roll < 0) return item;
    }
    return items.at(-1)!;
  }
}

/** 32-bit FNV-1a over UTF-16 code units: a stable hash of a string on every platform. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
