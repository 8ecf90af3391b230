/**
 * Batched generation with a key/value cache. The prompts, of any lengths, run
 * through the model once (packed, as in training), which leaves each layer's keys
 * and values in a cache; then every step feeds one new token per sequence and
 * attends over that cache, so no step re-reads a whole context.
 *
 * A prompt longer than the context allows (contextLength - maxNewTokens) keeps its
 * most recent tokens and drops the oldest, `bos` first, so the prompt's end, where
 * the next step is asked for, stays.
 *
 * The whole batch runs until its last sequence finishes (finished ones ride along),
 * and memory grows with its total prompt tokens: the caller picks the batch size.
 */
import { setImmediate } from "node:timers/promises";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { attendAfterPrefix, attendCached, causalSelfAttention, leftPaddedCache, paddingBias, promptCache, type LayerCache, type SequenceKv } from "./attention.ts";
import { cachedValues, copyMixtureCached, copyProjections, leftPadded, tokensBack, tokensBackAfter, type CopyCache } from "./copy-head.ts";
import { outputHead, pack, transformer, type Attend, type LanguageModel, type ModelConfig } from "./model.ts";
import { ContinuousBatch } from "./continuous.ts";
import { InferenceModel, type KvSequence } from "./inference.ts";
import { PrefixCache, type CachedSequence, type PrefixMatch } from "./prefix-cache.ts";
import { Random } from "../random.ts";
import { addStats, emptyGenerationStats, Sequence, type Generation, type GenerationStats, type SequenceSampling, type TokenConstraint } from "./sequence.ts";
import type { Tokenizer } from "./tokenizer.ts";

export const GenerateOptions = z.object({
  maxNewTokens: z.number().int().positive().default(64),
  /** 0 is greedy decoding. */
  temperature: z.number().min(0).default(1),
  topP: z.number().gt(0).max(1).default(1),
  /** Sequence i draws from its own stream of this seed, so a batch reproduces exactly. */
  seed: z.number().int().default(0),
  /** One key per prompt: sequence i draws from the stream of (seed, keys[i]) instead, whatever batch it is in. */
  streamKeys: z.array(z.string()).optional(),
  /** Generation ends once the new text contains one of these; the text is cut where it begins. */
  stop: z.array(z.string().min(1)).default([]),
  /** One per prompt: which tokens sequence i may write next (see TokenConstraint). */
  constraints: z.array(z.custom<TokenConstraint>((c) => typeof c === "function")).optional(),
  /**
   * Sequences read before: each prompt is read only after its longest cached
   * prefix, and every sequence is kept there once written (prompt and tokens).
   */
  cache: z.custom<PrefixCache<CachedSequence> | PrefixCache<KvSequence>>((c) => c instanceof PrefixCache).optional(),
  /**
   * A running batch of the kernels to join (its model and prefix cache are used,
   * `cache` is not): concurrent calls then share its passes. Its own `stats` count
   * its work; this call's `stats` get only the call.
   */
  batch: z.instanceof(ContinuousBatch).optional(),
  /** Finished sequences leave the batch (their cache rows are dropped), so later steps compute only the rest. */
  compactBatch: z.boolean().default(true),
  /** Where the time goes, added to across calls. */
  stats: z.custom<GenerationStats>((s) => typeof s === "object" && s !== null).optional(),
});
export type GenerateOptions = z.infer<typeof GenerateOptions>;
export type GenerateOptionsInput = z.input<typeof GenerateOptions>;

/** The whole cache: each layer's, the bias that hides each sequence's left padding, and the copy head's. */
type KvCache = {
  layers: LayerCache[];
  paddingBias: tf.Tensor3D;
  copy?: CopyCache;
};

/** Continues every prompt at once (each encoded after `bos`); the result i belongs to prompt i. */
export function generate(model: LanguageModel, tokenizer: Tokenizer, prompts: string[], options: GenerateOptionsInput = {}): Promise<Generation[]> {
  return generateTokens(model, tokenizer, prompts.map((p) => [tokenizer.bos, ...tokenizer.encode(p)]), options);
}

