/**
 * One sequence being generated, whichever engine computes its scores: its tokens
 * and their logprobs, its text, and when it is done. Also the types every
 * generator shares.
 */
import type { Random } from "../random.ts";
import { sampleToken } from "./sampling.ts";
import { TextStream, type Tokenizer } from "./tokenizer.ts";

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

/** Work and time of generation, summed over the calls that were given it. */
export interface GenerationStats {
  calls: number;
  /** Prompt tokens asked for, and those actually read (the rest came from a prefix cache). */
  promptTokens: number;
  readTokens: number;
  generatedTokens: number;
  /** Forward passes that sampled a token for each sequence in them: generatedTokens / passes is the mean batch. */
  passes: number;
  prefillMs: number;
  decodeMs: number;
}

export function emptyGenerationStats(): GenerationStats {
  return { calls: 0, promptTokens: 0, readTokens: 0, generatedTokens: 0, passes: 0, prefillMs: 0, decodeMs: 0 };
}

/** Adds `call`'s figures into `total`. */
export function addStats(total: GenerationStats, call: GenerationStats): void {
  for (const key of Object.keys(total) as (keyof GenerationStats)[]) total[key] += call[key];
}

/** How one sequence samples: the options of generateTokens that apply to each sequence alone. */
export interface SequenceSampling {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  random: Random;
  constraint?: TokenConstraint;
}

/** One sequence being generated: its tokens so far, its text, and whether it has finished. */
export class Sequence {
  readonly tokens: number[] = [];
  readonly logprobs: number[] = [];
  finishReason?: "stop" | "length";
  private text = "";
  private readonly stream: TextStream;

  readonly promptTokens: number;

  constructor(
    readonly tokenizer: Tokenizer,
    prompt: readonly number[],
    readonly sampling: SequenceSampling,
  ) {
    this.promptTokens = prompt.length;
    this.stream = new TextStream(tokenizer, prompt);
  }

  /** Whether the sequence has stopped or written its maxNewTokens. */
  get done(): boolean {
    return this.finishReason !== undefined || this.tokens.length >= this.sampling.maxNewTokens;
  }

  /** Samples the next token from the model's scores for it (its row of logits or log-probabilities). */
  sample(scores: Float32Array): number {
    const { temperature, topP, random, constraint } = this.sampling;
    const sampled = sampleToken(scores, temperature, topP, random, constraint?.(this.tokens));
    this.add(sampled.token, sampled.logprob);
    return sampled.token;
  }

  private add(token: number, logprob: number): void {
    this.tokens.push(token);
    this.logprobs.push(logprob);
    if (token === this.tokenizer.eos) {
      this.text += this.stream.end();
      this.finishReason = "stop";
      return;
    }
    this.text += this.stream.push(token);
    const cut = Math.min(...this.sampling.stop.map((s) => this.text.indexOf(s)).filter((at) => at >= 0));
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
