/**
 * Byte-level BPE (as in GPT-2): text is split into word-like pieces, each piece
 * into its UTF-8 bytes, and learned merges join frequent adjacent pairs. All 256
 * bytes are tokens, so any text encodes, unseen names and emoji included.
 *
 * Ids: 0-255 are bytes, 256 is `bos`, 257 is `eos`, and merge k makes id 258 + k.
 * `encode` never produces bos/eos (text cannot smuggle them in); `decode` skips them.
 */
import { z } from "zod";

const BYTES = 256;
const BOS = 256;
const EOS = 257;
const FIRST_MERGE = 258;

/**
 * Pieces BPE works within (merges never cross them): a word, a single digit (so
 * numbers stay digit by digit, which arithmetic needs), a run of punctuation, each
 * with at most one leading space; or whitespace.
 */
const PIECE = / ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * 1: text is cut into pieces as it is.
 * 2: a word or number right after an opening bracket or quote (`Search[Mako]`,
 * `['Mako`, `(Mako`) first takes a virtual space, which decoding removes. A name then
 * has the same tokens there as in running text (` Mako`), so the model can copy it.
 */
export type TokenizerVersion = 1 | 2;
const LATEST: TokenizerVersion = 2;

/**
 * Where version 2 adds its space: after `[`, `(` or an opening quote, and after any
 * real spaces there (so that those decode back), before a word or number.
 */