/**
 * Continues prompts given as token ids, for callers that assemble them (`bos` is
 * theirs to add): on tfjs with a LanguageModel, or on the WebAssembly kernels with
 * an InferenceModel (whose `cache` then holds KvSequences).
 */
export async function generateTokens(
  model: LanguageModel | InferenceModel,
  tokenizer: Tokenizer,
  prompts: number[][],
  options: GenerateOptionsInput = {},
): Promise<Generation[]> {
  const o = GenerateOptions.parse(options);
  checkGeneration(model.config, tokenizer, o.maxNewTokens);
  if (prompts.length === 0) return [];
  for (const [name, perPrompt] of [["stream keys", o.streamKeys], ["constraints", o.constraints]] as const) {
    if (perPrompt && perPrompt.length !== prompts.length) throw new RangeError(`${perPrompt.length} ${name} for ${prompts.length} prompts`);
  }
  const promptIds = prompts.map((ids) => ids.slice(-(model.config.contextLength - o.maxNewTokens)));
  const samplings = promptIds.map((_, i): SequenceSampling => ({
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    topP: o.topP,
    stop: o.stop,
    random: o.streamKeys ? Random.forKey(o.seed, o.streamKeys[i]) : Random.forItem(o.seed, i),
    constraint: o.constraints?.[i],
  }));
  const stats = emptyGenerationStats();
  let generations: Generation[];
  if (model instanceof InferenceModel) {
    const batch = o.batch ?? new ContinuousBatch(model, tokenizer, { maxBatch: prompts.length, cache: o.cache as PrefixCache<KvSequence> | undefined });
    generations = await Promise.all(promptIds.map((ids, i) => batch.generate(ids, samplings[i])));
    if (!o.batch) addStats(stats, batch.stats);
  } else {
    const sequences = promptIds.map((ids, i) => new Sequence(tokenizer, ids, samplings[i]));
    await decodeOnTfjs(model, promptIds, sequences, o, stats);
    generations = sequences.map((seq) => seq.result());
    stats.promptTokens = promptIds.reduce((n, ids) => n + ids.length, 0);
    stats.generatedTokens = generations.reduce((n, g) => n + g.tokens.length, 0);
  }
  if (o.stats) addStats(o.stats, { ...stats, calls: 1 });
  return generations;
}

/** Refuses a model and tokenizer that do not belong together, or more new tokens than the context holds. */
function checkGeneration(config: ModelConfig, tokenizer: Tokenizer, maxNewTokens: number): void {
  if (config.vocabSize !== tokenizer.vocabSize) {
    throw new UserError(`the model expects ${config.vocabSize} tokens but the tokenizer has ${tokenizer.vocabSize}: they do not belong together`);
  }
  if (maxNewTokens >= config.contextLength) {
    throw new UserError(`maxNewTokens (${maxNewTokens}) must be less than the model's context length (${config.contextLength})`);
  }
}

