/**
 * The language model for generation only, on hand-written WebAssembly SIMD kernels
 * (kernels/kernels.as.ts) instead of tfjs: no per-op overhead, and each sequence
 * keeps its keys and values in a slot of its own, so a step appends in place and
 * attention reads exactly the sequence's own positions (no padding, no copies).
 * A slot has room for 128 positions, or the next power of two the sequence
 * needs, up to the context; a sequence that outgrows it moves to a larger one:
 * a whole-context slot per sequence would take gigabytes at large sizes, and most
 * sequences are short. A freed slot is reused by the next sequence it fits
 * before the memory grows. Sequences live as long as their owner keeps them, so
 * an episode's next turn reads only its new tokens.
 *
 * The weights are copied in once: an InferenceModel is a snapshot, taken when it
 * is made. It computes what `forward` computes (same shapes, same order of the
 * mixture); only float rounding differs.
 */
import { readFileSync } from "node:fs";
import type * as tf from "@tensorflow/tfjs";
import type { LanguageModel, ModelConfig } from "./model.ts";

/** The kernels' exports (pointers are byte offsets into `memory`). */
interface Kernels {
  memory: WebAssembly.Memory;
  heapBase(): number;
  matmul(a: number, w: number, out: number, rows: number, k: number, n: number, accumulate: boolean): void;
  attend(q: number, key: number, value: number, keys: number, values: number, count: number, heads: number, headDim: number, headStride: number, scores: number, out: number): void;
  dots(q: number, rows: number, count: number, width: number, stride: number, out: number): void;
  softmax(x: number, n: number): void;
  layerNorm(x: number, gain: number, bias: number, out: number, rows: number, d: number): void;
  gelu(x: number, n: number): void;
  addInPlace(x: number, y: number, n: number): void;
  logFloor(x: number, n: number, floor: number): void;
}

const KERNELS = new WebAssembly.Module(readFileSync(new URL("./kernels/kernels.wasm", import.meta.url)));
const PAGE = 65536;
/** Rows (new tokens over all sequences) one pass computes at most; longer feeds are split by sequence. */
const MAX_ROWS = 1024;
/** Floor under a probability before its log, as in copy-head.ts. */
const TINY = 1e-30;
/** Positions a new slot has room for at the least: smaller ones would only move again soon. */
const MIN_ROOM = 128;

/** Room for `room` positions from byte `at` (laid out as cacheRow says); room 0: none yet. */
interface Slot {
  at: number;
  room: number;
}

/** A sequence the model has read: its tokens, whose keys and values fill the start of its slot. */
export interface KvSequence {
  /** The model's to move: it changes when the sequence outgrows it. */
  readonly slot: Slot;
  readonly ids: number[];
}

/** New tokens for a sequence: they are appended to it, and the next token's distribution is returned. */
export interface Feed {
  sequence: KvSequence;
  tokens: readonly number[];
}

type Block = { ln1: [number, number]; qkv: number; proj: number; ln2: [number, number]; up: number; down: number };

export class InferenceModel {
  private readonly k: Kernels;
  private f32!: Float32Array;
  private top: number;
  private readonly d: number;
  private readonly hidden: number;
  private readonly vocab: number;
  private readonly weights: {
    tokens: number;
    positions: number;
    /** [d, vocab]: the output head (the token embedding transposed when tied). */
    head: number;
    blocks: Block[];
    lnFinal: [number, number];
    /** The copy head's: normalised token embeddings [vocab, d], query (scaled by 1/√d) and key [3d, d], sink [d, 1] and its bias. */
    copy?: { normalised: number; query: number; key: number; sink: number; sinkBias: number };
  };
  private readonly scratch: Record<"x" | "h" | "qkv" | "att" | "up" | "copyIn" | "copyKeys" | "last" | "queryIn" | "query" | "sink" | "logits" | "scores", number>;
  /** Floats per position of a slot: every layer's key and value rows, then the copy head's key row. */
  private readonly positionFloats: number;
  /** Freed slots' addresses, by room. */
  private readonly free = new Map<number, number[]>();
  private taken = 0;

