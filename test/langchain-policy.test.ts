import { stampRetryable } from "@langchain/core/errors";
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { fakeModel } from "@langchain/core/testing";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { ChatOpenAI } from "@langchain/openai";
import { afterEach, describe, expect, it } from "vitest";
import type { PolicyRequest } from "../src/agent/policy.ts";
import { PolicyError, UserError } from "../src/errors.ts";
import { LangChainPolicy, LangChainPolicyOptionsSchema, type LangChainPolicyOptions } from "../src/policies/langchain-chat.ts";
import { startFakeOpenAIServer, type FakeOpenAIServer, type FakeOpenAIServerOptions } from "./helpers/fake-openai-server.ts";

const request: PolicyRequest = {
  prompt: "Question: Where is the Eiffel Tower?\nThought 1:",
  task: { id: "q1", question: "Where is the Eiffel Tower?" },
  step: 1,
  stop: ["\nObservation 1:"],
};

const searchStep = () => new AIMessage(" I should search.\nAction 1: Search[Eiffel Tower]");

/** An error shaped as provider SDKs throw them (openai, anthropic): the status leads the message; headers when given. */
function statusError(status: number, detail: string, headers?: Record<string, string>): Error {
  return Object.assign(new Error(`${status} ${detail}`), { status, ...(headers && { headers: new Headers(headers) }) });
}

/** A chat model that never answers and ignores its abort signal, as a stuck provider client can. */
class HangingChatModel extends BaseChatModel {
  /** Each call's signal. */
  readonly signals: (AbortSignal | undefined)[] = [];

  constructor() {
    super({});
  }

  _llmType(): string {
    return "hanging";
  }

  _generate(_messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    this.signals.push(options.signal);
    return new Promise(() => {});
  }
}