/** Generation on tfjs: the prompts prefilled into a padded key/value cache, then one batched step per token. */
async function decodeOnTfjs(model: LanguageModel, promptIds: number[][], sequences: Sequence[], o: GenerateOptions, stats: GenerationStats): Promise<void> {
  const { tokenizer } = sequences[0];
  const vocab = model.config.vocabSize;
  const cache0 = o.cache as PrefixCache | undefined;
  // Transposed once for all steps when tied to the token embedding
  const head = outputHead(model);
  const started = performance.now();
  const matches = promptIds.map((ids) => cache0?.match(ids));
  const prefilled: Prefilled = cache0 ? prefillAfter(model, head, promptIds, matches) : prefill(model, head, promptIds);
  let { cache, logits } = prefilled;
  const prefillMs = performance.now() - started;
  // The sequence in each row of the batch: finished ones leave it (compactBatch) or ride along
  let active = sequences.map((_, i) => i);
  const keep = (rows: number[], fed: number) => {
    if (cache0 && prefilled.read) remember(cache0, prefilled.read, cache, rows.map((row) => ({ row, sequence: active[row] })), promptIds, sequences, fed, model.config.nHeads);
  };
  try {
    for (let step = 0; ; step++) {
      // data(), not dataSync(): the one read tfjs's WebGPU backend has in Node
      const rows = (await logits.data()) as Float32Array;
      logits.dispose();
      // A finished row riding along feeds eos: its output is ignored
      let next = active.map((i, row) => (sequences[i].finishReason ? tokenizer.eos : sequences[i].sample(rows.subarray(row * vocab, (row + 1) * vocab))));
      if (sequences.every((s) => s.done)) {
        stats.passes += step + 1;
        keep(active.map((_, row) => row), step);
        break;
      }
      const finished = active.flatMap((i, row) => (sequences[i].finishReason ? [row] : []));
      // Compacting copies the whole cache: worth it once half the rows are done
      if (o.compactBatch && finished.length >= active.length / 2) {
        keep(finished, step);
        const staying = active.flatMap((i, row) => (sequences[i].finishReason ? [] : [row]));
        cache = compacted(cache, staying, model.config.nHeads);
        next = staying.map((row) => next[row]);
        active = staying.map((row) => active[row]);
      }
      const positions = active.map((i) => sequences[i].promptTokens + step);
      const written = { tokens: active.map((i) => [...promptIds[i], ...sequences[i].tokens]), promptLengths: active.map((i) => promptIds[i].length) };
      const stepped = decodeStep(model, head, cache, next, positions, written);
      disposeNewEntries(cache);
      ({ cache, logits } = stepped);
      await setImmediate(); // let a server answer other requests between steps
    }
  } finally {
    disposeNewEntries(cache);
    tf.dispose([cache.paddingBias, ...cache.layers.flatMap((l) => [l.promptKeys, l.promptValues])]);
    if (cache.copy) tf.dispose([cache.copy.promptKeys, cache.copy.promptBias]);
    if (prefilled.read) tf.dispose(prefilled.read.sequences.flatMap(sequenceTensors));
    if (head !== model.head) head.dispose();
  }
  // Identical prompts are read once
  stats.readTokens += distinctPrompts(promptIds).distinct.reduce((n, i) => n + promptIds[i].length - (matches[i]?.length ?? 0), 0);
  stats.prefillMs += prefillMs;
  stats.decodeMs += performance.now() - started - prefillMs;
}

/** What prefill read of a distinct prompt: each layer's keys and values through its end, and the copy head's keys. */
type ReadSequence = { layers: SequenceKv[]; copyKeys?: tf.Tensor2D };

function sequenceTensors(read: ReadSequence): tf.Tensor[] {
  return [...read.layers.flatMap((l) => [l.keys, l.values]), ...(read.copyKeys ? [read.copyKeys] : [])];
}

/**
 * Prefill that reads each prompt only after its cached prefix (`matches`).
 * Identical prompts (k samples of one question) are read once. Also returns what
 * was read, per distinct prompt, for the cache to keep.
 */