  /** Copies the model's weights (as they are now) into a new kernel instance. */
  static async create(model: LanguageModel): Promise<InferenceModel> {
    const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
    const copy = model.copy;
    return new InferenceModel(model.config, {
      tokens: await read(model.tokenEmbedding),
      positions: await read(model.positionEmbedding),
      head: model.head ? await read(model.head) : undefined,
      blocks: await Promise.all(
        model.blocks.map(async (b) => ({
          ln1: [await read(b.ln1.gain), await read(b.ln1.bias)] as [Float32Array, Float32Array],
          qkv: await read(b.qkv),
          proj: await read(b.proj),
          ln2: [await read(b.ln2.gain), await read(b.ln2.bias)] as [Float32Array, Float32Array],
          up: await read(b.up),
          down: await read(b.down),
        })),
      ),
      lnFinal: [await read(model.lnFinal.gain), await read(model.lnFinal.bias)],
      copy: copy && { query: await read(copy.query), key: await read(copy.key), sink: await read(copy.sink), sinkBias: (await read(copy.sinkBias))[0] },
    });
  }

  private constructor(
    readonly config: ModelConfig,
    w: {
      tokens: Float32Array;
      positions: Float32Array;
      head?: Float32Array;
      blocks: { ln1: [Float32Array, Float32Array]; qkv: Float32Array; proj: Float32Array; ln2: [Float32Array, Float32Array]; up: Float32Array; down: Float32Array }[];
      lnFinal: [Float32Array, Float32Array];
      copy?: { query: Float32Array; key: Float32Array; sink: Float32Array; sinkBias: number };
    },
  ) {
    const { dModel: d, vocabSize: vocab, nHeads, contextLength, mlpRatio } = config;
    this.d = d;
    this.vocab = vocab;
    this.hidden = mlpRatio * d;
    this.k = new WebAssembly.Instance(KERNELS, { env: { abort: () => { throw new Error("a kernel aborted"); } } }).exports as unknown as Kernels;
    this.top = align(this.k.heapBase());
    this.refresh();
    const put = (values: Float32Array) => {
      const at = this.reserve(values.length);
      this.f32.set(values, at / 4);
      return at;
    };
    // Queries scaled by 1/√(head dim) in the weights, as attention.ts scales them after the product
    const scaledQueries = (qkv: Float32Array) => scaleColumns(qkv, 3 * d, 0, d, 1 / Math.sqrt(d / nHeads));
    const tokens = put(w.tokens);
    this.weights = {
      tokens,
      positions: put(w.positions),
      head: put(w.head ?? transpose(w.tokens, vocab, d)),
      blocks: w.blocks.map((b) => ({
        ln1: [put(b.ln1[0]), put(b.ln1[1])],
        qkv: put(scaledQueries(b.qkv)),
        proj: put(b.proj),
        ln2: [put(b.ln2[0]), put(b.ln2[1])],
        up: put(b.up),
        down: put(b.down),
      })),
      lnFinal: [put(w.lnFinal[0]), put(w.lnFinal[1])],
    };
    if (w.copy) {
      const normalised = this.reserve(vocab * d);
      this.k.layerNorm(tokens, put(new Float32Array(d).fill(1)), put(new Float32Array(d)), normalised, vocab, d);
      this.weights.copy = {
        normalised,
        query: put(scaleColumns(w.copy.query, d, 0, d, 1 / Math.sqrt(d))),
        key: put(w.copy.key),
        sink: put(w.copy.sink),
        sinkBias: w.copy.sinkBias,
      };
    }
    const rows = (width: number) => this.reserve(MAX_ROWS * width);
    this.scratch = {
      x: rows(d),
      h: rows(d),
      qkv: rows(3 * d),
      att: rows(d),
      up: rows(this.hidden),
      copyIn: rows(3 * d),
      copyKeys: rows(d),
      last: rows(d),
      queryIn: rows(3 * d),
      query: rows(d),
      sink: rows(4),
      logits: rows(vocab),
      scores: this.reserve(contextLength + 4),
    };
    this.positionFloats = (2 * config.nLayers + (w.copy ? 1 : 0)) * d;
  }

