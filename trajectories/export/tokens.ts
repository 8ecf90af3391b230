import { Tokenizer as HuggingFaceTokenizer } from "@huggingface/tokenizers";
import type { Trajectory } from "../schema.ts";
import type { TokenRecord } from "./schema.ts";
import { headText, observationLine, policyContinuation, questionLine, thoughtLabel, type PromptHead } from "../transcript.ts";

/** Anything that turns text into token ids: the trainer's own tokenizer, or `byteTokenizer`. */
export interface TokenEncoder {
  encode(text: string): number[];
}

const utf8 = new TextEncoder();

/** UTF-8 bytes as token ids (0-255): needs no vocabulary, and any text round-trips. */
export const byteTokenizer: TokenEncoder = { encode: (text) => Array.from(utf8.encode(text)) };

/**
 * A Hugging Face tokenizer, from its `tokenizer.json` (and `tokenizer_config.json`,
 * where the model has one), with no special tokens added: each stretch of a record
 * is encoded on its own, and a trainer adds its model's own (BOS, chat template).
 */
export function huggingFaceEncoder(tokenizerJson: object, tokenizerConfig: object = {}): TokenEncoder {
  const tokenizer = new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig);
  return { encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids };
}

/** A stretch of the transcript and who wrote it. */
interface Segment {
  text: string;
  byPolicy: boolean;
}

/**
 * The prompt the policy saw at its first step, then the response: what the
 * policy wrote (mask 1) alternating with what the runtime and environment
 * wrote (`\nObservation k: ...\nThought k+1:`, mask 0), up to the policy's last
 * action. Each segment is encoded on its own and the ids concatenated, so no
 * token straddles a boundary and the mask is exact for any tokenizer (at the
 * price of the merges a tokenizer would make across a boundary).
 */
export function toTokenRecord(trajectory: Trajectory, head: PromptHead, tokenizer: TokenEncoder): TokenRecord | undefined {
  if (trajectory.steps.length === 0) return undefined;
  const prompt = `${headText(head)}\n\n${questionLine(trajectory.question)}\n${thoughtLabel(1)}`;
  const response_ids: number[] = [];
  const mask: (0 | 1)[] = [];
  for (const { text, byPolicy } of responseSegments(trajectory)) {
    // One at a time: a long observation has too many tokens to spread into push()
    for (const id of tokenizer.encode(text)) {
      response_ids.push(id);
      mask.push(byPolicy ? 1 : 0);
    }
  }
  return { id: trajectory.id, prompt_ids: tokenizer.encode(prompt), response_ids, mask, reward: trajectory.reward };
}

function responseSegments(trajectory: Trajectory): Segment[] {
  const last = trajectory.steps.length - 1;
  return trajectory.steps.flatMap((step, i): Segment[] => {
    const policy = { text: policyContinuation(step, i + 1), byPolicy: true };
    if (i === last) return [policy];
    return [policy, { text: `\n${observationLine(step, i + 1)}\n${thoughtLabel(i + 2)}`, byPolicy: false }];
  });
}
