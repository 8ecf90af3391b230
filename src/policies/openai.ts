import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, AuthenticationError, NotFoundError } from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { z } from "zod";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import { UserError } from "../errors.ts";
import { isTransientStatus, retryAfterMs, RetryOptionsSchema, rootMessage, statusReason, timeoutFailure, withRetries, type Failure } from "./retry.ts";
import { parseOptions } from "../options.ts";

export const OpenAIPolicyOptionsSchema = z.object({
  model: z.string().min(1),
  /** Defaults to OPENAI_BASE_URL, then OpenAI's own API. */
  baseURL: z.url().optional(),
  /** Defaults to OPENAI_API_KEY; local servers need none. */
  apiKey: z.string().min(1).optional(),
  /** Sent before the prompt when given; the prompt itself is always one user message. */
  systemPrompt: z.string().optional(),
  temperature: z.number().min(0).max(2).default(0),
  topP: z.number().gt(0).max(1).optional(),
  /** How many completions `complete` asks for when not told. */
  n: z.number().int().positive().default(1),
  seed: z.number().int().optional(),
  maxTokens: z.number().int().positive().optional(),
  logprobs: z.boolean().default(false),
  // timeoutMs covers reading the reply too: the SDK's own timeout (10 minutes) covers only the wait for headers.
  ...RetryOptionsSchema.shape,
});

export type OpenAIPolicyOptions = z.input<typeof OpenAIPolicyOptionsSchema>;
type ResolvedOptions = z.output<typeof OpenAIPolicyOptionsSchema>;

/** Local OpenAI-compatible servers ignore the key, but the SDK insists on one. */
const PLACEHOLDER_API_KEY = "no-key-needed";

/** Where and how to reach an OpenAI-compatible API; unset fields fall back to OPENAI_BASE_URL and OPENAI_API_KEY. */
export type OpenAIClientOptions = Pick<OpenAIPolicyOptions, "baseURL" | "apiKey" | "maxRetries" | "timeoutMs">;

/** An SDK client, or a UserError saying how to give it a key when there is neither a key nor a server to use. */
export function createOpenAIClient(options: OpenAIClientOptions): OpenAI {
  // An empty variable is as good as none (a common way to unset one).
  const baseURL = options.baseURL ?? (process.env.OPENAI_BASE_URL || undefined);
  const apiKey = options.apiKey ?? (process.env.OPENAI_API_KEY || undefined);
  if (apiKey === undefined && baseURL === undefined) {
    throw new UserError(
      "No OpenAI API key: set OPENAI_API_KEY (export OPENAI_API_KEY=sk-...) or give a baseURL (--base-url) to use a local OpenAI-compatible server.",
    );
  }
  return new OpenAI({
    apiKey: apiKey ?? PLACEHOLDER_API_KEY,
    baseURL,
    maxRetries: options.maxRetries,
    timeout: options.timeoutMs,
  });
}

/** An unreachable server or a rejected key as a UserError; undefined for any other failure. */
export function clientUserError(error: unknown, baseURL: string): UserError | undefined {
  if (error instanceof APIConnectionError) {
    return new UserError(`Cannot reach the OpenAI-compatible server at ${baseURL}: ${rootMessage(error)}`, { cause: error });
  }
  if (error instanceof AuthenticationError) {
    return new UserError(`The server at ${baseURL} rejected the API key (401): check OPENAI_API_KEY.`, { cause: error });
  }
  return undefined;
}

/** The part of a chat completion the policy reads, checked: a server that only claims compatibility may send anything. */
const ChatReplySchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish() }),
        logprobs: z.object({ content: z.array(z.object({ logprob: z.number() })).nullish() }).nullish(),
      }),
    )
    .min(1),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() }).nullish(),
});

type ChatReply = z.infer<typeof ChatReplySchema>;

/** A reply that is not a chat completion; its message follows "The server at URL". */
class MalformedReply extends Error {}

/** The SDK hands back text for a body that is not JSON, and whatever JSON came for one that is. */
function parseReply(data: unknown, contentType: string | null): ChatReply {
  if (typeof data === "string") throw new MalformedReply(`sent ${contentType?.split(";")[0] ?? "a body of no type"}, not a chat completion`);
  const parsed = ChatReplySchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
  throw new MalformedReply(`sent a reply that is not a chat completion: ${where}${issue.message}`);
}