  /** A new, empty sequence (its slot is taken when it reads its first tokens). */
  sequence(): KvSequence {
    return { slot: { at: 0, room: 0 }, ids: [] };
  }

  /** A new sequence holding the first `length` tokens of `from` (their keys and values copied). */
  fork(from: KvSequence, length = from.ids.length): KvSequence {
    const copy = this.sequence();
    this.makeRoom(copy, length);
    this.copyRows(from.slot, copy.slot, length);
    copy.ids.push(...from.ids.slice(0, length));
    return copy;
  }

  /** Frees a sequence's slot for another. */
  release(sequence: KvSequence): void {
    this.freeSlot(sequence.slot);
  }

  /** Slots holding a sequence now: taken and not yet released. */
  get slotsInUse(): number {
    return this.taken;
  }

  /** Bytes of memory the kernels hold: weights, scratch and slots (it grows, never shrinks). */
  get memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  /**
   * Appends each feed's tokens to its sequence and returns, per feed, the next
   * token's scores [feeds, vocab]: log-probabilities with a copy head, logits without
   * (as `forward` gives them).
   */
  forward(feeds: Feed[]): Float32Array {
    const out = new Float32Array(feeds.length * this.vocab);
    for (let first = 0; first < feeds.length; ) {
      let last = first + 1;
      let rows = feeds[first].tokens.length;
      while (last < feeds.length && rows + feeds[last].tokens.length <= MAX_ROWS) rows += feeds[last++].tokens.length;
      this.pass(feeds.slice(first, last), out.subarray(first * this.vocab, last * this.vocab));
      first = last;
    }
    return out;
  }

  /** One pass over feeds of at most MAX_ROWS tokens in all. */
  private pass(feeds: Feed[], out: Float32Array): void {
    const { k, d, vocab, hidden } = this;
    const { nHeads, contextLength } = this.config;
    const s = this.scratch;
    const w = this.weights;
    const rows = feeds.flatMap(({ sequence, tokens }) => {
      if (tokens.length === 0) throw new RangeError("a feed needs at least one token");
      if (sequence.ids.length + tokens.length > contextLength) throw new RangeError(`a sequence of ${sequence.ids.length + tokens.length} tokens does not fit the context of ${contextLength}`);
      this.makeRoom(sequence, sequence.ids.length + tokens.length);
      const start = sequence.ids.length;
      sequence.ids.push(...tokens);
      return tokens.map((_, i) => ({ sequence, position: start + i }));
    });
    const n = rows.length;
    const f = this.f32;
    rows.forEach(({ sequence, position }, r) => {
      const token = sequence.ids[position];
      f.set(f.subarray((w.tokens / 4) + token * d, (w.tokens / 4) + (token + 1) * d), (s.x / 4) + r * d);
      k.addInPlace(s.x + r * d * 4, w.positions + position * d * 4, d);
    });
    const headDim = d / nHeads;
    w.blocks.forEach((block, layer) => {
      k.layerNorm(s.x, block.ln1[0], block.ln1[1], s.h, n, d);
      k.matmul(s.h, block.qkv, s.qkv, n, d, 3 * d, false);
      rows.forEach(({ sequence, position }, r) => {
        const qkv = s.qkv + r * 3 * d * 4;
        const keys = this.cacheRow(sequence.slot, 2 * layer, 0);
        k.attend(qkv, qkv + d * 4, qkv + 2 * d * 4, keys, this.cacheRow(sequence.slot, 2 * layer + 1, 0), position + 1, nHeads, headDim, sequence.slot.room * headDim, s.scores, s.att + r * d * 4);
      });
      k.matmul(s.att, block.proj, s.x, n, d, d, true);
      k.layerNorm(s.x, block.ln2[0], block.ln2[1], s.h, n, d);
      k.matmul(s.h, block.up, s.up, n, d, hidden, false);
      k.gelu(s.up, n * hidden);
      k.matmul(s.up, block.down, s.x, n, hidden, d, true);
    });
    k.layerNorm(s.x, w.lnFinal[0], w.lnFinal[1], s.h, n, d);
    if (w.copy) {
      // Each new position's copy key, from its hidden state and the two tokens before it
      rows.forEach(({ sequence, position }, r) => this.copyInput(s.copyIn, r, s.h + r * d * 4, sequence.ids, position - 1));
      k.matmul(s.copyIn, w.copy.key, s.copyKeys, n, 3 * d, d, false);
      rows.forEach(({ sequence, position }, r) => f.copyWithin(this.cacheRow(sequence.slot, 2 * this.config.nLayers, position) / 4, (s.copyKeys / 4) + r * d, (s.copyKeys / 4) + (r + 1) * d));
    }
    let end = 0;
    const lastRows = feeds.map(({ tokens }) => (end += tokens.length) - 1);
    lastRows.forEach((r, b) => f.copyWithin((s.last / 4) + b * d, (s.h / 4) + r * d, (s.h / 4) + (r + 1) * d));
    const batch = feeds.length;
    k.matmul(s.last, w.head, s.logits, batch, d, vocab, false);
    if (w.copy) this.mixCopies(feeds, w.copy);
    out.set(this.f32.subarray(s.logits / 4, (s.logits / 4) + batch * vocab));
  }