function prefillAfter(model: LanguageModel, head: tf.Tensor2D, prompts: number[][], matches: (PrefixMatch | undefined)[]): Prefilled {
  return keepAll(() => {
    const { distinct, source } = distinctPrompts(prompts);
    const starts = distinct.map((u) => matches[u]?.length ?? 0);
    const rows = distinct.map((u) => prompts[u]);
    const lengths = rows.map((ids, i) => ids.length - starts[i]);
    const positions = Int32Array.from(rows.flatMap((ids, i) => ids.slice(starts[i]).map((_, t) => starts[i] + t)));
    const prefix = (i: number, pick: (e: CachedSequence) => tf.Tensor3D | tf.Tensor2D | undefined) => {
      const match = matches[distinct[i]];
      const t = match && pick(match.entry);
      return t && (t.rank === 3 ? tf.slice(t, [0, 0, 0], [-1, match.length, -1]) : tf.slice(t, [0, 0], [match.length, -1]));
    };
    const layers: SequenceKv[][] = [];
    const attend: Attend = (layer, qkv) => {
      const prefixes = rows.map((_, i) => {
        const keys = prefix(i, (e) => e.layers[layer].keys) as tf.Tensor3D | undefined;
        return keys && { keys, values: prefix(i, (e) => e.layers[layer].values) as tf.Tensor3D };
      });
      const attended = attendAfterPrefix(qkv, lengths, prefixes, model.config.nHeads);
      layers[layer] = attended.sequences;
      return attended.out;
    };
    const hidden = transformer(model, Int32Array.from(rows.flatMap((ids, i) => ids.slice(starts[i]))), positions, attend);
    let end = 0;
    const lastRows = lengths.map((n) => (end += n) - 1);
    const pick = (t: tf.Tensor2D) => tf.gather(t, lastRows) as tf.Tensor2D;
    let logits = tf.matMul<tf.Tensor2D>(pick(hidden), head);
    const promptLengths = source.map((u) => rows[u].length);
    const slots = Math.max(...promptLengths);
    const cacheOf = (seqs: SequenceKv[]) => leftPaddedCache(source.map((u) => seqs[u]), slots);
    let copy: CopyCache | undefined;
    let copyKeys: tf.Tensor2D[] | undefined;
    if (model.copy) {
      const projected = copyProjections(model.copy, model.tokenEmbedding, hidden, tokensBackAfter(rows, starts));
      const newKeys = lengths.map((n, i) => rowsOf(projected.keys, lastRows[i] - n + 1, n));
      copyKeys = newKeys.map((keys, i) => (starts[i] > 0 ? (tf.concat([prefix(i, (e) => e.copyKeys) as tf.Tensor2D, keys], 0) as tf.Tensor2D) : keys));
      const promptKeys = leftPadded(tf.concat(source.map((u) => copyKeys![u]), 0) as tf.Tensor2D, promptLengths, slots);
      copy = { promptKeys, promptBias: paddingBias(promptLengths, 1) };
      const queries = tf.gather(pick(projected.queries), source);
      logits = copyMixtureCached(queries, tf.gather(pick(projected.sink), source), copy, cachedValues(source.map((u) => rows[u]), promptLengths, slots, 0), tf.gather(logits, source));
    } else {
      logits = tf.gather(logits, source);
    }
    return {
      cache: { layers: layers.map(cacheOf), paddingBias: paddingBias(promptLengths, model.config.nHeads), copy },
      logits,
      read: { sequences: rows.map((_, i) => ({ layers: layers.map((l) => l[i]), copyKeys: copyKeys?.[i] })), source },
    };
  });
}

/** `count` rows of a 2-D tensor from `first`, gathered (on WASM a slice copies its whole input). */
function rowsOf(t: tf.Tensor2D, first: number, count: number): tf.Tensor2D {
  return tf.gather(t, tf.range(first, first + count, 1, "int32"));
}

/** Each prompt's index among the distinct ones, and the first prompt of each. */
function distinctPrompts(prompts: number[][]): { distinct: number[]; source: number[] } {
  const keys = prompts.map((ids) => ids.join(","));
  const first = new Map<string, number>();
  const distinct: number[] = [];
  const source = keys.map((key, i) => {
    if (!first.has(key)) {
      first.set(key, distinct.length);
      distinct.push(i);
    }
    return first.get(key)!;
  });
  return { distinct, source };
}

/**
 * Keeps every sequence in the prefix cache as the model last read it: the prompt,
 * then the tokens fed back (all but the last one written).
 */
