import { createServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PolicyRequest } from "../src/agent/policy.ts";
import { PolicyError, UserError } from "../src/errors.ts";
import { OpenAIPolicy, OpenAIPolicyOptionsSchema } from "../src/policies/openai.ts";
import { FAKE_TOKEN_LOGPROB, startFakeOpenAIServer, type Fault, type FakeOpenAIServer } from "./helpers/fake-openai-server.ts";

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

  it("retries a 429 and a 500, waiting what retry-after-ms asks", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, failures: [429, 500] });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, maxRetries: 2 });

    const completion = await policy.act(request);

    expect(server.requests).toHaveLength(3);
    expect(completion.text).toContain("Search[Eiffel Tower]");
  });

  it("gives up after maxRetries with a one-line PolicyError naming the server and the status", async () => {
    for (const status of [429, 500]) {
      server = await startFakeOpenAIServer({ reply: searchReply, fault: () => status });
      const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, maxRetries: 1 });
      const error = await policy.act(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as Error).message).toBe(`The server at ${server.baseURL} answered ${status}: fake failure ${status} (2 attempts).`);
      expect(server.requests).toHaveLength(2);
      await server.close();
    }
    server = undefined;
  });

  it("defaults to a 60 s timeout and 2 retries, so a dead server costs minutes, not the SDK's 50", () => {
    expect(OpenAIPolicyOptionsSchema.parse({ model: "m" })).toMatchObject({ timeoutMs: 60_000, maxRetries: 2, maxRetryAfterMs: 20_000 });
  });

  it("times out a server that never answers, each attempt, and says how to wait longer", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, fault: () => "hang" });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, timeoutMs: 100, maxRetries: 1 });
    const error = await policy.act(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toMatch(/^The server at http:\/\/127\.0\.0\.1:\d+\/v1 did not answer within 0\.1 s \(see --timeout, or timeoutMs from a script\) \(2 attempts\)\.$/);
    expect(server.requests).toHaveLength(2);
  });

  it("fails at once when retry-after asks for longer than it waits", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, fault: () => "retry-after-120" });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL });
    const started = Date.now();
    await expect(policy.act(request)).rejects.toThrow(
      new PolicyError(`The server at ${server.baseURL} answered 429: slow down, and asked to retry after 120 s, longer than the 20 s this client waits.`),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(1);
  }, 5_000);

  it("stops at once on abort, even while waiting out a retry-after or an unanswered request", async () => {
    for (const fault of ["retry-after-120", "hang"] as const) {
      server = await startFakeOpenAIServer({ reply: searchReply, fault: () => fault });
      const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, maxRetryAfterMs: 600_000 });
      await expect(policy.act({ ...request, signal: AbortSignal.abort() })).rejects.toThrow();
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      await expect(policy.act({ ...request, signal: controller.signal })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(controller.signal.aborted).toBe(true);
      await server.close();
    }
    server = undefined;
  }, 5_000);

  const malformed: [Fault, RegExp][] = [
    ["truncated-json", /sent invalid JSON: .*JSON/],
    ["html", /sent text\/html, not a chat completion/],
    ["empty-object", /sent a reply that is not a chat completion: choices: .*expected array/],
    ["no-choices", /sent a reply that is not a chat completion: choices: .*>=1/],
  ];
  it.each(malformed)("retries a malformed reply (%s), then fails it in one line", async (fault, message) => {
    server = await startFakeOpenAIServer({ reply: searchReply, fault: () => fault });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL, maxRetries: 1 });
    const error = await policy.act(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^The server at http:\/\/127\.0\.0\.1:\d+\/v1 [^\n]* \(2 attempts\)\.$/);
    expect(server.requests).toHaveLength(2);
  });

  it("recovers when a retry gets a well-formed reply", async () => {
    server = await startFakeOpenAIServer({ reply: searchReply, failures: ["html", "no-choices"] });
    const policy = new OpenAIPolicy({ model: "m", baseURL: server.baseURL });
    await expect(policy.act(request)).resolves.toMatchObject({ text: expect.stringContaining("Search[Eiffel Tower]") });
    expect(server.requests).toHaveLength(3);
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
    expect(() => new OpenAIPolicy({ model: "m" })).toThrow(/set OPENAI_API_KEY .* or give a baseURL \(--base-url\)/);

    server = await startFakeOpenAIServer({ reply: searchReply, apiKey: "sk-env" });
    vi.stubEnv("OPENAI_API_KEY", "sk-env");
    vi.stubEnv("OPENAI_BASE_URL", server.baseURL);
    await expect(new OpenAIPolicy({ model: "m" }).act(request)).resolves.toMatchObject({ text: expect.stringContaining("Search") });
  });

  it("rejects invalid options with a UserError", () => {
    expect(() => new OpenAIPolicy({ model: "m", apiKey: "k", temperature: 5 })).toThrow(UserError);
    expect(() => new OpenAIPolicy({ model: "", apiKey: "k" })).toThrow(/model/);
    expect(() => new OpenAIPolicy({ model: "m", apiKey: "k", temprature: 0.5 } as never)).toThrow(new UserError("OpenAIPolicy: unknown option temprature (did you mean temperature?)"));
  });
});