  /** Each feed's logits row becomes log(a_sink · softmax(logits) + Σ pointer mass per token), as copy-head.ts mixes them. */
  private mixCopies(feeds: Feed[], copy: NonNullable<InferenceModel["weights"]["copy"]>): void {
    const { k, d, vocab } = this;
    const s = this.scratch;
    const batch = feeds.length;
    feeds.forEach(({ sequence }, b) => this.copyInput(s.queryIn, b, s.last + b * d * 4, sequence.ids, sequence.ids.length - 1));
    k.matmul(s.queryIn, copy.query, s.query, batch, 3 * d, d, false);
    k.matmul(s.last, copy.sink, s.sink, batch, d, 1, false);
    const f = this.f32;
    feeds.forEach(({ sequence }, b) => {
      const length = sequence.ids.length;
      const scores = s.scores / 4;
      f[scores] = f[(s.sink / 4) + b] + copy.sinkBias;
      k.dots(s.query + b * d * 4, this.cacheRow(sequence.slot, 2 * this.config.nLayers, 0), length, d, d, s.scores + 4);
      k.softmax(s.scores, length + 1);
      const row = s.logits + b * vocab * 4;
      k.softmax(row, vocab);
      const at = row / 4;
      const sink = f[scores];
      for (let i = 0; i < vocab; i++) f[at + i] *= sink;
      for (let j = 0; j < length; j++) f[at + sequence.ids[j]] += f[scores + 1 + j];
      k.logFloor(row, vocab, TINY);
    });
  }

  /** Row r of a [rows, 3d] input: [hidden, normalised embeddings of ids[t] and ids[t-1]] (clamped to the first token). */
  private copyInput(base: number, r: number, hiddenRow: number, ids: number[], t: number): void {
    const { d } = this;
    const f = this.f32;
    const normalised = this.weights.copy!.normalised / 4;
    const at = (base / 4) + r * 3 * d;
    f.copyWithin(at, hiddenRow / 4, (hiddenRow / 4) + d);
    for (const [part, position] of [[1, t], [2, t - 1]]) {
      const token = ids[Math.max(0, position)];
      f.copyWithin(at + part * d, normalised + token * d, normalised + (token + 1) * d);
    }
  }

