/**
 * What the server accepts: the part of OpenAI's chat-completions request that a
 * text-only planner can honour. Fields it does not know are ignored, as vLLM and
 * llama.cpp ignore them, so clients that send extras (LangChain does) still work.
 */
import { z } from "zod";

const TextPart = z.object({ type: z.literal("text"), text: z.string() });

const Message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  /** A string, or text parts (OpenAI's array form; only text is understood). */
  content: z.union([z.string(), z.array(TextPart)]),
});
export type Message = z.infer<typeof Message>;

const Stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)], { error: "expected a non-empty string, or up to 4 of them" });

export const ChatRequest = z.object({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  n: z.number().int().min(1).max(128).default(1),
  /** OpenAI's default; 0 decodes greedily. */
  temperature: z.number().min(0).max(2).default(1),
  top_p: z.number().gt(0).max(1).default(1),
  stop: Stop.nullish(),
  /** The newer name wins when both are given. */
  max_completion_tokens: z.number().int().positive().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  seed: z.number().int().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().max(0, "this server gives no alternatives: top_logprobs must be 0").nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  /**
   * This server's extension: whether a prompt ending in an open `Thought k:` is decoded
   * under the ReAct turn grammar (a thought, then one well-formed action). Default: the
   * server's setting (on unless started with --free-decoding).
   */
  turn_grammar: z.boolean().nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

/**
 * The planner's prompt from a conversation: the system (and developer) messages
 * first, joined by blank lines, then a blank line, then the other turns in order,
 * joined by newlines. A ReAct transcript sent as one user message is the prompt
 * as it is; a conversation in the `openai-sft` export's shape (the prompt head as
 * system, the question, then assistant steps and user observations) gives back
 * the transcript `renderPrompt` writes.
 */
export function promptText(messages: readonly Message[]): string {
  const text = (m: Message) => (typeof m.content === "string" ? m.content : m.content.map((part) => part.text).join(""));
  const system = messages.filter((m) => m.role === "system" || m.role === "developer").map(text);
  const turns = messages.filter((m) => m.role === "user" || m.role === "assistant").map(text);
  return [...system, turns.join("\n")].filter((part) => part !== "").join("\n\n");
}

/** OpenAI's error body. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
