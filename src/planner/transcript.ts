import type { Tokenizer } from "../lm/index.ts";
import type { PromptTemplate } from "../../prompts/index.ts";
import type { Trajectory } from "../../trajectories/schema.ts";
import { policyContinuation } from "../../trajectories/transcript.ts";
import { renderPrompt } from "../agent/prompt.ts";

/**
 * How the embedded planner reads and writes a ReAct transcript as tokens.
 *
 * What the policy writes in a step (` thought\nAction k: Name[arg]`, after the
 * runtime's `Thought k:` label) is encoded on its own and closed by `eos`: the
 * model learns to end its turn, and generation stops there. Everything else (the
 * instruction, the question, labels, observations) is the runtime's text. The same
 * split is applied to a prompt at inference and to a whole episode in training,
 * so the model always sees the very token sequence it was trained on.
 */

/** A policy turn: the text after `Thought k:` through the end of its `Action k:` line. */
const POLICY_TURN = /(?<=Thought (\d+):)([\s\S]*?\nAction \1: [^\n]*)/g;

export interface TokenSequence {
  ids: number[];
  /** 1 where the policy wrote the token (its turns and their closing `eos`), 0 elsewhere. */
  mask: number[];
}

/** Tokens of a transcript, `bos` first; an open `Thought k:` at the end leaves the next turn to the model. */
export function transcriptTokens(text: string, tokenizer: Tokenizer): TokenSequence {
  const ids = [tokenizer.bos];
  const mask = [0];
  // One at a time: spreading a long prompt's tokens into push() would overflow the stack.
  const push = (tokens: number[], byPolicy: boolean) => {
    for (const id of tokens) {
      ids.push(id);
      mask.push(byPolicy ? 1 : 0);
    }
  };
  let at = 0;
  for (const turn of text.matchAll(POLICY_TURN)) {
    push(tokenizer.encode(text.slice(at, turn.index)), false);
    push([...tokenizer.encode(turn[0]), tokenizer.eos], true);
    at = turn.index + turn[0].length;
  }
  push(tokenizer.encode(text.slice(at)), false);
  return { ids, mask };
}

/**
 * What a model with room for `window` prompt tokens (at least 1) sees of a prompt: the
 * last `window` tokens of its `transcriptTokens`, with their mask, and whether any were left out. Only the end of the text that holds
 * them is read, so a prompt far longer than the context costs no more to read than one
 * that fills it.
 *
 * A token stands for at most `maxTokenBytes` bytes of text and a character for at least
 * one, so `window * maxTokenBytes` characters hold `window` tokens or more; twice as many
 * are read. The tokens where the text is cut can differ from the whole text's, but they
 * lie that far before the end, out of sight, unless one word or one policy turn runs
 * across the cut into the last `window` tokens.
 */
export function promptTokens(text: string, tokenizer: Tokenizer, window: number): TokenSequence & { cut: boolean } {
  if (!(window >= 1)) throw new RangeError(`a prompt window of ${window} tokens holds nothing`);
  const read = 2 * window * tokenizer.maxTokenBytes;
  const { ids, mask } = transcriptTokens(text.length > read ? text.slice(-read) : text, tokenizer);
  return { ids: ids.slice(-window), mask: mask.slice(-window), cut: text.length > read || ids.length > window };
}

/** An episode's text as the planner saw and wrote it, up to its last action. */
export function episodeText(trajectory: Pick<Trajectory, "question" | "steps">, template: PromptTemplate): string {
  const { question, steps } = trajectory;
  const before = renderPrompt(template, question, steps.slice(0, -1), Math.max(1, steps.length));
  const last = steps.at(-1);
  return last ? before + policyContinuation(last, steps.length) : before;
}

/** The tokens of a whole episode, for training on it. */
export function episodeTokens(trajectory: Pick<Trajectory, "question" | "steps">, template: PromptTemplate, tokenizer: Tokenizer): TokenSequence {
  return transcriptTokens(episodeText(trajectory, template), tokenizer);
}
