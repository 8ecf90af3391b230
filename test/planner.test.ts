import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { join, resolve } from "node:path";
import { UserError } from "../src/errors.ts";
import { loadPrompt, type PromptTemplate } from "../prompts/index.ts";
import { renderPrompt } from "../src/agent/prompt.ts";
import { createModel, trainTokenizer, type Tokenizer } from "../src/lm/index.ts";
import { BASE_PLANNER, ensureBackend, episodeTokens, LocalPolicy, MicroBatcher, promptActions, promptTokens, REACT_ACTIONS, transcriptTokens, type Planner } from "../src/planner/index.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

const TEMPLATE: PromptTemplate = { instruction: "Answer the question.", exemplars: [] };
let tokenizer: Tokenizer;

beforeAll(async () => {
  await ensureBackend("cpu");
  tokenizer = trainTokenizer(["Search the page of Paris, then Finish with the answer.", "Thought 1: Action 1: Observation 1:"], { vocabSize: 300 });
});

describe("transcript tokens", () => {
  it("mark the policy's turns, each closed by eos, and nothing else", () => {
    const { ids, mask } = transcriptTokens("Q\nThought 1: go\nAction 1: Search[x]\nObservation 1: seen\nThought 2:", tokenizer);
    expect(ids[0]).toBe(tokenizer.bos);
    const policy = ids.filter((_, i) => mask[i] === 1);
    expect(policy.at(-1)).toBe(tokenizer.eos);
    expect(tokenizer.decode(policy)).toBe(" go\nAction 1: Search[x]");
    expect(ids.at(-1)).not.toBe(tokenizer.eos);
  });

  it("give each step's prompt as a prefix of the episode's tokens, so training sees what inference saw", () => {
    const episode = makeTrajectory("a", 1, 3);
    const whole = episodeTokens(episode, TEMPLATE, tokenizer).ids;
    for (let step = 1; step <= 3; step++) {
      const prompt = transcriptTokens(renderPrompt(TEMPLATE, episode.question, episode.steps.slice(0, step - 1), step), tokenizer).ids;
      expect(whole.slice(0, prompt.length)).toEqual(prompt);
    }
    expect(whole.at(-1)).toBe(tokenizer.eos);
  });

  it("read a prompt of half a megabyte, in words or as one long piece", () => {
    for (const text of ["Search the page of Paris. ".repeat(20_000), "a".repeat(512 * 1024)]) {
      const { ids, mask } = transcriptTokens(text, tokenizer);
      expect(ids.length).toBe(1 + tokenizer.encode(text).length);
      expect(ids.length).toBeGreaterThan(100_000);
      expect(mask.length).toBe(ids.length);
    }
  });

  it("give a model the last tokens it has room for, reading only the end of a long prompt", () => {
    const episode = makeTrajectory("a", 1, 3);
    const transcript = renderPrompt(TEMPLATE, episode.question, episode.steps, 4);
    const whole = transcriptTokens(transcript, tokenizer).ids;
    expect(promptTokens(transcript, tokenizer, whole.length + 5)).toEqual({ ...transcriptTokens(transcript, tokenizer), cut: false });
    expect(promptTokens(transcript, tokenizer, 20)).toMatchObject({ ids: whole.slice(-20), cut: true });
    expect(promptTokens(transcript, tokenizer, 20).mask).toEqual(transcriptTokens(transcript, tokenizer).mask.slice(-20));

    const long = `${"Observation 1: Search the page of Paris. ".repeat(20_000)}${transcript}`;
    expect(promptTokens(long, tokenizer, 50)).toMatchObject({ ids: transcriptTokens(long, tokenizer).ids.slice(-50), cut: true });
    // Read whole, labels with no action after them take time quadratic in their length: minutes, here
    expect(promptTokens("Thought 1: a ".repeat(200_000), tokenizer, 50).ids).toHaveLength(50);
  });
});