function remember(
  prefixes: PrefixCache,
  prefilled: NonNullable<Prefilled["read"]>,
  cache: KvCache,
  rows: { row: number; sequence: number }[],
  prompts: number[][],
  sequences: Sequence[],
  fed: number,
  nHeads: number,
): void {
  rows.forEach(({ row: b, sequence }) => {
    const seq = sequences[sequence];
    const kept = Math.min(seq.tokens.length, fed);
    const read = prefilled.sequences[prefilled.source[sequence]];
    // The first `kept` written entries of `count` cache rows from `first`, gathered: on WASM a slice copies its whole input
    const grown = (prompt: tf.Tensor3D, written: tf.Tensor3D | undefined, first: number, count: number) => {
      if (kept === 0 || !written) return prompt.clone();
      const [, slots, width] = written.shape;
      const rows = Array.from({ length: count * kept }, (_, i) => (first + Math.floor(i / kept)) * slots + (i % kept));
      const picked = tf.reshape(tf.gather(tf.reshape(written, [-1, width]), rows), [count, kept, width]);
      return tf.concat([prompt, picked], 1) as tf.Tensor3D;
    };
    const entry = tf.tidy(() => ({
      ids: [...prompts[sequence], ...seq.tokens.slice(0, kept)],
      layers: read.layers.map((l, layer) => ({
        keys: grown(l.keys, cache.layers[layer].newKeys, b * nHeads, nHeads),
        values: grown(l.values, cache.layers[layer].newValues, b * nHeads, nHeads),
      })),
      copyKeys: read.copyKeys && (tf.squeeze(grown(tf.expandDims(read.copyKeys, 0) as tf.Tensor3D, cache.copy?.newKeys, b, 1), [0]) as tf.Tensor2D),
    }));
    prefixes.add(entry);
  });
}

/**
 * Runs the prompts through the model: the cache, and the logits for each prompt's
 * next token. Identical prompts (k samples of one question) run through it once and
 * share their cache rows.
 */
function prefill(model: LanguageModel, head: tf.Tensor2D, prompts: number[][]): Stepped {
  return keepAll(() => {
    const { distinct, source } = distinctPrompts(prompts);
    const rows = distinct.map((u) => prompts[u]);
    const { lengths, tokens, positions } = pack(model.config, rows);
    const { nHeads } = model.config;
    const layers: LayerCache[] = [];
    const attend: Attend = (layer, qkv) => {
      layers[layer] = promptCache(qkv, lengths, nHeads);
      return causalSelfAttention(qkv, lengths, nHeads);
    };
    const hidden = transformer(model, tokens, positions, attend);
    let end = 0;
    const lastRows = lengths.map((n) => [(end += n) - 1]);
    const last = <T extends tf.Tensor>(t: T) => tf.gatherND(t, lastRows) as tf.Tensor2D;
    let logits = tf.matMul<tf.Tensor2D>(last(hidden), head);
    // Each prompt's rows (B*H of them in the cache, one per head) copied from its distinct prompt's
    const headRows = source.flatMap((u) => Array.from({ length: nHeads }, (_, h) => [u * nHeads + h]));
    const expand = (t: tf.Tensor3D) => tf.gatherND(t, headRows) as tf.Tensor3D;
    let copy: CopyCache | undefined;
    if (model.copy) {
      const slots = Math.max(...lengths);
      const projected = copyProjections(model.copy, model.tokenEmbedding, hidden, tokensBack(tokens, lengths));
      const promptKeys = leftPadded(projected.keys, lengths, slots);
      const values = cachedValues(rows, lengths, slots, 0);
      const distinctCache = { promptKeys, promptBias: paddingBias(lengths, 1) };
      logits = copyMixtureCached(last(projected.queries), last(projected.sink), distinctCache, values, logits);
      copy = { promptKeys: tf.gather(promptKeys, source), promptBias: tf.gather(distinctCache.promptBias, source) };
    }
    return {
      cache: {
        layers: layers.map((l) => ({ promptKeys: expand(l.promptKeys), promptValues: expand(l.promptValues) })),
        paddingBias: paddingBias(source.map((u) => lengths[u]), nHeads),
        copy,
      },
      logits: tf.gatherND(logits, source.map((u) => [u])) as tf.Tensor2D,
    };
  });
}

