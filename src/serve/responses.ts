/**
 * Response bodies, typed by the `openai` SDK's own definitions so that what the
 * server sends is what the SDK reads.
 */
import { randomUUID } from "node:crypto";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { Model } from "openai/resources/models";
import type { Generation, Tokenizer } from "../lm/index.ts";
import type { ErrorBody } from "./schema.ts";

/** What a reply is made of: the request's generations and how to present them. */
export interface Reply {
  model: string;
  generations: Generation[];
  tokenizer: Tokenizer;
  logprobs: boolean;
}

/** Shown for the end-of-turn token in logprobs: it has no text of its own. */
const EOS_TEXT = "<eos>";

export function errorBody(message: string, param: string | null = null, code: string | null = null, type = "invalid_request_error"): ErrorBody {
  return { error: { message, type, param, code } };
}

export function modelList(id: string, created: number): { object: "list"; data: Model[] } {
  return { object: "list", data: [{ id, object: "model", created, owned_by: "react-rl" }] };
}

export function chatCompletion(reply: Reply): ChatCompletion {
  return {
    id: completionId(),
    object: "chat.completion",
    created: now(),
    model: reply.model,
    choices: reply.generations.map((generation, index) => ({
      index,
      message: { role: "assistant", content: generation.text, refusal: null },
      finish_reason: generation.finishReason,
      logprobs: reply.logprobs ? { content: tokenLogprobs(generation, reply.tokenizer), refusal: null } : null,
    })),
    usage: usage(reply.generations),
  };
}

/**
 * The reply as stream chunks: for each choice its role, its whole text, then its
 * finish reason; then the usage when asked for. The text is generated before the
 * first chunk is sent, so it arrives as one delta per choice.
 */
export function chatCompletionChunks(reply: Reply, includeUsage: boolean): ChatCompletionChunk[] {
  const head = { id: completionId(), object: "chat.completion.chunk" as const, created: now(), model: reply.model };
  const chunk = (choices: ChatCompletionChunk["choices"]): ChatCompletionChunk => ({ ...head, choices });
  const perChoice = reply.generations.flatMap((generation, index) => [
    chunk([{ index, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null }]),
    chunk([
      {
        index,
        delta: { content: generation.text },
        finish_reason: null,
        logprobs: reply.logprobs ? { content: tokenLogprobs(generation, reply.tokenizer), refusal: null } : null,
      },
    ]),
    chunk([{ index, delta: {}, finish_reason: generation.finishReason, logprobs: null }]),
  ]);
  return includeUsage ? [...perChoice, { ...chunk([]), usage: usage(reply.generations) }] : perChoice;
}

/**
 * Every sampled token with its log-probability under the model (temperature 1),
 * the end-of-turn token and the tokens that completed a stop string included, as
 * the local policy records them for training.
 */
function tokenLogprobs(generation: Generation, tokenizer: Tokenizer): ChatCompletionTokenLogprob[] {
  return generation.tokens.map((id, i) => {
    const bytes = [...tokenizer.bytes(id)];
    const token = id === tokenizer.eos ? EOS_TEXT : tokenizer.decode([id]);
    return { token, logprob: generation.logprobs[i]!, bytes, top_logprobs: [] };
  });
}

/** The prompt counts once, however many choices continue it. */
function usage(generations: Generation[]): CompletionUsage {
  const prompt = generations[0]?.promptTokens ?? 0;
  const completion = generations.reduce((sum, g) => sum + g.tokens.length, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function completionId(): string {
  return `chatcmpl-${randomUUID()}`;
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