describe("MicroBatcher", () => {
  it("runs calls that arrive together as one batch, and later ones in the next", async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher(async (xs: number[]) => (batches.push(xs), xs.map((x) => x * 2)), 3);
    const results = await Promise.all([1, 2, 3, 4].map((x) => batcher.submit(x)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("fails every call of a failed batch, and keeps working", async () => {
    let fail = true;
    const batcher = new MicroBatcher(async (xs: number[]) => {
      if (fail) throw new Error("boom");
      return xs;
    }, 8);
    await expect(Promise.all([batcher.submit(1), batcher.submit(2)])).rejects.toThrow("boom");
    fail = false;
    expect(await batcher.submit(3)).toBe(3);
  });
});

describe("LocalPolicy", () => {
  /** An untrained one-layer planner: its samples are arbitrary, its bookkeeping is what is tested. */
  const tinyPlanner = (seed: number): Planner => ({
    model: createModel({ vocabSize: tokenizer.vocabSize, contextLength: 96, dModel: 16, nLayers: 1, nHeads: 2 }, seed),
    tokenizer,
    source: "/tmp/tiny",
    meta: {},
  });
  const request = (q: string) => ({ prompt: renderPrompt(TEMPLATE, q, [], 1), task: { id: q, question: q }, step: 1, stop: [] });

  it("answers concurrent episodes, each with its tokens and logprobs", async () => {
    const planner = tinyPlanner(3);
    const policy = new LocalPolicy(planner, { maxNewTokens: 8, temperature: 1, seed: 5 });
    const completions = await Promise.all(["a?", "b?", "c?"].map((q) => policy.act(request(q))));
    for (const c of completions) {
      expect(c.tokens!.length).toBeGreaterThan(0);
      expect(c.logprobs).toHaveLength(c.tokens!.length);
      expect(c.logprobs!.every((l) => l <= 0)).toBe(true);
      expect(c.usage!.completionTokens).toBe(c.tokens!.length);
    }
  });

  it("records a checkpoint by its path, so that two runs' checkpoints (both named checkpoint) stay apart", async () => {
    const planner = tinyPlanner(3);
    const named = (source: string) => new LocalPolicy({ ...planner, source }).model;
    expect(named("runs/rs/checkpoint")).toBe(join("runs", "rs", "checkpoint"));
    expect(named("./runs/rl/checkpoint/")).toBe(join("runs", "rl", "checkpoint"));
    expect(named("../runs/rl/checkpoint")).toBe(join("..", "runs", "rl", "checkpoint"));
    // Absolute, as the base planner's path is: the same whatever the working folder
    expect(named("/elsewhere/./checkpoint/")).toBe(resolve("/elsewhere/checkpoint"));
    // And its weights as loaded, so that one retrained in place is told apart
    expect(new LocalPolicy({ ...planner, weightsDigest: "sha256 0123456789ab" }).weightsDigest).toBe("sha256 0123456789ab");
    // And the prompt its weights were trained with, which its episodes default to (the committed base's is hopworld's)
    expect(new LocalPolicy({ ...planner, meta: { prompt: TEMPLATE } }).defaultPrompt).toEqual(TEMPLATE);
    expect(new LocalPolicy(planner).defaultPrompt).toBeUndefined();
    // A script's mistake in its sampling options is one line, a misspelt one too
    expect(() => new LocalPolicy(planner, { temperature: 5 })).toThrow(new UserError("LocalPolicy: temperature: expected a number from 0 to 2"));
    expect(() => new LocalPolicy(planner, { temprature: 0.5 } as never)).toThrow(new UserError("LocalPolicy: unknown option temprature (did you mean temperature?)"));
    expect(() => new LocalPolicy({ ...planner, source: "runs/x", meta: { prompt: "hopworld" } })).toThrow("runs/x/manifest.json has a broken prompt in its meta: Invalid input: expected object, received string");
    expect(JSON.parse(readFileSync(join(BASE_PLANNER, "manifest.json"), "utf8")).meta.prompt).toEqual(await loadPrompt("hopworld"));
  });

  it("samples the same for each request however requests share batches, and differently for each asking of one prompt", async () => {
    const planner = tinyPlanner(4);
    const questions = ["a?", "b?", "a?", "c?", "a?"];
    const sample = async (maxBatch: number, order: number[]) => {
      const policy = new LocalPolicy(planner, { maxNewTokens: 12, temperature: 1, seed: 9, maxBatch });
      const texts: string[] = [];
      for (const i of order) texts[i] = (await policy.act(request(questions[i]))).text; // one at a time, in this order
      return texts;
    };
    const together = async () => {
      const policy = new LocalPolicy(planner, { maxNewTokens: 12, temperature: 1, seed: 9, maxBatch: 64 });
      return Promise.all(questions.map(async (q) => (await policy.act(request(q))).text));
    };
    const batched = await together();
    expect(await sample(1, [0, 1, 2, 3, 4])).toEqual(batched);
    expect(await sample(1, [3, 1, 0, 2, 4])).toEqual(batched); // a's askings keep their order among themselves
    expect(new Set([batched[0], batched[2], batched[4]]).size).toBeGreaterThan(1);
  });

  it("writes, under the turn grammar, any tool the prompt names besides its own (as serve does)", async () => {
    const template = { instruction: "Use (1) Search[entity] or (2) Calculator[expression].", exemplars: [] };
    const prompt = (q: string) => renderPrompt(template, q, [], 1);
    expect(promptActions(prompt("a?"))).toEqual({ ...REACT_ACTIONS, Calculator: "free" });
    const planner = { ...tinyPlanner(6), model: createModel({ vocabSize: tokenizer.vocabSize, contextLength: 256, dModel: 16, nLayers: 1, nHeads: 2 }, 6) };
    const policy = new LocalPolicy(planner, { temperature: 2, seed: 3 });
    const questions = Array.from({ length: 24 }, (_, i) => `q${i}?`);
    const texts = await Promise.all(questions.map(async (q) => (await policy.act({ ...request(q), prompt: prompt(q) })).text));
    const names = texts.map((text) => /Action 1: (\w+)\[/.exec(text)?.[1]);
    expect(names).toContain("Calculator");
    expect(names.every((name) => name !== undefined && name in promptActions(prompt("a?")))).toBe(true);
  });
});
