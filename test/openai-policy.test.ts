import { createServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PolicyRequest } from "../src/agent/policy.ts";
import { UserError } from "../src/errors.ts";
import { OpenAIPolicy } from "../src/policies/openai.ts";
import { FAKE_TOKEN_LOGPROB, startFakeOpenAIServer, type FakeOpenAIServer } from "./helpers/fake-openai-server.ts";

const request: PolicyRequest = {
  prompt: "Question: Where is the Eiffel Tower?\nThought 1:",
  task: { id: "q1", question: "Where is the Eiffel Tower?" },
  step: 1,
  stop: ["\nObservation 1:"],
};

/** Writes a search step and then, as a model that ignores stop would, the observation too. */
const searchReply = () => " I need to search Eiffel Tower.\nAction 1: Search[Eiffel Tower]\nObservation 1: made up";

let server: FakeOpenAIServer | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  await server?.close();
  server = undefined;
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("OpenAIPolicy", () => {
  it("sends the prompt with the sampling settings and reads text, usage and logprobs", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, apiKey: "sk-test" });
    const policy = new OpenAIPolicy({
      model: "fake-model",
      baseURL: server.baseURL,
      apiKey: "sk-test",
      systemPrompt: "Solve the task.",
      temperature: 0.7,
      seed: 42,
      logprobs: true,
    });

    const completion = await policy.act(request);

    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      model: "fake-model",
      messages: [
        { role: "system", content: "Solve the task." },
        { role: "user", content: request.prompt },
      ],
      stop: ["\nObservation 1:"],
      temperature: 0.7,
      n: 1,
      seed: 42,
      logprobs: true,
    });
    expect(completion.text).toBe(" I need to search Eiffel Tower.\nAction 1: Search[Eiffel Tower]");
    expect(completion.logprobs).toEqual(Array(10).fill(FAKE_TOKEN_LOGPROB));
    expect(completion.usage).toEqual({ promptTokens: 3 + 8, completionTokens: 10 });
    expect(policy).toMatchObject({ name: "openai", model: "fake-model", temperature: 0.7, seed: 42 });
  });

  it("defaults to temperature 0 and no logprobs", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply });
    const completion = await new OpenAIPolicy({ model: "m", baseURL: server.baseURL }).act(request);
    expect(server.requests[0]).toMatchObject({ temperature: 0, logprobs: false, messages: [{ role: "user" }] });
    expect(completion.logprobs).toBeUndefined();
  });

  it("asks for n completions in one call and returns each choice", async () => {
    server = await startFakeOpenAIServer({ reply: (_body, choice) => ` Try ${choice}.\nAction 1: Search[T${choice}]` });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, temperature: 1 });

    const completions = await policy.complete(request, 3);

    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.n).toBe(3);
    expect(completions.map((c) => c.text)).toEqual([0, 1, 2].map((i) => ` Try ${i}.\nAction 1: Search[T${i}]`));
    // Usage is the call's: it is counted once, on the first completion.
    expect(completions[0]?.usage?.completionTokens).toBe(15);
    expect(completions.slice(1).map((c) => c.usage)).toEqual([undefined, undefined]);
  });

  it("retries a 429 and a 500 with the SDK's backoff", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, failures: [429, 500] });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, maxRetries: 2 });

    const completion = await policy.act(request);

    expect(server.requests).toHaveLength(3);
    expect(completion.text).toContain("Search[Eiffel Tower]");
  });

  it("gives up after maxRetries", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, failures: [429, 429] });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, maxRetries: 1 });
    await expect(policy.act(request)).rejects.toMatchObject({ status: 429 });
    expect(server.requests).toHaveLength(2);
  });

  it("turns an unreachable server into a UserError, after retrying", async () => {
    const baseURL = `http://127.0.0.1:${await freePort()}/v1`;
    const policy = new OpenAIPolicy({ model: "m", baseURL, maxRetries: 1 });
    const error = await policy.act(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^Cannot reach the OpenAI-compatible server at http:\/\/127\.0\.0\.1:\d+\/v1: .*ECONNREFUSED/);
  });

  it("turns a rejected key into a UserError", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, apiKey: "sk-right" });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, apiKey: "sk-wrong" });
    await expect(policy.act(request)).rejects.toThrow(new UserError(`The server at ${server.baseURL} rejected the API key (401): check OPENAI_API_KEY.`));
  });

  it("needs a key or a base URL, and takes either from the environment", async () => {
    vi.stubEnv("OPENAI_API_KEY", undefined);
    vi.stubEnv("OPENAI_BASE_URL", undefined);
    expect(() => new OpenAIPolicy({ model: "m" })).toThrow(UserError);
    expect(() => new OpenAIPolicy({ model: "m" })).toThrow(/set OPENAI_API_KEY .* or pass --base-url/);

    server = await startFakeOpenAIServer({ reply: searchReply, apiKey: "sk-env" });
    vi.stubEnv("OPENAI_API_KEY", "sk-env");
    vi.stubEnv("OPENAI_BASE_URL", server.baseURL);
    await expect(new OpenAIPolicy({ model: "m" }).act(request)).resolves.toMatchObject({ text: expect.stringContaining("Search") });
  });

  it("rejects invalid options with a UserError", () => {
    expect(() => new OpenAIPolicy({ model: "m", apiKey: "k", temperature: 5 })).toThrow(UserError);
    expect(() => new OpenAIPolicy({ model: "", apiKey: "k" })).toThrow(/model/);
  });
});