const BOUNDARY = /(\[|\(|(?<![\p{L}\p{N}])['"])( *)(?=[\p{L}\p{N}])/gu;
const WORD = /[\p{L}\p{N}]/u;

function isBoundary(char: string, before: string): boolean {
  return char === "[" || char === "(" || ((char === "'" || char === '"') && !WORD.test(before));
}

/** The pieces a tokenizer of this version encodes the text as. */
function piecesOf(text: string, version: TokenizerVersion): IterableIterator<RegExpMatchArray> {
  return (version === 2 ? text.replace(BOUNDARY, "$1$2 ") : text).matchAll(PIECE);
}

/** Encoded pieces are remembered up to this many, then the memory starts over. */
const CACHE_LIMIT = 50_000;

export const TokenizerJson = z
  .object({
    format: z.literal("react-rl-bpe"),
    version: z.union([z.literal(1), z.literal(2)]),
    merges: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
  })
  .superRefine((json, ctx) => {
    json.merges.forEach(([a, b], k) => {
      const known = FIRST_MERGE + k;
      if (a >= known || b >= known || a === BOS || a === EOS || b === BOS || b === EOS) {
        ctx.addIssue({ code: "custom", message: `merge ${k} joins an unknown or special token`, path: ["merges", k] });
      }
    });
  });
export type TokenizerJson = z.infer<typeof TokenizerJson>;

export interface TrainTokenizerOptions {
  /** Total tokens wanted, bytes and specials included; fewer if the text runs out of repeated pairs. */
  vocabSize: number;
  /** See TokenizerVersion; the latest by default. */
  version?: TokenizerVersion;
}

export class Tokenizer {
  readonly bos = BOS;
  readonly eos = EOS;
  private readonly ranks = new Map<number, number>();
  private readonly bytesOfToken: Uint8Array[];
  private readonly cache = new Map<string, number[]>();
  /** The most bytes of text one token stands for: n bytes of text encode as at least n / maxTokenBytes tokens. */
  readonly maxTokenBytes: number;

  constructor(
    private readonly merges: readonly (readonly [number, number])[],
    readonly version: TokenizerVersion = LATEST,
  ) {
    this.bytesOfToken = Array.from({ length: BYTES }, (_, i) => Uint8Array.of(i));
    this.bytesOfToken.push(new Uint8Array(), new Uint8Array());
    merges.forEach(([a, b], k) => {
      this.ranks.set(pairKey(a, b), FIRST_MERGE + k);
      this.bytesOfToken.push(concatBytes(this.bytesOfToken[a], this.bytesOfToken[b]));
    });
    this.maxTokenBytes = this.bytesOfToken.reduce((most, bytes) => Math.max(most, bytes.length), 1);
  }

  get vocabSize(): number {
    return FIRST_MERGE + this.merges.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [piece] of piecesOf(text, this.version)) {
      let encoded = this.cache.get(piece);
      if (!encoded) {
        encoded = this.encodePiece(piece);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, encoded);
      }
      for (const id of encoded) ids.push(id); // a long piece has too many tokens to spread
    }
    return ids;
  }

  /**
   * The text of a whole sequence; bytes that do not form valid UTF-8 become U+FFFD,
   * so a prefix cut inside a character ends in U+FFFD. To decode as tokens arrive, use TextStream.
   */
  decode(ids: readonly number[]): string {
    const stream = new TextStream(this);
    return ids.map((id) => stream.push(id)).join("") + stream.end();
  }

  /** The UTF-8 bytes a token stands for (none for bos/eos). */
  bytes(id: number): Uint8Array {
    const bytes = this.bytesOfToken[id];
    if (!bytes) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    return bytes;
  }

  toJSON(): TokenizerJson {
    return { format: "react-rl-bpe", version: this.version, merges: this.merges.map(([a, b]) => [a, b]) };
  }

  static fromJSON(json: unknown): Tokenizer {
    const { merges, version } = TokenizerJson.parse(json);
    return new Tokenizer(merges, version);
  }

  /** Applies merges in the order they were learned, as training did. */
  private encodePiece(piece: string): number[] {
    let symbols = Array.from(new TextEncoder().encode(piece));
    for (;;) {
      let best: number | undefined;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(pairKey(symbols[i], symbols[i + 1]));
        if (rank !== undefined && (best === undefined || rank < best)) best = rank;
      }
      if (best === undefined) return symbols;
      const [a, b] = this.merges[best - FIRST_MERGE];
      symbols = mergePair(symbols, a, b, best);
    }
  }
}

/**
 * Decodes a stream of tokens into text as they arrive. A character whose UTF-8
 * bytes are split across tokens is held back until its last byte arrives (and, in
 * version 2, spaces after a boundary until the next character says whether one was
 * virtual), so the pieces join up to `decode(all ids)`.
 */
export class TextStream {
  private readonly decoder = new TextDecoder();
  private last = "";
  private afterBoundary = false;
  private heldSpaces = 0;

  /** `context`: the tokens the stream continues (a prompt), read but not given out. */
  constructor(
    private readonly tokenizer: Tokenizer,
    context: readonly number[] = [],
  ) {
    for (const id of context) this.push(id);
    this.heldSpaces = 0;
  }

  /** The new complete characters this token finishes (may be ""). */
  push(id: number): string {
    return this.unspaced(this.decoder.decode(this.tokenizer.bytes(id), { stream: true }));
  }

  /** Ends the stream: bytes still held back (an unfinished character) become U+FFFD. */
  end(): string {
    const rest = this.unspaced(this.decoder.decode()) + " ".repeat(this.heldSpaces);
    this.heldSpaces = 0;
    return rest;
  }

  /** Drops version 2's virtual spaces: one of the spaces between a boundary and a word. */
  private unspaced(text: string): string {
    if (this.tokenizer.version === 1) return text;
    let out = "";
    for (const char of text) {
      if (char === " " && this.afterBoundary) {
        this.heldSpaces++;
        continue;
      }
      out += " ".repeat(this.heldSpaces - (this.heldSpaces > 0 && WORD.test(char) ? 1 : 0)) + char;
      this.heldSpaces = 0;
      this.afterBoundary = isBoundary(char, this.last);
      this.last = char;
    }
    return out;
  }
}

/**
 * Learns merges from text. Deterministic: equal pair counts are broken by the
 * smaller pair (first token id, then second), never by insertion order.
 */
export function trainTokenizer(texts: Iterable<string>, options: TrainTokenizerOptions): Tokenizer {
  if (options.vocabSize > 65_536) throw new RangeError(`vocabSize ${options.vocabSize} is over the 65536 this tokenizer allows`);
  const version = options.version ?? LATEST;
  const words = countPieces(texts, version);
  const pairCounts = new Map<number, number>();
  const wordsWithPair = new Map<number, Set<number>>();
  const addPairs = (index: number, sign: 1 | -1) => {
    const { symbols, count } = words[index];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      const total = (pairCounts.get(key) ?? 0) + sign * count;
      if (total > 0) pairCounts.set(key, total);
      else pairCounts.delete(key);
      if (sign > 0) {
        let holders = wordsWithPair.get(key);
        if (!holders) wordsWithPair.set(key, (holders = new Set()));
        holders.add(index);
      }
    }
  };
  words.forEach((_, index) => addPairs(index, 1));

  const merges: [number, number][] = [];
  while (FIRST_MERGE + merges.length < options.vocabSize) {
    const best = mostFrequentPair(pairCounts);
    if (best === undefined) break;
    const [a, b] = splitKey(best);
    const id = FIRST_MERGE + merges.length;
    merges.push([a, b]);
    // The set may hold words that have since lost this pair; mergePair leaves them as they are.
    for (const index of wordsWithPair.get(best) ?? []) {
      addPairs(index, -1);
      words[index].symbols = mergePair(words[index].symbols, a, b, id);
      addPairs(index, 1);
    }
    wordsWithPair.delete(best);
  }
  return new Tokenizer(merges, version);
}

/** Unique pieces of the text as byte sequences, with how often each occurs. */
function countPieces(texts: Iterable<string>, version: TokenizerVersion): { symbols: number[]; count: number }[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const [piece] of piecesOf(text, version)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  const encoder = new TextEncoder();
  return [...counts].map(([piece, count]) => ({ symbols: Array.from(encoder.encode(piece)), count }));
}

/** The pair seen most often (at least twice: a pair seen once is not worth a token). */
function mostFrequentPair(pairCounts: Map<number, number>): number | undefined {
  let best: number | undefined;
  let bestCount = 1;
  for (const [key, count] of pairCounts) {
    if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
      best = key;
      bestCount = count;
    }
  }
  return best;
}

function mergePair(symbols: number[], a: number, b: number, id: number): number[] {
  const merged: number[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === a && symbols[i + 1] === b) {
      merged.push(id);
      i++;
    } else {
      merged.push(symbols[i]);
    }
  }
  return merged;
}

// Ids stay below 2^16 (the vocabulary is small), so a pair packs into one number.
function pairKey(a: number, b: number): number {
  return a * 65_536 + b;
}

function splitKey(key: number): [number, number] {
  return [Math.floor(key / 65_536), key % 65_536];
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