  /**
   * Byte address of row `position` of part `part` of a sequence's slot: 2l is layer
   * l's keys, 2l+1 its values (each head-major: [heads, room, head dim]), 2L the
   * copy head's keys ([room, d]).
   */
  private cacheRow(slot: Slot, part: number, position: number): number {
    return slot.at + (part * slot.room + position) * this.d * 4;
  }

  /**
   * Moves the sequence, if its slot has less room than `positions`, to one with room
   * for the next power of two (MIN_ROOM at the least, the context at the most).
   */
  private makeRoom(sequence: KvSequence, positions: number): void {
    const { slot } = sequence;
    if (positions <= slot.room) return;
    const moved = this.take(Math.min(this.config.contextLength, Math.max(MIN_ROOM, 2 ** Math.ceil(Math.log2(positions)))));
    this.copyRows(slot, moved, sequence.ids.length);
    this.freeSlot(slot);
    Object.assign(slot, moved);
  }

  /** Copies the keys and values of the first `length` positions from one slot to another (of any rooms). */
  private copyRows(from: Slot, to: Slot, length: number): void {
    const { nLayers, nHeads } = this.config;
    const headDim = this.d / nHeads;
    const move = (source: number, target: number, floats: number) => this.f32.copyWithin(target / 4, source / 4, source / 4 + floats);
    for (let part = 0; part < 2 * nLayers; part++) {
      // Head-major: each head's rows start `room` rows of head dim after the last's
      const head = (slot: Slot, h: number) => this.cacheRow(slot, part, 0) + h * slot.room * headDim * 4;
      for (let h = 0; h < nHeads; h++) move(head(from, h), head(to, h), length * headDim);
    }
    if (this.weights.copy) move(this.cacheRow(from, 2 * nLayers, 0), this.cacheRow(to, 2 * nLayers, 0), length * this.d);
  }

  /**
   * A freed slot with room for `room` positions or more (the smallest), else a new
   * one: reusing memory already written is cheaper than touching new memory.
   */
  private take(room: number): Slot {
    this.taken++;
    let best: number | undefined;
    for (const [size, free] of this.free) if (size >= room && free.length > 0 && (best === undefined || size < best)) best = size;
    if (best !== undefined) return { at: this.free.get(best)!.pop()!, room: best };
    return { at: this.reserve(room * this.positionFloats), room };
  }

  private freeSlot(slot: Slot): void {
    if (slot.room === 0) return;
    this.taken--;
    const free = this.free.get(slot.room);
    if (free) free.push(slot.at);
    else this.free.set(slot.room, [slot.at]);
  }

  /** Byte address of `floats` floats laid out next. */
  private reserve(floats: number): number {
    const at = this.top;
    this.top = align(this.top + floats * 4);
    this.grow();
    return at;
  }

  /** Grows the memory to hold `top`: by an eighth at the least, as slots come one at a time and each grow may cost V8 a full garbage collection. */
  private grow(): void {
    const { memory } = this.k;
    const size = memory.buffer.byteLength;
    if (this.top > size) memory.grow(Math.ceil(Math.max(this.top - size, size / 8) / PAGE));
    this.refresh();
  }

  private refresh(): void {
    if (this.f32?.buffer !== this.k.memory.buffer) this.f32 = new Float32Array(this.k.memory.buffer);
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** [rows, cols] -> [cols, rows]. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/** A copy of a row-major matrix of `width` columns with columns [from, from+count) multiplied by `factor`. */
function scaleColumns(m: Float32Array, width: number, from: number, count: number, factor: number): Float32Array {
  const scaled = Float32Array.from(m);
  for (let r = 0; r < m.length / width; r++) for (let c = from; c < from + count; c++) scaled[r * width + c] *= factor;
  return scaled;
}
