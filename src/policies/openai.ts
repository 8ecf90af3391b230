import { setTimeout as sleep } from "node:timers/promises";
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, AuthenticationError, NotFoundError } from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { z } from "zod";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import { PolicyError, UserError } from "../errors.ts";

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
  /** Retries of a request that got a 408, 409, 429 or 5xx, no connection, no answer in time, or a malformed reply. */
  maxRetries: z.number().int().nonnegative().default(2),
  /** Each attempt's limit, reading the reply included: the SDK's own (10 minutes) covers only the wait for headers. */
  timeoutMs: z.number().int().positive().default(60_000),
  /** The longest retry-after obeyed: a server asking for more fails the request at once rather than stall the run. */
  maxRetryAfterMs: z.number().int().nonnegative().default(20_000),
});

export type OpenAIPolicyOptions = z.input<typeof OpenAIPolicyOptionsSchema>;
type ResolvedOptions = z.output<typeof OpenAIPolicyOptionsSchema>;

/** Local OpenAI-compatible servers ignore the key, but the SDK insists on one. */
const PLACEHOLDER_API_KEY = "no-key-needed";

function parseOptions(options: OpenAIPolicyOptions): ResolvedOptions {
  const parsed = OpenAIPolicyOptionsSchema.safeParse(options);
  if (!parsed.success) throw new UserError(`Invalid OpenAI policy options: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Where and how to reach an OpenAI-compatible API; unset fields fall back to OPENAI_BASE_URL and OPENAI_API_KEY. */
export interface OpenAIClientOptions {
  baseURL?: string;
  apiKey?: string;
  maxRetries?: number;
  timeoutMs?: number;
}

/** An SDK client, or a UserError saying how to give it a key when there is neither a key nor a server to use. */
export function createOpenAIClient(options: OpenAIClientOptions): OpenAI {
  // An empty variable is as good as none (a common way to unset one).
  const baseURL = options.baseURL ?? (process.env.OPENAI_BASE_URL || undefined);
  const apiKey = options.apiKey ?? (process.env.OPENAI_API_KEY || undefined);
  if (apiKey === undefined && baseURL === undefined) {
    throw new UserError(
      "No OpenAI API key: set OPENAI_API_KEY (export OPENAI_API_KEY=sk-...) or pass --base-url to use a local OpenAI-compatible server.",
    );
  }
  return new OpenAI({
    apiKey: apiKey ?? PLACEHOLDER_API_KEY,
    baseURL,
    maxRetries: options.maxRetries,
    timeout: options.timeoutMs,
  });
}

/** The innermost message of an error chain: fetch's "fetch failed" hides the useful "connect ECONNREFUSED ...". */
function rootMessage(error: Error): string {
  return error.cause instanceof Error ? rootMessage(error.cause) : error.message;
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

/** Why one attempt failed, in words that follow "The server at URL", and whether another attempt may do better. */
interface Failure {
  reason: string;
  retryable: boolean;
  /** What the server asked to wait before the next attempt. */
  retryAfterMs?: number;
  /** For failures no retry or other episode would mend (no server, a rejected key, an unknown model): what to tell the user. */
  userError?: UserError;
}

/** Where a request went: what failure messages name. */
interface Target {
  baseURL: string;
  model: string;
  timeoutMs: number;
}

/** Statuses that say "not now" rather than "never": timeouts, conflicts, rate limits and server errors. */
const isTransientStatus = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/** What an attempt's error means; `timedOut`: the attempt's own deadline aborted it. */
function failureOf(error: unknown, timedOut: boolean, { baseURL, model, timeoutMs }: Target): Failure {
  // Before APIConnectionError, which the SDK's own timeout error extends.
  if (timedOut || error instanceof APIConnectionTimeoutError) {
    return { reason: `did not answer within ${timeoutMs / 1000} s (see --timeout)`, retryable: true };
  }
  if (error instanceof MalformedReply) return { reason: error.message, retryable: true };
  if (error instanceof SyntaxError) return { reason: `sent invalid JSON: ${error.message}`, retryable: true };
  if (error instanceof NotFoundError) {
    const userError = new UserError(`The server at ${baseURL} does not know model "${model}" (404): check --model.`, { cause: error });
    return { reason: "answered 404", retryable: false, userError };
  }
  const userError = clientUserError(error, baseURL);
  if (error instanceof APIError && error.status !== undefined) {
    const detail = oneLine(error.message.slice(String(error.status).length));
    const reason = `answered ${error.status}: ${detail}`;
    return { reason, retryable: isTransientStatus(error.status), retryAfterMs: retryAfterMs(error.headers), userError };
  }
  // Refused connections, and replies cut off mid-body.
  return { reason: `failed: ${error instanceof Error ? rootMessage(error) : String(error)}`, retryable: true, userError };
}

/** Server error bodies can be whole HTML pages: one short line of them is enough. */
function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

/** The wait a failed response asks for: retry-after-ms, else retry-after in seconds or as a date. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (!Number.isNaN(ms)) return ms;
  const after = headers?.get("retry-after");
  if (!after) return undefined;
  const seconds = Number.parseFloat(after);
  const wait = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000;
  return Number.isNaN(wait) ? undefined : Math.max(0, wait);
}

/** The SDK's backoff when the server names no wait: 0.5 s doubling to 8 s, with jitter so parallel episodes spread out. */
function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8_000) * (1 - Math.random() * 0.25);
}

/**
 * A signal that aborts after `ms` or when `parent` does. `dispose` it after the
 * attempt: unlike AbortSignal.any and AbortSignal.timeout, it then leaves nothing
 * behind on a run-long parent (Node 20 keeps every signal combined with it).
 */
function deadlineSignal(ms: number, parent: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = setTimeout(abort, ms);
  parent?.addEventListener("abort", abort);
  if (parent?.aborted) abort();
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", abort);
    },
  };
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
    this.options = parseOptions(options);
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
  private async create(body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal | undefined): Promise<ChatReply> {
    const { maxRetries, timeoutMs, maxRetryAfterMs } = this.options;
    const target = { baseURL: this.client.baseURL, model: body.model, timeoutMs };
    for (let attempt = 1; ; attempt++) {
      const deadline = deadlineSignal(timeoutMs, signal);
      try {
        return await this.attempt(body, deadline.signal);
      } catch (error) {
        // An interrupt is the user's doing, not the server's: no retry, no translation.
        signal?.throwIfAborted();
        const failure = failureOf(error, deadline.signal.aborted, target);
        const tooLong = failure.retryAfterMs !== undefined && failure.retryAfterMs > maxRetryAfterMs;
        if (!failure.retryable || attempt > maxRetries || tooLong) {
          throw failure.userError ?? new PolicyError(this.describe(failure, attempt, tooLong ? failure.retryAfterMs : undefined), { cause: error });
        }
        await sleep(failure.retryAfterMs ?? backoffMs(attempt), undefined, { signal });
      } finally {
        deadline.dispose();
      }
    }
  }

  /** The one line a failed request ends in; `refusedWaitMs`: a retry-after longer than `maxRetryAfterMs`. */
  private describe(failure: Failure, attempts: number, refusedWaitMs: number | undefined): string {
    const refused =
      refusedWaitMs === undefined
        ? ""
        : `, and asked to retry after ${refusedWaitMs / 1000} s, longer than the ${this.options.maxRetryAfterMs / 1000} s this client waits`;
    const tries = attempts > 1 ? ` (${attempts} attempts)` : "";
    return `The server at ${this.client.baseURL} ${failure.reason}${refused}${tries}.`;
  }

  private async attempt(body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal): Promise<ChatReply> {
    const { data, response } = await this.client.chat.completions.create(body, { signal }).withResponse();
    return parseReply(data, response.headers.get("content-type"));
  }
}
