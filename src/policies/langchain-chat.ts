import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, type AIMessageChunk } from "@langchain/core/messages";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import type { Usage } from "../../trajectories/schema.ts";

export interface LangChainPolicyOptions {
  /** Recorded in trajectories; defaults to the chat model's `model` field, else its class name. */
  model?: string;
  /** Recorded only: sampling is configured on the chat model itself. */
  temperature?: number;
  seed?: number;
}

/** Chat models name their model differently; most (ChatOpenAI, ChatAnthropic, ChatOllama, ...) have `model`. */
function modelName(chatModel: BaseChatModel): string {
  const model: unknown = (chatModel as { model?: unknown }).model;
  return typeof model === "string" ? model : chatModel.getName();
}

function usageOf(message: AIMessageChunk): Usage | undefined {
  const usage = message.usage_metadata;
  return usage && { promptTokens: usage.input_tokens, completionTokens: usage.output_tokens };
}

/** A policy backed by any LangChain chat model: the prompt goes as one human message. */
export class LangChainPolicy implements Policy {
  readonly name = "langchain";
  readonly model: string;
  readonly temperature?: number;
  readonly seed?: number;

  constructor(
    private readonly chatModel: BaseChatModel,
    options: LangChainPolicyOptions = {},
  ) {
    this.model = options.model ?? modelName(chatModel);
    this.temperature = options.temperature;
    this.seed = options.seed;
  }

  async act(request: PolicyRequest): Promise<Completion> {
    const message = await this.chatModel.invoke([new HumanMessage(request.prompt)], {
      stop: request.stop,
      signal: request.signal,
    });
    // `text` joins the text parts of structured content and skips the rest (tool calls, images).
    const usage = usageOf(message);
    return { text: message.text, ...(usage && { usage }) };
  }
}