const caught = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe("LangChainPolicy", () => {
  it("sends the prompt as one human message with the stop sequences, and reads text and usage", async () => {
    const model = fakeModel().respond(
      new AIMessage({
        content: " I need to search Eiffel Tower.\nAction 1: Search[Eiffel Tower]",
        usage_metadata: { input_tokens: 11, output_tokens: 13, total_tokens: 24 },
      }),
    );
    const policy = new LangChainPolicy(model, { temperature: 0 });

    const completion = await policy.act(request);

    expect(model.calls).toHaveLength(1);
    expect(model.calls[0]?.messages.map((m) => [m.type, m.text])).toEqual([["human", request.prompt]]);
    expect(model.calls[0]?.options.stop).toEqual(["\nObservation 1:"]);
    expect(completion).toEqual({
      text: " I need to search Eiffel Tower.\nAction 1: Search[Eiffel Tower]",
      usage: { promptTokens: 11, completionTokens: 13 },
    });
    expect(policy).toMatchObject({ name: "langchain", model: "FakeBuiltModel", temperature: 0 });
  });

  it("joins the text parts of structured content, and reads a reply with no text as empty", async () => {
    const content = [
      { type: "text", text: " I should search." },
      { type: "image_url", image_url: "https://example.org/tower.png" },
      { type: "text", text: "\nAction 1: Search[Paris]" },
    ];
    const completion = await new LangChainPolicy(fakeModel().respond(new AIMessage({ content }))).act(request);
    expect(completion).toEqual({ text: " I should search.\nAction 1: Search[Paris]" });

    const toolCallsOnly = fakeModel().respond(
      new AIMessage({ content: "", tool_calls: [{ id: "1", name: "search", args: { query: "Eiffel Tower" } }] }),
    );
    await expect(new LangChainPolicy(toolCallsOnly).act(request)).resolves.toEqual({ text: "" });
    await expect(new LangChainPolicy(fakeModel().respond(new AIMessage(""))).act(request)).resolves.toEqual({ text: "" });
    // LangChain's FakeListChatModel answers its first stop sequence whenever it is given one
    const echoingStop = new LangChainPolicy(new FakeListChatModel({ responses: ["Thought 1: x\nAction 1: Finish[y]"] }));
    await expect(echoingStop.act(request)).rejects.toThrow(new PolicyError(`The chat model FakeListChatModel answered with its stop sequence ${JSON.stringify(request.stop[0])} itself, not a step (LangChain's FakeListChatModel does so whenever it is given stop).`));
  });

  it("turns the chat model's own retries off, so that every attempt is the policy's", async () => {
    const model = fakeModel().respond(searchStep());
    await new LangChainPolicy(model).act(request);
    expect(model.calls[0]?.options.maxRetries).toBe(0);
  });

  it("defaults to a 60 s timeout and 2 retries, like OpenAIPolicy", () => {
    expect(LangChainPolicyOptionsSchema.parse({})).toMatchObject({ timeoutMs: 60_000, maxRetries: 2, maxRetryAfterMs: 20_000 });
  });

  it("rejects invalid options with a one-line UserError", () => {
    const error = (() => {
      try {
        return new LangChainPolicy(fakeModel(), { timeoutMs: -1 });
      } catch (error) {
        return error;
      }
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^LangChainPolicy: timeoutMs: [^\n]+$/);
    expect(() => new LangChainPolicy(fakeModel(), { temprature: 0.5 } as never)).toThrow(new UserError("LangChainPolicy: unknown option temprature (did you mean temperature?)"));
  });

  it("times out a model that never answers, each attempt, then fails in one line naming it", async () => {
    const model = new HangingChatModel();
    const error = await caught(new LangChainPolicy(model, { model: "tiny-7b", timeoutMs: 20, maxRetries: 1 }).act(request));
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toBe("The chat model HangingChatModel (tiny-7b) did not answer within 0.02 s (see timeoutMs) (2 attempts).");
    // Each attempt's signal told the model to stop, though this one does not listen.
    expect(model.signals.map((signal) => signal?.aborted)).toEqual([true, true]);
  });

  it("retries a transient error, waiting what retry-after-ms asks, then succeeds", async () => {
    const refused = new Error("Connection error.", { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") });
    const model = fakeModel()
      .respond(statusError(503, "overloaded", { "retry-after-ms": "10" }))
      .respond(Object.assign(refused, { headers: new Headers({ "retry-after-ms": "10" }) }))
      .respond(searchStep());
    const completion = await new LangChainPolicy(model, { maxRetries: 2 }).act(request);
    expect(completion.text).toContain("Search[Eiffel Tower]");
    expect(model.calls).toHaveLength(3);
  });

  it("gives up after maxRetries with a one-line PolicyError giving the status and the provider's words", async () => {
    const model = fakeModel().alwaysThrow(statusError(429, "Rate limit reached\n for requests", { "retry-after-ms": "10" }));
    const error = await caught(new LangChainPolicy(model, { maxRetries: 1 }).act(request));
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toBe("The chat model FakeBuiltModel answered 429: Rate limit reached for requests (2 attempts).");
    expect(model.calls).toHaveLength(2);
  });

  it("turns a rejected key or an unknown model into a one-line UserError, without retrying", async () => {
    /** As LangChain's OpenAI and Anthropic models mark the errors they know. */
    const marked = (error: Error, code: string) =>
      Object.assign(error, { lc_error_code: code, message: `${error.message}\n\nTroubleshooting URL: https://docs.langchain.com/${code}/\n` });
    const cases = [
      [marked(statusError(401, "Incorrect API key provided"), "MODEL_AUTHENTICATION"), "answered 401: Incorrect API key provided; check the API key"],
      [marked(new Error("no such model"), "MODEL_NOT_FOUND"), "failed: no such model; check the model name"],
    ] as const;
    for (const [thrown, words] of cases) {
      const model = fakeModel().alwaysThrow(thrown);
      const error = await caught(new LangChainPolicy(model, { model: "gpt-x" }).act(request));
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toBe(`The chat model FakeBuiltModel (gpt-x) ${words} the chat model was given.`);
      expect(model.calls).toHaveLength(1);
    }
  });

  it("does not retry what cannot pass: a 4xx, or an error LangChain marked as not retryable", async () => {
    const quota = stampRetryable(statusError(429, "You exceeded your current quota"), false);
    for (const [thrown, reason] of [
      [statusError(400, "max_tokens is too large"), "answered 400: max_tokens is too large"],
      [quota, "answered 429: You exceeded your current quota"],
    ] as const) {
      const model = fakeModel().alwaysThrow(thrown);
      const error = await caught(new LangChainPolicy(model).act(request));
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as Error).message).toBe(`The chat model FakeBuiltModel ${reason}.`);
      expect(model.calls).toHaveLength(1);
    }
  });

  it("fails at once when retry-after asks for longer than it waits", async () => {
    const model = fakeModel().alwaysThrow(statusError(429, "slow down", { "retry-after": "120" }));
    const error = await caught(new LangChainPolicy(model).act(request));
    expect((error as Error).message).toBe(
      "The chat model FakeBuiltModel answered 429: slow down, and asked to retry after 120 s, longer than the 20 s this client waits.",
    );
    expect(model.calls).toHaveLength(1);
  });

  // Waits of ten minutes: only stopping at once lets these end within the test's time.
  it("stops at once on abort, mid-answer or mid-wait, with the abort's own error", async () => {
    const hanging = new HangingChatModel();
    const waiting = fakeModel().alwaysThrow(statusError(429, "slow down", { "retry-after": "600" }));
    for (const model of [hanging, waiting]) {
      const policy = new LangChainPolicy(model, { timeoutMs: 600_000, maxRetryAfterMs: 600_000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      const error = await caught(policy.act({ ...request, signal: controller.signal }));
      expect(error).not.toBeInstanceOf(PolicyError);
      expect((error as Error).name).toBe("AbortError");
    }
    expect(hanging.signals.map((signal) => signal?.aborted)).toEqual([true]);
    expect(waiting.calls).toHaveLength(1);
    await expect(new LangChainPolicy(hanging).act({ ...request, signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });
});

describe("LangChainPolicy with ChatOpenAI, against an OpenAI-compatible server", () => {
  let server: FakeOpenAIServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A server that writes a search step, and a policy with ChatOpenAI (left at its own default of 6 retries) in front of it. */
  async function serve(faults: Omit<FakeOpenAIServerOptions, "reply">, options: LangChainPolicyOptions = {}, apiKey = "sk-right") {
    server = await startFakeOpenAIServer({ reply: () => " I should search.\nAction 1: Search[Eiffel Tower]", apiKey: "sk-right", ...faults });
    const chatModel = new ChatOpenAI({ model: "m", apiKey, configuration: { baseURL: server.baseURL } });
    return { server, policy: new LangChainPolicy(chatModel, options) };
  }

  it("retries a 503, then reads the reply", async () => {
    const { server, policy } = await serve({ failures: [503] });
    await expect(policy.act(request)).resolves.toMatchObject({ text: " I should search.\nAction 1: Search[Eiffel Tower]" });
    expect(server.requests).toHaveLength(2);
  });

  // With ChatOpenAI's own retries on, the first attempt alone would take a minute.
  it("gives up after maxRetries in one line", async () => {
    const { server, policy } = await serve({ fault: () => 500 }, { maxRetries: 1 });
    const error = await caught(policy.act(request));
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toBe("The chat model ChatOpenAI (m) answered 500: fake failure 500 (2 attempts).");
    expect(server.requests).toHaveLength(2);
  });

  it("turns a rejected key into a UserError at once", async () => {
    const { server, policy } = await serve({}, {}, "sk-wrong");
    const error = await caught(policy.act(request));
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      "The chat model ChatOpenAI (m) answered 401: Incorrect API key provided; check the API key the chat model was given.",
    );
    expect(server.requests).toHaveLength(1);
  });

  it("times out a server that never answers, each attempt", async () => {
    const { server, policy } = await serve({ fault: () => "hang" }, { timeoutMs: 50, maxRetries: 1 });
    const error = await caught(policy.act(request));
    expect((error as Error).message).toBe("The chat model ChatOpenAI (m) did not answer within 0.05 s (see timeoutMs) (2 attempts).");
    expect(server.requests).toHaveLength(2);
  });
});
