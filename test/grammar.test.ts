import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { PromptTemplate } from "../prompts/index.ts";
import { parseStep } from "../src/agent/parse.ts";
import { renderPrompt } from "../src/agent/prompt.ts";
import { createModel, Tokenizer } from "../src/lm/index.ts";
import { BASE_PLANNER, ensureBackend, LocalPolicy, transcriptTokens } from "../src/planner/index.ts";
import { copySource, rawTokenStrings, THOUGHT_LIMIT, TurnGrammar } from "../src/planner/grammar.ts";

const TEMPLATE: PromptTemplate = { instruction: "Answer the question.", exemplars: [] };
const QUESTION = "Who founded the studio that made The Window of the Night?";
const OBSERVATION = "Zikil Studios was founded by Kinsan Bendnun. It has 2050 employees. Similar: ['Sleeping Harvest (novel)', 'Bright Bridge'].";
/** The committed planner's tokenizer: its virtual spaces after `[` are part of what is tested. */
let tokenizer: Tokenizer;

beforeAll(async () => {
  await ensureBackend("cpu");
  tokenizer = Tokenizer.fromJSON(JSON.parse(readFileSync(`${BASE_PLANNER}/tokenizer.json`, "utf8")));
});

/** The grammar of step 2 of an episode that searched once and saw OBSERVATION. */
function grammar(): TurnGrammar {
  const step = { thought: "I need the studio.", action: "Search[Zikil Studios]", observation: OBSERVATION, valid: true, raw: "", latencyMs: 0 };
  const { ids, mask } = transcriptTokens(renderPrompt(TEMPLATE, QUESTION, [step], 2), tokenizer);
  const vocabulary = rawTokenStrings(tokenizer);
  return new TurnGrammar(vocabulary, copySource(ids, mask, vocabulary), 2);
}

/** Whether the grammar lets the planner write `turn` token by token, and then end it. */
function writes(turn: string): boolean {
  const { constraint } = grammar();
  const written: number[] = [];
  for (const token of [...tokenizer.encode(turn), tokenizer.eos]) {
    if (!constraint(written)?.[token]) return false;
    written.push(token);
  }
  return true;
}

describe("the turn grammar", () => {
  it("lets a turn copy whole-word spans of the question and the observations", () => {
    expect(writes(" Zikil Studios was founded by Kinsan Bendnun.\nAction 2: Search[Kinsan Bendnun]")).toBe(true);
    expect(writes(" I need the studio.\nAction 2: Search[The Window of the Night]")).toBe(true);
    expect(writes(" Several pages.\nAction 2: Lookup[founded]")).toBe(true);
    expect(writes(" It is this one.\nAction 2: Search[Sleeping Harvest (novel)]")).toBe(true);
    expect(writes(" So the answer is.\nAction 2: Finish[2050]")).toBe(true);
    expect(writes(" Not given.\nAction 2: Finish[yes]")).toBe(true);
  });

  it("refuses spans cut inside a word, past a sentence's end, across quotes, or not in the text at all", () => {
    expect(writes(" x\nAction 2: Search[Kinsan Bend]")).toBe(false);
    expect(writes(" x\nAction 2: Search[Kinsan Bendnun.]")).toBe(false);
    expect(writes(" x\nAction 2: Search[Kinsan Bendnun. It has 2050]")).toBe(false);
    expect(writes(" x\nAction 2: Search[Sleeping Harvest (novel)', 'Bright Bridge]")).toBe(false);
    expect(writes(" x\nAction 2: Search[Paris]")).toBe(false);
    expect(writes(" x\nAction 2: Search[]")).toBe(false);
  });

  it("takes any one-line argument for a free action, and nothing after the turn's end", () => {
    expect(writes(" I add them.\nAction 2: Code[[1, 2].length + 40]")).toBe(true);
    expect(writes(" x\nAction 2: Code[1 +\n2]")).toBe(false);
    expect(writes(" x\nAction 2: Search[Kinsan Bendnun] again")).toBe(false);
  });

  it("holds the format: the step's own label, a known action, a thought without brackets or colons", () => {
    expect(writes(" x\nAction 3: Search[Kinsan Bendnun]")).toBe(false);
    expect(writes(" x\nAction 2: Browse[Kinsan Bendnun]")).toBe(false);
    expect(writes(" Finish[Kinsan Bendnun]\nAction 2: Finish[Kinsan Bendnun]")).toBe(false);
    expect(writes(" Observation 2: x\nAction 2: Finish[Kinsan Bendnun]")).toBe(false);
  });

  it("ends a thought of THOUGHT_LIMIT tokens: then only a line break may come", () => {
    const { constraint } = grammar();
    const word = tokenizer.encode(" the");
    expect(word).toHaveLength(1);
    const written = Array(THOUGHT_LIMIT).fill(word[0]);
    expect(constraint(written.slice(0, -1))![word[0]]).toBe(1);
    const allowed = constraint(written)!;
    const strings = rawTokenStrings(tokenizer).strings;
    const next = strings.filter((_, id) => allowed[id]);
    expect(next.length).toBeGreaterThan(0);
    expect(next.every((s) => s.startsWith("\n"))).toBe(true);
  });
});

describe("LocalPolicy under the grammar", () => {
  const prompt = () => renderPrompt(TEMPLATE, QUESTION, [], 1);
  /** Twelve first turns of an untrained one-layer planner, sampled at temperature 1. */
  async function untrainedTurns(sampling: { maxNewTokens: number; grammar?: boolean }): Promise<string[]> {
    const model = createModel({ vocabSize: tokenizer.vocabSize, contextLength: 256, dModel: 16, nLayers: 1, nHeads: 2 }, 7);
    const policy = new LocalPolicy({ model, tokenizer, source: "/tmp/untrained", meta: {} }, { temperature: 1, seed: 3, ...sampling });
    const request = { prompt: prompt(), task: { id: "q", question: QUESTION }, step: 1, stop: [] };
    return (await Promise.all(Array.from({ length: 12 }, () => policy.act(request)))).map((c) => c.text);
  }

  it("writes a well-formed turn even untrained: a known action whose copied argument is from the prompt", async () => {
    for (const text of await untrainedTurns({ maxNewTokens: 120 })) {
      const { action } = parseStep(text, 1);
      expect(action, text).not.toBeNull();
      expect(["Search", "Lookup", "Finish", "Code"]).toContain(action!.name);
      if (action!.name !== "Code") expect(`${prompt()} yes no unknown`, text).toContain(action!.argument);
    }
  });

  it("writes anything without it (grammar: false)", async () => {
    const turns = await untrainedTurns({ maxNewTokens: 40, grammar: false });
    expect(turns.filter((text) => parseStep(text, 1).action === null).length).toBeGreaterThan(6);
  });
});
