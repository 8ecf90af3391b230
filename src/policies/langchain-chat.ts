import { getRetryable } from "@langchain/core/errors";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, type AIMessageChunk } from "@langchain/core/messages";
import { z } from "zod";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import { PolicyError, UserError } from "../errors.ts";
import type { Usage } from "../../trajectories/schema.ts";
import { isTransientStatus, oneLine, retryAfterMs, RetryOptionsSchema, rootMessage, statusReason, withRetries, type Backend, type Failure } from "./retry.ts";
import { parseOptions } from "../options.ts";

export const LangChainPolicyOptionsSchema = z.object({
  /** Recorded in trajectories; defaults to the chat model's `model` field, else its class name. */
  model: z.string().min(1).optional(),
  /** Recorded only: sampling is configured on the chat model itself. */
  temperature: z.number().nonnegative().optional(),
  seed: z.number().int().optional(),
  // The policy makes every attempt, with the chat model's own retries off, so each is bounded and interruptible.
  ...RetryOptionsSchema.shape,
});

export type LangChainPolicyOptions = z.input<typeof LangChainPolicyOptionsSchema>;
type ResolvedOptions = z.output<typeof LangChainPolicyOptionsSchema>;

/** Chat models name their model differently; most (ChatOpenAI, ChatAnthropic, ChatOllama, ...) have `model`. */
function modelName(chatModel: BaseChatModel): string {
  const model: unknown = (chatModel as { model?: unknown }).model;
  return typeof model === "string" ? model : chatModel.getName();
}

/** A field of a thrown value, whatever shape the provider's SDK gave it. */
function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The HTTP status a provider's error carries: `status` (openai, anthropic, ...), `statusCode`, or `response.status`. */
function statusOf(error: unknown): number | undefined {
  const status = field(error, "status") ?? field(error, "statusCode") ?? field(field(error, "response"), "status");
  return typeof status === "number" ? status : undefined;
}

/** The error's own words on one line, without the troubleshooting link LangChain appends after a blank line. */
function messageOf(error: unknown, status: number | undefined): string {
  // A status error's message is the provider's answer; any other's best words are at the root of its chain.
  const message = error instanceof Error ? (status === undefined ? rootMessage(error) : error.message) : String(error);
  return oneLine(message.split("\n\nTroubleshooting URL:")[0]!);
}

/**
 * What a chat model's error means. A rejected key or an unknown model fails
 * every episode alike, so it is a UserError; LangChain's own verdict on
 * retrying (a quota spent, a context overflowed) comes before the status's.
 */
function failureOf(error: unknown, name: string): Failure {
  const status = statusOf(error);
  const code = field(error, "lc_error_code");
  const message = messageOf(error, status);
  const reason = status === undefined ? `failed: ${message}` : statusReason(status, message);
  const fix =
    code === "MODEL_AUTHENTICATION" || status === 401
      ? "check the API key the chat model was given"
      : code === "MODEL_NOT_FOUND" || status === 404
        ? "check the model name the chat model was given"
        : undefined;
  if (fix) return { reason, retryable: false, userError: new UserError(`${name} ${reason}; ${fix}.`, { cause: error }) };
  const headers = field(error, "headers");
  return {
    reason,
    retryable: getRetryable(error) ?? (status === undefined || isTransientStatus(status)),
    retryAfterMs: retryAfterMs(headers instanceof Headers ? headers : undefined),
  };
}

function usageOf(message: AIMessageChunk): Usage | undefined {
  const usage = message.usage_metadata;
  return usage && { promptTokens: usage.input_tokens, completionTokens: usage.output_tokens };
}

/**
 * A policy backed by any LangChain chat model: the prompt goes as one human
 * message. Each attempt has `timeoutMs`; failures that may pass are retried
 * `maxRetries` times, and the last ends the episode in a one-line PolicyError
 * naming the model.
 */
export class LangChainPolicy implements Policy {
  readonly name = "langchain";
  readonly model: string;
  readonly temperature?: number;
  readonly seed?: number;
  private readonly options: ResolvedOptions;
  private readonly backend: Backend;

  constructor(
    private readonly chatModel: BaseChatModel,
    options: LangChainPolicyOptions = {},
  ) {
    this.options = parseOptions("LangChainPolicy", LangChainPolicyOptionsSchema, options);
    this.model = this.options.model ?? modelName(chatModel);
    this.temperature = this.options.temperature;
    this.seed = this.options.seed;
    const className = chatModel.getName();
    this.backend = {
      name: `The chat model ${className === this.model ? className : `${className} (${this.model})`}`,
      timeoutSetting: "timeoutMs",
      failureOf: (error) => failureOf(error, this.backend.name),
    };
  }

  async act(request: PolicyRequest): Promise<Completion> {
    const message = await withRetries(
      // maxRetries 0: the chat model's own retries would wait unbounded and unseen inside one attempt.
      (signal) => this.chatModel.invoke([new HumanMessage(request.prompt)], { stop: request.stop, signal, maxRetries: 0 }),
      this.backend,
      this.options,
      request.signal,
    );
    // A reply of nothing but a stop sequence would read as an empty step, every step, with no hint why
    if (request.stop.includes(message.text)) {
      throw new PolicyError(`${this.backend.name} answered with its stop sequence ${JSON.stringify(message.text)} itself, not a step (LangChain's FakeListChatModel does so whenever it is given stop).`);
    }
    const usage = usageOf(message);
    // `text` joins the text parts. Tool calls, images and reasoning are no part of a ReAct
    // transcript, so a reply of only those is "", as OpenAIPolicy reads a null content.
    return { text: message.text, ...(usage && { usage }) };
  }
}
