import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { Agent, request, type ClientRequest } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import OpenAI, { NotFoundError } from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readTrajectories } from "../trajectories/index.ts";
import { UserError } from "../src/errors.ts";
import { createModel, generateTokens, InferenceModel, saveCheckpoint, trainTokenizer } from "../src/lm/index.ts";
import { parseStep } from "../src/agent/parse.ts";
import { loadPrompt } from "../prompts/index.ts";
import type { QaTask } from "../tools/wiki/index.ts";
import type { Policy } from "../src/agent/policy.ts";
import { runBenchmark } from "../src/agent/index.ts";
import { BASE_PLANNER, LocalPolicy, loadPlanner, promptTokens, REACT_ACTIONS, turnConstraint, type Planner } from "../src/planner/index.ts";
import { OpenAIPolicy } from "../src/policies/index.ts";
import { promptText, servePlanner, servedModelName, type PlannerServer } from "../src/serve/index.ts";
import { requestedTurn } from "../src/serve/turn.ts";
import { isLoopback, namesLoopback } from "../src/loopback.ts";
import { generateWorld, HOPWORLD_PROMPT, serializeWorld, worldEnvironments, worldTasks } from "../src/world/index.ts";

const run = promisify(execFile);
const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;

const SENTENCES = [
  "Question: Where was the author of Blue Hills born?",
  "Thought 1: I need to search Blue Hills.\nAction 1: Search[Blue Hills]",
  "Observation 1: Blue Hills is a novel by Ana Morel. Ana Morel was born in Tiren.",
  "Thought 2: The author was born in Tiren.\nAction 2: Finish[Tiren]",
];
const PROMPT = "Question: Where was Ana Morel born?\nThought 1:";

let planner: Planner;
/** The planner on the kernels, which the server decodes on (the test runs on a CPU backend). */
let kernels: InferenceModel;
let server: PlannerServer;
let client: OpenAI;
let checkpoint: string;
const logs: string[] = [];

