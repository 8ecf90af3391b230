import OpenAI, { APIConnectionError, AuthenticationError, NotFoundError } from "openai";
import type { ChatCompletion, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { z } from "zod";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import { UserError } from "../errors.ts";

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
  /** The SDK retries 429, 5xx, connection errors and timeouts with exponential backoff, honouring retry-after. */
  maxRetries: z.number().int().nonnegative().default(4),
  timeoutMs: z.number().int().positive().optional(),
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

/** Errors the user can fix become UserErrors; anything else (aborts included) passes through. */
function translateError(error: unknown, baseURL: string, model: string): unknown {
  if (error instanceof NotFoundError) {
    return new UserError(`The server at ${baseURL} does not know model "${model}" (404): check --model.`, { cause: error });
  }
  return clientUserError(error, baseURL) ?? error;
}

/** One Completion per choice. Usage is per call, so the first completion carries it and sums over completions stay right. */
function toCompletions(response: ChatCompletion): Completion[] {
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

/** A planner behind any OpenAI-compatible chat-completions API (OpenAI, vLLM, llama.cpp, Ollama, ...). */
export class OpenAIPolicy implements Policy {
  readonly name = "openai";
  readonly model: string;
  readonly temperature: number;
  readonly seed?: number;
  private readonly options: ResolvedOptions;
  private readonly client: OpenAI;

  constructor(options: OpenAIPolicyOptions) {
    this.options = parseOptions(options);
    this.client = createOpenAIClient(this.options);
    this.model = this.options.model;
    this.temperature = this.options.temperature;
    this.seed = this.options.seed;
  }

  async act(request: PolicyRequest): Promise<Completion> {
    const [first] = await this.complete(request, 1);
    if (first === undefined) throw new Error(`The server at ${this.client.baseURL} returned no choices.`);
    return first;
  }

  /** Asks for `n` continuations of the prompt in one call (the API's `n`). */
  async complete(request: PolicyRequest, n = this.options.n): Promise<Completion[]> {
    const { systemPrompt, model, temperature, topP, seed, maxTokens, logprobs } = this.options;
    const messages: ChatCompletionMessageParam[] = [
      ...(systemPrompt === undefined ? [] : [{ role: "system" as const, content: systemPrompt }]),
      { role: "user", content: request.prompt },
    ];
    try {
      const response = await this.client.chat.completions.create(
        { model, messages, stop: request.stop, temperature, top_p: topP, n, seed, max_tokens: maxTokens, logprobs },
        { signal: request.signal },
      );
      return toCompletions(response);
    } catch (error) {
      throw translateError(error, this.client.baseURL, model);
    }
  }
}