/**
 * Feeds one token per sequence at the given positions; returns the grown cache and the
 * next logits.
 */
function decodeStep(model: LanguageModel, head: tf.Tensor2D, cache: KvCache, tokens: number[], positions: number[], written: Written): Stepped {
  return keepAll(() => {
    const layers: LayerCache[] = [];
    const attend: Attend = (layer, qkv) => {
      const attended = attendCached(qkv, model.config.nHeads, cache.layers[layer], cache.paddingBias);
      layers[layer] = attended.cache;
      return attended.out;
    };
    const fed = Int32Array.from(tokens);
    const hidden = transformer(model, fed, Int32Array.from(positions), attend);
    const logits = tf.matMul<tf.Tensor2D>(hidden, head);
    if (!model.copy || !cache.copy) return { cache: { layers, paddingBias: cache.paddingBias }, logits };
    const before = (k: number) => Int32Array.from(written.tokens, (ids) => ids.at(-1 - k) ?? ids[0]);
    const { queries, keys, sink } = copyProjections(model.copy, model.tokenEmbedding, hidden, [fed, before(1), before(2)]);
    const { promptKeys, promptBias, newKeys } = cache.copy;
    // The fed position's own key joins first: a position may point at itself
    const appended = tf.expandDims(keys, 1) as tf.Tensor3D;
    const copy = { promptKeys, promptBias, newKeys: newKeys ? tf.concat([newKeys, appended], 1) : appended };
    const values = cachedValues(written.tokens, written.promptLengths, promptKeys.shape[1], copy.newKeys.shape[1]);
    return { cache: { layers, paddingBias: cache.paddingBias, copy }, logits: copyMixtureCached(queries, sink, copy, values, logits) };
  });
}

type Stepped = { cache: KvCache; logits: tf.Tensor2D };
/** A prefill's cache and logits, and, reading after cached prefixes, what it read of each distinct prompt. */
type Prefilled = Stepped & { read?: { sequences: ReadSequence[]; source: number[] } };

/** tf.tidy for a step, whose result holds optional parts that tidy's types do not allow. */
function keepAll<T extends Prefilled>(step: () => T): T {
  return tf.tidy(step as () => never);
}

/** Each sequence's tokens so far (prompt, then generated, the fed one last), for the copy head's values. */
type Written = { tokens: number[][]; promptLengths: number[] };

/** The cache of the batch rows `rows` only (all of it, freeing the old). */
function compacted(cache: KvCache, rows: number[], nHeads: number): KvCache {
  const headRows = rows.flatMap((row) => Array.from({ length: nHeads }, (_, h) => row * nHeads + h));
  const pick = <T extends tf.Tensor>(t: T, index: number[]) => tf.gather(t, index) as T;
  const next: KvCache = tf.tidy(() => ({
    layers: cache.layers.map((l) => ({
      promptKeys: pick(l.promptKeys, headRows),
      promptValues: pick(l.promptValues, headRows),
      newKeys: l.newKeys && pick(l.newKeys, headRows),
      newValues: l.newValues && pick(l.newValues, headRows),
    })),
    paddingBias: pick(cache.paddingBias, headRows),
    copy: cache.copy && {
      promptKeys: pick(cache.copy.promptKeys, rows),
      promptBias: pick(cache.copy.promptBias, rows),
      newKeys: cache.copy.newKeys && pick(cache.copy.newKeys, rows),
    },
  }) as never);
  disposeNewEntries(cache);
  tf.dispose([cache.paddingBias, ...cache.layers.flatMap((l) => [l.promptKeys, l.promptValues])]);
  if (cache.copy) tf.dispose([cache.copy.promptKeys, cache.copy.promptBias]);
  return next;
}

/** Frees the keys and values of generated tokens (a step replaces them with longer ones). */
function disposeNewEntries(cache: KvCache): void {
  tf.dispose([...cache.layers.flatMap((l) => [l.newKeys, l.newValues]), cache.copy?.newKeys].filter((t) => t !== undefined));
}