/** An untrained planner: its text is gibberish, but every step of the protocol can be checked against the library. */
beforeAll(async () => {
  const tokenizer = trainTokenizer(SENTENCES, { vocabSize: 300 });
  checkpoint = join(await mkdtemp(join(tmpdir(), "react-rl-serve-")), "tiny-planner");
  const model = createModel({ vocabSize: tokenizer.vocabSize, contextLength: 128, dModel: 16, nLayers: 1, nHeads: 2 }, 7);
  await saveCheckpoint(checkpoint, { model, tokenizer });
  planner = await loadPlanner(checkpoint);
  kernels = await InferenceModel.create(planner.model);
  server = await servePlanner(planner, { port: 0, log: (line) => logs.push(line) });
  client = new OpenAI({ baseURL: server.baseURL, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(() => server.close());

type Options = { temperature: number; topP?: number; maxNewTokens: number; seed: number; stop?: string[] };

/**
 * What the library itself generates for the prompt on the server's engine, as LocalPolicy
 * decodes a turn: under the turn grammar of the step its open `Thought k:` names (none
 * with `grammar` false).
 */
function expected(prompt: string, n: number, options: Options, grammar = true, engine = server.engine) {
  const sequence = promptTokens(prompt, planner.tokenizer, planner.model.config.contextLength - options.maxNewTokens);
  const step = /Thought (\d+):$/.exec(prompt)?.[1];
  const constraints = grammar && step ? Array.from({ length: n }, () => turnConstraint(sequence, planner.tokenizer, Number(step))) : undefined;
  const model = engine === "kernels" ? kernels : planner.model;
  return generateTokens(model, planner.tokenizer, Array(n).fill(sequence.ids), { ...options, constraints });
}

async function post(body: unknown, path = "/chat/completions"): Promise<{ status: number; json: { error: Record<string, unknown> } }> {
  const response = await fetch(server.baseURL + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe.each(["kernels", "tfjs"] as const)("react-rl serve decoding on %s, through the real openai SDK", (engine) => {
  let server: PlannerServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await servePlanner(planner, { port: 0, engine, log: (line) => logs.push(line) });
    client = new OpenAI({ baseURL: server.baseURL, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(() => server.close());

  it("answers n sampled choices with stop, max_tokens, seed and logprobs, as the library generates them", async () => {
    const request = { model: "tiny-planner", messages: [{ role: "user" as const, content: PROMPT }], n: 4, temperature: 0.9, top_p: 0.95 };
    const response = await client.chat.completions.create({ ...request, stop: [" ", "\n"], max_tokens: 12, seed: 3, logprobs: true });
    const library = await expected(PROMPT, 4, { temperature: 0.9, topP: 0.95, maxNewTokens: 12, seed: 3, stop: [" ", "\n"] }, true, engine);

    expect(response.object).toBe("chat.completion");
    expect(response.model).toBe("tiny-planner");
    expect(response.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(response.choices.map((c) => c.message.content)).toEqual(library.map((g) => g.text));
    expect(response.choices.map((c) => c.finish_reason)).toEqual(library.map((g) => g.finishReason));
    expect(response.choices.map((c) => c.logprobs!.content!.map((t) => t.logprob))).toEqual(library.map((g) => g.logprobs));
    for (const choice of response.choices) expect(choice.message.content).not.toMatch(/[ \n]/);
    expect(response.choices.some((c) => c.finish_reason === "stop")).toBe(true);
    const completionTokens = library.reduce((sum, g) => sum + g.tokens.length, 0);
    expect(response.usage).toEqual({ prompt_tokens: library[0]!.promptTokens, completion_tokens: completionTokens, total_tokens: library[0]!.promptTokens + completionTokens });
  });

  it("gives the same text for the same seed, even when requests arrive together", async () => {
    const ask = (seed: number) =>
      client.chat.completions.create({ model: "tiny-planner", messages: [{ role: "user", content: PROMPT }], temperature: 1, max_tokens: 16, seed });
    const [a, b, c] = await Promise.all([ask(11), ask(11), ask(12)]);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(a.choices[0]!.message.content).not.toBe(c.choices[0]!.message.content);
    const [alone] = await expected(PROMPT, 1, { temperature: 1, maxNewTokens: 16, seed: 11 }, true, engine);
    expect(a.choices[0]!.message.content).toBe(alone!.text);
  });

  it("decodes concurrent greedy requests in shared batches, each as if alone", async () => {
    const prompts = Array.from({ length: 6 }, (_, i) => `Question: Who founded Tiren ${i}?\nThought 1:`);
    const before = server.stats();
    const responses = await Promise.all(
      prompts.map((content) => client.chat.completions.create({ model: "tiny-planner", messages: [{ role: "user", content }], temperature: 0, max_tokens: 24 })),
    );
    const after = server.stats();
    for (const [i, response] of responses.entries()) {
      const [alone] = await expected(prompts[i]!, 1, { temperature: 0, maxNewTokens: 24, seed: 0 }, true, engine);
      expect(response.choices[0]!.message.content).toBe(alone!.text);
    }
    expect(after.sequences - before.sequences).toBe(6);
    // More than one sequence per pass on average: the requests shared passes
    expect(after.passes - before.passes).toBeLessThan(after.generatedTokens - before.generatedTokens);
  });

  it("streams chunks that add up to the same reply, then the usage", async () => {
    const request = { model: "tiny-planner", messages: [{ role: "user" as const, content: PROMPT }], n: 2, temperature: 0.7, max_tokens: 12, seed: 5 };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    const texts = ["", ""];
    const finishes: (string | null)[] = [null, null];
    let usage: unknown;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      for (const choice of chunk.choices) {
        texts[choice.index] += choice.delta.content ?? "";
        finishes[choice.index] ??= choice.finish_reason;
      }
      usage ??= chunk.usage ?? undefined;
    }
    expect(texts).toEqual(whole.choices.map((c) => c.message.content));
    expect(finishes).toEqual(whole.choices.map((c) => c.finish_reason));
    expect(usage).toEqual(whole.usage);
  });

});

describe("react-rl serve", () => {
  it("lists the model under its checkpoint folder's name, and gives it by its id", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => [m.id, m.object])).toEqual([["tiny-planner", "model"]]);
    await expect(client.models.retrieve("tiny-planner")).resolves.toMatchObject({ id: "tiny-planner", object: "model", owned_by: "react-rl" });
    await expect(client.models.retrieve("gpt-4o-mini")).rejects.toMatchObject({ status: 404, code: "model_not_found" });
  });

  it("names a trainer's RUN/checkpoint after its run, unless told a name", async () => {
    expect(servedModelName("runs/rl/checkpoint")).toBe("rl");
    expect(servedModelName("/abs/models/hopworld-base")).toBe("hopworld-base");
    expect(servedModelName("./checkpoint")).toBe(basename(process.cwd())); // named by where it is, not "."
    const named = await servePlanner(planner, { port: 0, model: "mine", log: () => {} });
    const models = await new OpenAI({ baseURL: named.baseURL, apiKey: "unused", maxRetries: 0 }).models.list();
    await named.close();
    expect(models.data.map((m) => m.id)).toEqual(["mine"]);
  });

  it("refuses a script's bad option before it listens", async () => {
    // A misspelt port served on the default 8000
    await expect(servePlanner(planner, { prot: 0 } as never)).rejects.toThrow(new UserError("servePlanner: unknown option prot (did you mean port?)"));
    await expect(servePlanner(planner, { port: -1 })).rejects.toThrow(new UserError("servePlanner: port: expected a whole number from 0 to 65535"));
    await expect(servePlanner(planner, { port: 0, engine: "gpu" } as never)).rejects.toThrow(/^servePlanner: engine: expected kernels or tfjs/);
  });

  it("refuses another model's name with OpenAI's 404", async () => {
    const asking = client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: PROMPT }] });
    await expect(asking).rejects.toBeInstanceOf(NotFoundError);
    await expect(asking).rejects.toMatchObject({ code: "model_not_found", param: "model" });
  });

  it("logs one line per request", () => {
    expect(logs).toContainEqual(expect.stringMatching(/^POST \/v1\/chat\/completions 200 \d+ms$/));
    expect(logs).toContainEqual(expect.stringMatching(/^GET \/v1\/models 200 \d+ms$/));
  });
});

describe("the turn grammar", () => {
  /** A bridge question's second step, as OpenAIPolicy sends it: the transcript, ending in the open label. */
  const STEP_2 = `${PROMPT} I need to search Ana Morel.\nAction 1: Search[Ana Morel]\nObservation 1: Ana Morel is a writer. She was born in Tiren.\nThought 2:`;
  const greedy = { temperature: 0, maxNewTokens: 64, seed: 0 };

  /** The text the server answers for `prompt`, greedy, with `fields` added to the request. */
  async function served(prompt: string, fields: Record<string, unknown> = {}, at = server): Promise<string> {
    const response = await fetch(`${at.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny-planner", messages: [{ role: "user", content: prompt }], temperature: 0, ...fields }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    return body.choices[0]!.message.content;
  }

  it("makes the untrained planner write a thought and one action it can take, copied from the prompt", async () => {
    const [free] = await expected(STEP_2, 1, greedy, false);
    expect(parseStep(free!.text, 2).action).toBeNull(); // gibberish, unconstrained

    const text = await served(STEP_2);
    const [library] = await expected(STEP_2, 1, greedy);
    expect(text).toBe(library!.text);
    expect(text).toMatch(/^[^[\]:\n]*\nAction 2: \w+\[[^\n]*\]$/);
    const { action } = parseStep(text, 2);
    expect(Object.keys(REACT_ACTIONS)).toContain(action!.name);
    if (REACT_ACTIONS[action!.name] === "copied") expect(` ${STEP_2} yes no unknown`).toContain(` ${action!.argument.trim()}`);
  });

  it("is turned off by the request's turn_grammar, or by the server's option", async () => {
    const [free] = await expected(STEP_2, 1, greedy, false);
    const [constrained] = await expected(STEP_2, 1, greedy);
    expect(await served(STEP_2, { turn_grammar: false })).toBe(free!.text);

    const freeServer = await servePlanner(planner, { port: 0, grammar: false, log: () => {} });
    try {
      expect(await served(STEP_2, {}, freeServer)).toBe(free!.text);
      expect(await served(STEP_2, { turn_grammar: true }, freeServer)).toBe(constrained!.text);
    } finally {
      await freeServer.close();
    }
  });

  it("applies to each of n sampled choices", async () => {
    const request = { model: "tiny-planner", messages: [{ role: "user" as const, content: STEP_2 }], n: 3, temperature: 1, seed: 9 };
    const sampled = await client.chat.completions.create(request);
    const library = await expected(STEP_2, 3, { ...greedy, temperature: 1, seed: 9 });
    expect(sampled.choices.map((c) => c.message.content)).toEqual(library.map((g) => g.text));
    for (const choice of sampled.choices) expect(parseStep(choice.message.content!, 2).action).not.toBeNull();
  });

  it("decodes constrained and free requests in one batch, each as if alone", async () => {
    const before = server.stats();
    const texts = await Promise.all([served(STEP_2), served(STEP_2, { turn_grammar: false }), served(PROMPT)]);
    const after = server.stats();
    expect(after.passes - before.passes).toBeLessThan(after.generatedTokens - before.generatedTokens);
    const alone = await Promise.all([expected(STEP_2, 1, greedy), expected(STEP_2, 1, greedy, false), expected(PROMPT, 1, greedy)]);
    expect(texts).toEqual(alone.map(([generation]) => generation!.text));
  });

  it("leaves a prompt that asks for no turn free", async () => {
    const prompt = "Question: Where was Ana Morel born?\nThought 1: I know it.";
    const [free] = await expected(prompt, 1, greedy, false);
    expect(await served(prompt)).toBe(free!.text);
  });

  it("reads the step from the open label, and the tools the prompt's head names besides the planner's", () => {
    const head = "Answer the question. (1) Search[entity] finds a page. Calculator[expression] computes.\nQuestion: What is 2 + 2?";
    const turn = requestedTurn(`${head}\nThought 1: x\nAction 1: Lookup[2]\nObservation 1: Echo[3] said so.\nThought 2:`);
    expect(turn).toEqual({ step: 2, actions: { ...REACT_ACTIONS, Calculator: "free" } });
    expect(requestedTurn("Question: q\nThought 12:")).toEqual({ step: 12, actions: REACT_ACTIONS });
    expect(requestedTurn("Question: q\nThought 1: half a thought")).toBeUndefined();
    expect(requestedTurn("Question: q\nAfterThought 1:")).toBeUndefined();
  });
});

describe("the kernels' memory", () => {
  /** The server's reply text to `content`, greedy. */
  async function ask(at: PlannerServer, content: string, maxTokens = 16): Promise<string> {
    const sdk = new OpenAI({ baseURL: at.baseURL, apiKey: "unused", maxRetries: 0 });
    const response = await sdk.chat.completions.create({ model: "tiny-planner", messages: [{ role: "user", content }], temperature: 0, max_tokens: maxTokens });
    return response.choices[0]!.message.content!;
  }

  it("keeps at most two sequences per batch row after many requests, and frees them all once idle", async () => {
    const at = await servePlanner(planner, { port: 0, engine: "kernels", maxBatch: 4, log: () => {} });
    try {
      for (let wave = 0; wave < 5; wave++) {
        await Promise.all(Array.from({ length: 12 }, (_, i) => ask(at, `Question: Who founded Tiren ${wave}-${i}?\nThought 1:`, 40)));
        expect(at.stats().slotsInUse).toBeGreaterThan(0);
        expect(at.stats().slotsInUse).toBeLessThanOrEqual(8);
      }
      expect(at.stats().sequences).toBe(60);
      while (at.stats().slotsInUse > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      // Usable again after letting go: the weights are copied anew
      expect(await ask(at, PROMPT)).toBe((await expected(PROMPT, 1, { temperature: 0, maxNewTokens: 16, seed: 0 }, true, "kernels"))[0]!.text);
    } finally {
      await at.close();
    }
  }, 30_000);

  it("reads only the new tokens of a conversation's next request, and answers it as if read whole", async () => {
    const at = await servePlanner(planner, { port: 0, engine: "kernels", log: () => {} });
    try {
      // Short enough that the next prompt fits whole in the tiny planner's context
      const first = await ask(at, PROMPT, 8);
      const firstPrompt = at.stats().promptTokens;
      const next = `${PROMPT}${first}\nObservation 1: Tiren.\nThought 2:`;
      const before = at.stats();
      const text = await ask(at, next, 8);
      const after = at.stats();
      expect(after.promptTokens - before.promptTokens).toBeLessThan(planner.model.config.contextLength - 8);
      expect(text).toBe((await expected(next, 1, { temperature: 0, maxNewTokens: 8, seed: 0 }, true, "kernels"))[0]!.text);
      // The first request's prompt at least came from its kept sequence
      expect(after.readTokens - before.readTokens).toBeLessThanOrEqual(after.promptTokens - before.promptTokens - firstPrompt);
    } finally {
      await at.close();
    }
  });
});

describe("the base planner through serve", () => {
  it("writes the in-process episodes step for step, on either engine", async () => {
    const base = await loadPlanner(BASE_PLANNER);
    const world = generateWorld({ seed: 1 });
    const tasks = worldTasks(world, "test").slice(0, 6);
    const template = await loadPrompt(HOPWORLD_PROMPT);
    const episodes = async (policy: Policy<QaTask>) => {
      const out = await mkdtemp(join(tmpdir(), "react-rl-serve-episodes-"));
      await runBenchmark<QaTask>({ tasks, policy, environment: worldEnvironments(world), prompt: () => template, out, concurrency: tasks.length });
      const { trajectories } = await readTrajectories(join(out, "trajectories.jsonl"));
      return trajectories.map((t) => ({ id: t.id, steps: t.steps.map((s) => [s.thought, s.action, s.observation]) })).sort((a, b) => a.id.localeCompare(b.id));
    };
    const local = new LocalPolicy(base, { temperature: 0, maxBatch: tasks.length });
    const inProcess = await episodes(local);
    await local.close();
    expect(inProcess.flatMap((e) => e.steps).length).toBeGreaterThan(tasks.length);
    for (const engine of ["kernels", "tfjs"] as const) {
      const at = await servePlanner(base, { port: 0, engine, log: () => {} });
      try {
        expect(await episodes(new OpenAIPolicy({ model: at.model, baseURL: at.baseURL, temperature: 0, maxRetries: 0 }))).toEqual(inProcess);
      } finally {
        await at.close();
      }
    }
  }, 120_000);
});

describe("bad requests", () => {
  const valid = { model: "tiny-planner", messages: [{ role: "user", content: PROMPT }], max_tokens: 4 };
  const cases: [string, unknown, string | null][] = [
    ["body that is not JSON", "{ model: ", null],
    ["missing messages", { model: "tiny-planner" }, "messages"],
    ["unknown role", { ...valid, messages: [{ role: "robot", content: "hi" }] }, "messages.0.role"],
    ["n of 0", { ...valid, n: 0 }, "n"],
    ["temperature above 2", { ...valid, temperature: 3 }, "temperature"],
    ["five stop strings", { ...valid, stop: ["a", "b", "c", "d", "e"] }, "stop"],
    ["top_logprobs above 0", { ...valid, logprobs: true, top_logprobs: 2 }, "top_logprobs"],
    ["max_tokens past the context", { ...valid, max_tokens: 128 }, "max_tokens"],
    ["turn_grammar that is not a boolean", { ...valid, turn_grammar: "off" }, "turn_grammar"],
  ];

  it.each(cases)("answers a %s with 400 and an OpenAI error object", async (_, body, param) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: "invalid_request_error", param });
    expect(json.error.message).toEqual(expect.any(String));
    expect(Object.keys(json.error).sort()).toEqual(["code", "message", "param", "type"]);
  });

  it("says what a field allows", async () => {
    expect((await post({ ...valid, stop: ["a", "b", "c", "d", "e"] })).json.error.message).toContain("expected a non-empty string, or up to 4 of them");
  });

  it("answers an unknown route with 404 in the same shape", async () => {
    const { status, json } = await post(valid, "/completions");
    expect(status).toBe(404);
    expect(json.error).toMatchObject({ type: "invalid_request_error", code: "unknown_url" });
  });
});

/**
 * One request over `agent`, its body written by `write` (none by default): the answer's
 * status and `connection` header, and whether it went over a connection already used.
 */
function send(agent: Agent, method: string, path: string, body: { headers?: Record<string, number | string>; write?: (req: ClientRequest) => void } = {}) {
  const { hostname, port } = new URL(server.baseURL);
  return new Promise<{ status: number; connection: string | undefined; reused: boolean }>((resolve, reject) => {
    let answered = false;
    const req = request({ agent, hostname, port, method, path, headers: body.headers }, (res) => {
      answered = true;
      const answer = () => resolve({ status: res.statusCode!, connection: res.headers.connection, reused: req.reusedSocket });
      res.resume();
      // An error after the answer is the body, still being written, meeting the connection the server closed
      for (const event of ["end", "error", "close"]) res.on(event, answer);
    });
    req.on("error", (error) => answered || reject(error));
    (body.write ?? ((r) => r.end()))(req);
  });
}

/** Writes `count` megabytes, as fast as the connection takes them, then ends the body. */
function megabytes(count: number) {
  const chunk = Buffer.alloc(1024 * 1024, "x");
  return (req: ClientRequest) => {
    let written = 0;
    let answered = false;
    req.once("response", () => (answered = true));
    const pump = (): void => {
      while (written < count && !answered) {
        written += 1;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  };
}

describe("requests at the edges", () => {
  it("serves a prompt of half a megabyte from its end, as the library cuts it", async () => {
    const prompt = "Observation 1: Ana Morel was born in Tiren. ".repeat(12_000) + PROMPT;
    expect(prompt.length).toBeGreaterThan(512 * 1024);
    const { data: response, response: raw } = await client.chat.completions
      .create({ model: "tiny-planner", messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: 4 })
      .withResponse();
    const [library] = await expected(prompt, 1, { temperature: 0, maxNewTokens: 4, seed: 0 });
    expect(response.choices[0]!.message.content).toBe(library!.text);
    expect(response.usage!.prompt_tokens).toBe(128 - 4);
    // The cut is said, to the client and in the server's log; a prompt that fits says nothing
    expect(raw.headers.get("x-prompt-tokens-kept")).toBe("124");
    await expect.poll(() => logs.some((line) => line.endsWith("(prompt cut to its last 124 tokens)"))).toBe(true);
    const { response: fitting } = await client.chat.completions.create({ model: "tiny-planner", messages: [{ role: "user", content: PROMPT }], max_tokens: 4 }).withResponse();
    expect(fitting.headers.get("x-prompt-tokens-kept")).toBeNull();
  });

  it("reads no more of a prompt of megabytes than the model has room for", async () => {
    // Read whole, this text costs time quadratic in its length (each label looks ahead for its action)
    const prompt = "Thought 1: a ".repeat(160_000);
    const response = await client.chat.completions.create({ model: "tiny-planner", messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: 4 });
    expect(response.usage!.prompt_tokens).toBe(128 - 4);
  }, 20_000);

  const targets = [
    { name: "GET //", method: "GET", path: "//", status: 404 },
    { name: "GET /%", method: "GET", path: "/%", status: 404 },
    { name: "GET //v1/models", method: "GET", path: "//v1/models", status: 404 },
    { name: "a model id with a malformed escape", method: "GET", path: "/v1/models/%E0%A4%A", status: 404 },
    { name: "a query that is not percent-encoded", method: "GET", path: "/v1/models?x=%", status: 200 },
    { name: "a whole URL as the target", method: "GET", path: "http://localhost/v1/models", status: 200 },
    { name: "OPTIONS *", method: "OPTIONS", path: "*", status: 400 },
    { name: "a path of 20,000 characters", method: "GET", path: `/${"x".repeat(20_000)}`, status: 431 },
  ];

  it.each(targets)("answers $name with $status", async ({ method, path, status }) => {
    expect((await send(new Agent(), method, path)).status).toBe(status);
  });

  it("answers only requests that name this machine as their host, as the viewer does (DNS rebinding)", async () => {
    const agent = new Agent();
    expect(await send(agent, "GET", "/v1/models", { headers: { host: "evil.example" } })).toMatchObject({ status: 403 });
    expect(await send(agent, "GET", "/v1/models", { headers: { host: `localhost:${new URL(server.baseURL).port}` } })).toMatchObject({ status: 200 });
    agent.destroy();
    // This machine in any of its names, and nothing else
    for (const host of ["127.0.0.1:8000", "127.0.0.2", "LOCALHOST:80", "localhost.", "[::1]:8000"]) expect(namesLoopback(host), host).toBe(true);
    for (const host of ["evil.example", "localhost.evil.example", "127.0.0.1.evil.example", "10.0.0.1:8000", "", undefined]) expect(namesLoopback(host), String(host)).toBe(false);
    expect(isLoopback("127.0.0.2") && isLoopback("::1") && !isLoopback("0.0.0.0")).toBe(true);
  });

  it("keeps the connection after refusing a body too large, so the next request goes over it", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const refused = await send(agent, "POST", "/v1/chat/completions", { write: megabytes(5) });
    expect(refused).toMatchObject({ status: 413, connection: "keep-alive" });
    expect(await send(agent, "GET", "/v1/models")).toEqual({ status: 200, connection: "keep-alive", reused: true });
    agent.destroy();
  });

  it("refuses a body of a hundred megabytes without reading it all, and closes its connection", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const refusals = () => logs.filter((line) => line.startsWith("POST /v1/chat/completions 413 ")).length;
    const refusedBefore = refusals();
    // Declared: refused before any of it is read (the body is never finished here)
    const declared = await send(agent, "POST", "/v1/chat/completions", { headers: { "content-length": 100 * 1024 * 1024 }, write: (req) => req.write("{") });
    expect(declared).toMatchObject({ status: 413, connection: "close" });
    // Streamed without a length: refused once 64 MB have come. The server's close can reset the connection before
    // the client reads the 413 (TCP's race when a server stops reading; under load, every time): its log says what it answered
    const streamed = await send(agent, "POST", "/v1/chat/completions", { write: megabytes(100) }).catch((error: NodeJS.ErrnoException) => error.code);
    if (typeof streamed === "string") expect(streamed).toMatch(/^(EPIPE|ECONNRESET)$/);
    else expect(streamed).toMatchObject({ status: 413, connection: "close", reused: false });
    await vi.waitFor(() => expect(refusals()).toBe(refusedBefore + 2));
    expect(await send(agent, "GET", "/v1/models")).toMatchObject({ status: 200, reused: false });
    agent.destroy();
  });
});

describe("prompts from messages", () => {
  it("puts system messages first, then the turns in order", () => {
    const messages = [
      { role: "user" as const, content: "Question: q" },
      { role: "system" as const, content: "Solve it." },
      { role: "assistant" as const, content: "Thought 1: t\nAction 1: Search[x]" },
      { role: "user" as const, content: [{ type: "text" as const, text: "Observation 1: o" }] },
    ];
    expect(promptText(messages)).toBe("Solve it.\n\nQuestion: q\nThought 1: t\nAction 1: Search[x]\nObservation 1: o");
    expect(promptText([{ role: "user", content: PROMPT }])).toBe(PROMPT);
  });
});

describe("shutdown", () => {
  it("answers the requests in progress before it closes", async () => {
    const second = await servePlanner(planner, { port: 0, log: () => {} });
    const secondClient = new OpenAI({ baseURL: second.baseURL, apiKey: "unused", maxRetries: 0 });
    const answer = secondClient.chat.completions.create({ model: "tiny-planner", messages: [{ role: "user", content: PROMPT }], max_tokens: 100 });
    while (second.stats().sequences === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    await second.close();
    expect((await answer).choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    await expect(fetch(`${second.baseURL}/models`)).rejects.toThrow();
  });
});

describe("the react-rl OpenAI policy against the server", () => {
  it("runs a hopworld benchmark", async () => {
    const dir = await mkdtemp(join(tmpdir(), "react-rl-serve-bench-"));
    const world = join(dir, "world.json");
    await writeFile(world, serializeWorld(generateWorld({ seed: 1, sizes: { train: 20, dev: 5, test: 5 } })));
    const out = join(dir, "run");
    const args = ["bench", "--dataset", "hopworld", "--world", world, "--policy", "openai", "--model", "tiny-planner"];
    await run(process.execPath, [bin, ...args, "--base-url", server.baseURL, "--limit", "5", "--out", out], { env: { ...process.env, OPENAI_API_KEY: "" } });

    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    expect(summary.n).toBe(5);
    expect(summary.promptTokens).toBeGreaterThan(0);
    const { trajectories } = await readTrajectories(join(out, "trajectories.jsonl"));
    expect(trajectories).toHaveLength(5);
    expect(trajectories.every((t) => t.meta.model === "tiny-planner" && t.steps.length > 0)).toBe(true);
  }, 60_000);
});

describe("react-rl serve, the command", () => {
  it("serves until SIGTERM, then exits cleanly", async () => {
    const child = spawn(process.execPath, [bin, "serve", "--model", checkpoint, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    const [line] = (await once(child.stdout.setEncoding("utf8"), "data")) as [string];
    const baseURL = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(line)?.[1];
    const models = (await (await fetch(`${baseURL}/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0]!.id).toBe("tiny-planner");
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  }, 30_000);

  it("says so when the port is taken", async () => {
    const port = new URL(server.baseURL).port;
    const failing = run(process.execPath, [bin, "serve", "--model", checkpoint, "--port", port]);
    await expect(failing).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`port ${port} on 127.0.0.1 is already in use`) });
  }, 30_000);
});