/** Where a request went: what failure messages name. */
interface Target {
  baseURL: string;
  model: string;
  timeoutMs: number;
}

/** How a user of the CLI gives each attempt longer. */
const TIMEOUT_SETTING = "--timeout, or timeoutMs from a script";

/** What an attempt's error means. */
function failureOf(error: unknown, { baseURL, model, timeoutMs }: Target): Failure {
  // Before APIConnectionError, which the SDK's own timeout error extends.
  if (error instanceof APIConnectionTimeoutError) return timeoutFailure(timeoutMs, TIMEOUT_SETTING);
  if (error instanceof MalformedReply) return { reason: error.message, retryable: true };
  if (error instanceof SyntaxError) return { reason: `sent invalid JSON: ${error.message}`, retryable: true };
  if (error instanceof NotFoundError) {
    const userError = new UserError(`The server at ${baseURL} does not know model "${model}" (404): check the model name (--model).`, { cause: error });
    return { reason: "answered 404", retryable: false, userError };
  }
  const userError = clientUserError(error, baseURL);
  if (error instanceof APIError && error.status !== undefined) {
    const reason = statusReason(error.status, error.message);
    return { reason, retryable: isTransientStatus(error.status), retryAfterMs: retryAfterMs(error.headers), userError };
  }
  // Refused connections, and replies cut off mid-body.
  return { reason: `failed: ${error instanceof Error ? rootMessage(error) : String(error)}`, retryable: true, userError };
}

/** One Completion per choice. Usage is per call, so the first completion carries it and sums over completions stay right. */
function toCompletions(response: ChatReply): Completion[] {
  return response.choices.map((choice, i) => {
    const logprobs = choice.logprobs?.content?.map((token) => token.logprob);
    const usage =
      i === 0 && response.usage
        ? { promptTokens: response.usage.prompt_tokens, completionTokens: response.usage.completion_tokens }
        : undefined;
    return {
      text: choice.message.content ?? "",
      ...(logprobs && { logprobs }),
      ...(usage && { usage }),
    };
  });
}

/** A policy behind any OpenAI-compatible chat-completions API (OpenAI, vLLM, llama.cpp, Ollama, ...). */
export class OpenAIPolicy implements Policy {
  readonly name = "openai";
  readonly model: string;
  readonly temperature: number;
  readonly seed?: number;
  private readonly options: ResolvedOptions;
  private readonly client: OpenAI;

  constructor(options: OpenAIPolicyOptions) {
    this.options = parseOptions("OpenAIPolicy", OpenAIPolicyOptionsSchema, options);
    // The policy retries itself: the SDK's retries wait unbounded retry-afters and cannot be interrupted.
    this.client = createOpenAIClient({ ...this.options, maxRetries: 0 });
    this.model = this.options.model;
    this.temperature = this.options.temperature;
    this.seed = this.options.seed;
  }

  async act(request: PolicyRequest): Promise<Completion> {
    // A reply has at least one choice: ChatReplySchema says so.
    return (await this.complete(request, 1))[0]!;
  }

  /** Asks for `n` continuations of the prompt in one call (the API's `n`). */
  async complete(request: PolicyRequest, n = this.options.n): Promise<Completion[]> {
    const { systemPrompt, model, temperature, topP, seed, maxTokens, logprobs } = this.options;
    const messages: ChatCompletionMessageParam[] = [
      ...(systemPrompt === undefined ? [] : [{ role: "system" as const, content: systemPrompt }]),
      { role: "user", content: request.prompt },
    ];
    const body = { model, messages, stop: request.stop, temperature, top_p: topP, n, seed, max_tokens: maxTokens, logprobs };
    return toCompletions(await this.create(body, request.signal));
  }

  /** Sends one request, retrying what may pass; an abort stops it at once, even mid-wait. */
  private create(body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal | undefined): Promise<ChatReply> {
    const target = { baseURL: this.client.baseURL, model: body.model, timeoutMs: this.options.timeoutMs };
    const backend = {
      name: `The server at ${target.baseURL}`,
      timeoutSetting: TIMEOUT_SETTING,
      failureOf: (error: unknown) => failureOf(error, target),
    };
    return withRetries((deadline) => this.attempt(body, deadline), backend, this.options, signal);
  }

  private async attempt(body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal): Promise<ChatReply> {
    const { data, response } = await this.client.chat.completions.create(body, { signal }).withResponse();
    return parseReply(data, response.headers.get("content-type"));
  }
}
