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
import { attendCached, causalSelfAttention, paddingBias, promptCache, type LayerCache } from "./attention.ts";
import { cachedValues, copyMixtureCached, copyProjections, leftPadded, tokensBack, type CopyCache } from "./copy.ts";
import { outputHead, pack, transformer, type Attend, type LanguageModel } from "./model.ts";
import { Random } from "../random.ts";
import { sampleToken } from "./sampling.ts";
import { TextStream, type Tokenizer } from "./tokenizer.ts";

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
});
export type GenerateOptions = z.infer<typeof GenerateOptions>;
export type GenerateOptionsInput = z.input<typeof GenerateOptions>;

/**
 * Given the tokens a sequence has written so far, the tokens it may write next (1
 * each), or undefined for any: decoding under a grammar. Called once per step, with
 * one token more each time.
 */
export type TokenConstraint = (written: readonly number[]) => Uint8Array | undefined;

export interface Generation {
  /** The new text, cut before the first stop string (never containing `eos`). */
  text: string;
  /** Every token sampled, including an `eos` or the tokens that completed a stop string. */
  tokens: number[];
  /** log p of each of those tokens under the model (temperature 1), as `tokenLogprobs` gives them. */
  logprobs: number[];
  finishReason: "stop" | "length";
  /** Tokens of prompt the model saw (after truncation, with `bos`). */
  promptTokens: number;
}

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

/** Continues prompts given as token ids, for callers that assemble them (`bos` is theirs to add). */
export async function generateTokens(
  model: LanguageModel,
  tokenizer: Tokenizer,
  prompts: number[][],
  options: GenerateOptionsInput = {},
): Promise<Generation[]> {
  const o = GenerateOptions.parse(options);
  const { contextLength } = model.config;
  if (model.config.vocabSize !== tokenizer.vocabSize) {
    throw new UserError(`the model expects ${model.config.vocabSize} tokens but the tokenizer has ${tokenizer.vocabSize}: they do not belong together`);
  }
  if (o.maxNewTokens >= contextLength) {
    throw new UserError(`maxNewTokens (${o.maxNewTokens}) must be less than the model's context length (${contextLength})`);
  }
  if (prompts.length === 0) return [];
  const promptIds = prompts.map((ids) => ids.slice(-(contextLength - o.maxNewTokens)));
  for (const [name, perPrompt] of [["stream keys", o.streamKeys], ["constraints", o.constraints]] as const) {
    if (perPrompt && perPrompt.length !== prompts.length) throw new RangeError(`${perPrompt.length} ${name} for ${prompts.length} prompts`);
  }
  const stream = (i: number) => (o.streamKeys ? Random.forKey(o.seed, o.streamKeys[i]) : Random.forItem(o.seed, i));
  const sequences = promptIds.map((ids, i) => new Sequence(tokenizer, ids, stream(i)));

  // Transposed once for all steps when tied to the token embedding
  const head = outputHead(model);
  let { cache, logits } = prefill(model, head, promptIds);
  try {
    for (let step = 0; ; step++) {
      // data(), not dataSync(): the one read tfjs's WebGPU backend has in Node
      const rows = (await logits.data()) as Float32Array;
      logits.dispose();
      const next = sequences.map((seq, i) => {
        if (seq.finishReason) return tokenizer.eos; // finished rows still ride along; their output is ignored
        const row = rows.subarray(i * model.config.vocabSize, (i + 1) * model.config.vocabSize);
        const sampled = sampleToken(row, o.temperature, o.topP, seq.random, o.constraints?.[i](seq.tokens));
        seq.add(sampled.token, sampled.logprob, o.stop);
        return sampled.token;
      });
      if (step + 1 === o.maxNewTokens || sequences.every((s) => s.finishReason)) break;
      const positions = sequences.map((seq) => seq.promptTokens + step);
      const written = { tokens: sequences.map((seq, i) => [...promptIds[i], ...seq.tokens]), promptLengths: promptIds.map((ids) => ids.length) };
      const stepped = decodeStep(model, head, cache, next, positions, written);
      disposeNewEntries(cache);
      ({ cache, logits } = stepped);
      await setImmediate(); // let a server answer other requests between steps
    }
  } finally {
    disposeNewEntries(cache);
    tf.dispose([cache.paddingBias, ...cache.layers.flatMap((l) => [l.promptKeys, l.promptValues])]);
    if (cache.copy) tf.dispose([cache.copy.promptKeys, cache.copy.promptBias]);
    if (head !== model.head) head.dispose();
  }
  return sequences.map((seq) => seq.result());
}

/**
 * Runs the prompts through the model: the cache, and the logits for each prompt's
 * next token. Identical prompts (k samples of one question) run through it once and
 * share their cache rows.
 */
function prefill(model: LanguageModel, head: tf.Tensor2D, prompts: number[][]): Stepped {
  return keepAll(() => {
    const keys = prompts.map((ids) => ids.join(","));
    const distinct = [...new Set(keys)];
    const source = keys.map((key) => distinct.indexOf(key));
    const { lengths, tokens, positions } = pack(model.config, distinct.map((key) => prompts[keys.indexOf(key)]));
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
      const values = cachedValues(distinct.map((key) => prompts[keys.indexOf(key)]), lengths, slots, 0);
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

/** tf.tidy for a step, whose result holds optional parts that tidy's types do not allow. */
function keepAll(step: () => Stepped): Stepped {
  return tf.tidy(step as () => never);
}

/** Each sequence's tokens so far (prompt, then generated, the fed one last), for the copy head's values. */
type Written = { tokens: number[][]; promptLengths: number[] };

/** Frees the keys and values of generated tokens (a step replaces them with longer ones). */
function disposeNewEntries(cache: KvCache): void {
  tf.dispose([...cache.layers.flatMap((l) => [l.newKeys, l.newValues]), cache.copy?.newKeys].filter((t) => t !== undefined));
}

/** One sequence being generated: its tokens so far, its text, and whether it has finished. */
class Sequence {
  readonly tokens: number[] = [];
  readonly logprobs: number[] = [];
  finishReason?: "stop" | "length";
  private text = "";
  private readonly stream: TextStream;

  readonly promptTokens: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    prompt: readonly number[],
    readonly random: Random,
  ) {
    this.promptTokens = prompt.length;
    this.stream = new TextStream(tokenizer, prompt);
  }

  add(token: number, logprob: number, stops: string[]): void {
    this.tokens.push(token);
    this.logprobs.push(logprob);
    if (token === this.tokenizer.eos) {
      this.text += this.stream.end();
      this.finishReason = "stop";
      return;
    }
    this.text += this.stream.push(token);
    const cut = Math.min(...stops.map((s) => this.text.indexOf(s)).filter((at) => at >= 0));
    if (Number.isFinite(cut)) {
      this.text = this.text.slice(0, cut);
      this.finishReason = "stop";
    }
  }

  result(): Generation {
    const text = this.finishReason ? this.text : this.text + this.stream.end();
    return { text, tokens: this.tokens, logprobs: this.logprobs, finishReason: this.finishReason ?? "length", promptTokens: this.promptTokens };
  }
}
