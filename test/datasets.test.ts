import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadDataset, splitSentences } from "../src/suites/datasets.ts";
import { scorePredictions } from "../src/bench/score.ts";
import { UserError } from "../src/errors.ts";
import type { QaTask } from "../tools/wiki/index.ts";
import { sharedData } from "./helpers/shared.ts";

const SHARED = sharedData("").replace(/\/$/, "");
const HOTPOT_DEV = `${SHARED}/hotpotqa/hotpotqa-dev-distractor-2116.jsonl`;
const TWO_WIKI = `${SHARED}/2wikimultihopqa/2wikimultihopqa-dev-657.jsonl`;
const MUSIQUE = `${SHARED}/musique/musique-ans-dev-292.jsonl`;

function fixture(name: string): string {
  return fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));
}

/** Runs `load` and returns the UserError message it must throw. */
async function userErrorOf(load: Promise<unknown>): Promise<string> {
  const error = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return (error as UserError).message;
}

describe("loadDataset on the shared samples", () => {
  it("reads the HotpotQA JSONL layout", async () => {
    const tasks = await loadDataset(HOTPOT_DEV);
    expect(tasks).toHaveLength(2116);
    const first = tasks[0]!;
    expect(first.id).toBe("5a70f0e75542994082a3e408");
    expect(first.question).toMatch(/^Which of these universities, Northwestern University or Johns Hopkins/);
    expect(first.answer).toBe("with other campuses located in Chicago and Doha, Qatar");
    expect(first.type).toBe("comparison");
    expect(first.supportingFacts).toEqual([
      ["Johns Hopkins University", 0],
      ["Northwestern University", 0],
    ]);
    expect(first.context).toHaveLength(10);
    const saraBerry = first.context.find(([title]) => title === "Sara Berry")!;
    // Sentences after the first keep their leading space.
    expect(saraBerry[1][1]).toMatch(/^ Berry received her PhD/);
  });

  it("detects 2WikiMultihopQA and maps it like HotpotQA", async () => {
    const tasks = await loadDataset(TWO_WIKI);
    expect(tasks).toHaveLength(657);
    expect(tasks[0]).toMatchObject({
      id: "0016373a0bda11eba7f7acde48001122",
      answer: "2 February 1345",
      type: "compositional",
      supportingFacts: [
        ["Hermann II, Landgrave of Hesse", 1],
        ["Louis the Junker", 0],
      ],
    });
    expect(await loadDataset(TWO_WIKI, "2wiki")).toEqual(tasks);
  });

  it("detects MuSiQue and splits its paragraphs into sentences", async () => {
    const tasks = await loadDataset(MUSIQUE);
    expect(tasks).toHaveLength(292);
    const first = tasks[0]!;
    expect(first).toMatchObject({ id: "2hop__108336_772156", answer: "Mantua", type: "2hop" });
    expect(new Set(tasks.map((task) => task.type))).toEqual(new Set(["2hop", "3hop1", "3hop2", "4hop1", "4hop2", "4hop3"]));
    // An id of another form names no hop type: one "unknown" type, not a type per question
    const copy = join(await mkdtemp(join(tmpdir(), "react-rl-musique-")), "renamed.jsonl");
    const [line] = (await readFile(MUSIQUE, "utf8")).split("\n");
    await writeFile(copy, `${JSON.stringify({ ...JSON.parse(line!), id: "q-1" })}\n`);
    expect((await loadDataset(copy, "musique"))[0]!.type).toBe("unknown");
    expect(first.context).toHaveLength(20);
    expect(first.context[0]).toEqual([
      "Allegory of Isabella d'Este's Coronation",
      [
        "The Allegory of Isabella d'Este's Coronation is a painting by the Italian Renaissance painter Lorenzo Costa the Elder, dating to about 1505-1506.",
        " It is displayed in the Louvre Museum of Paris, France.",
      ],
    ]);
    // Both sentences of the supporting paragraph are supporting facts.
    expect(first.supportingFacts.slice(0, 2)).toEqual([
      ["Allegory of Isabella d'Este's Coronation", 0],
      ["Allegory of Isabella d'Este's Coronation", 1],
    ]);
  });
});

describe("loadDataset on fixtures", () => {
  it("reads the official HotpotQA JSON array with `_id`", async () => {
    const tasks = await loadDataset(fixture("hotpotqa-official.json"));
    expect(tasks.map((t) => [t.id, t.answer, t.type])).toEqual([
      ["fixture-1", "Paris", "bridge"],
      ["fixture-2", "yes", "comparison"],
    ]);
    expect(tasks[0]!.context[0]).toEqual(["Paris", ["Paris is the capital of France.", " It lies on the Seine."]]);
  });

  it("fills defaults for the fields a file leaves out", async () => {
    expect(await loadDataset(fixture("minimal.jsonl"))).toEqual([
      { id: "m1", question: "Q?", answer: "A", type: "unknown", supportingFacts: [], context: [["T", ["S."]]] },
    ]);
  });

  it.each([
    ["bad-json-line.jsonl", /bad-json-line\.jsonl, line 3: not valid JSON/],
    ["missing-answer.jsonl", /missing-answer\.jsonl, line 2: answer: .*expected string/],
    ["empty-question.jsonl", /empty-question\.jsonl, line 2: question: /],
    ["duplicate-id.jsonl", /duplicate-id\.jsonl, line 2: duplicate id a1/],
    ["unknown-layout.jsonl", /unknown-layout\.jsonl, line 1: cannot tell the dataset format/],
    ["hotpotqa-official-bad-record.json", /hotpotqa-official-bad-record\.json, record 2: context\.0\.1: /],
    ["empty.jsonl", /empty\.jsonl: no records/],
  ])("%s is refused with the file, the place and the problem", async (name, message) => {
    expect(await userErrorOf(loadDataset(fixture(name)))).toMatch(message);
  });

  it("refuses a file of another dataset than the one asked for", async () => {
    expect(await userErrorOf(loadDataset(MUSIQUE, "hotpotqa"))).toBe(`${MUSIQUE} holds MuSiQue records, not HotpotQA's: is it the right file?`);
    // One layout, two datasets: 2WikiMultihopQA's records add their evidences
    expect(await userErrorOf(loadDataset(HOTPOT_DEV, "2wiki"))).toBe(`${HOTPOT_DEV} holds HotpotQA records, not 2WikiMultihopQA's: is it the right file?`);
    expect(await userErrorOf(loadDataset(TWO_WIKI, "hotpotqa"))).toBe(`${TWO_WIKI} holds 2WikiMultihopQA records, not HotpotQA's: is it the right file?`);
    // A copy that kept neither HotpotQA's level nor 2WikiMultihopQA's evidences could be either
    expect(await loadDataset(fixture("minimal.jsonl"), "2wiki")).toEqual(await loadDataset(fixture("minimal.jsonl"), "hotpotqa"));
  });

  it("says when the file is missing, or is a folder", async () => {
    expect(await userErrorOf(loadDataset("/nowhere/missing.jsonl"))).toBe("file not found: /nowhere/missing.jsonl");
    const folder = tmpdir();
    expect(await userErrorOf(loadDataset(folder))).toBe(`${folder} is a folder, not a file`);
  });
});

describe("splitSentences", () => {
  it.each([
    ["One. Two! Three? Four", ["One.", " Two!", " Three?", " Four"]],
    ["No split in 3.5 or e.g.x", ["No split in 3.5 or e.g.x"]],
    ["Trailing space. ", ["Trailing space. "]],
    ["", []],
  ])("%j", (text, sentences) => {
    expect(splitSentences(text)).toEqual(sentences);
    expect(splitSentences(text).join("")).toBe(text);
  });
});

describe("scorePredictions", () => {
  const gold: QaTask[] = [
    { id: "q1", question: "Q1?", answer: "Paris", type: "bridge", supportingFacts: [], context: [] },
    { id: "q2", question: "Q2?", answer: "yes", type: "comparison", supportingFacts: [], context: [] },
    { id: "q3", question: "Q3?", answer: "Richard Nixon", type: "bridge", supportingFacts: [], context: [] },
    { id: "q4", question: "Q4?", answer: "1969", type: "bridge", supportingFacts: [], context: [] },
  ];

  it("averages over every gold question, a missing one scoring 0", () => {
    const scores = scorePredictions(gold, {
      answer: { q1: "the Paris", q2: "no", q3: "President Richard Nixon", extra: "ignored" },
      sp: { q1: [["Paris", 0]] },
    });
    expect(scores.n).toBe(4);
    expect(scores.missing).toBe(1);
    expect(scores.unknown).toEqual(["extra"]);
    expect(scores.em).toBeCloseTo(1 / 4, 12);
    expect(scores.f1).toBeCloseTo((1 + 0 + 0.8 + 0) / 4, 12);
  });

  it("scores nothing predicted as zero", () => {
    expect(scorePredictions(gold, { answer: {} })).toEqual({ em: 0, f1: 0, n: 4, missing: 4, unknown: [] });
    expect(scorePredictions([], { answer: {} })).toEqual({ em: 0, f1: 0, n: 0, missing: 0, unknown: [] });
  });

  it.each([
    [null, /bad predictions/],
    [{ sp: {} }, /bad predictions: answer: /],
    [{ answer: { q1: 42 } }, /bad predictions: answer\.q1: /],
    [["Paris"], /bad predictions/],
  ])("refuses %j", (predictions, message) => {
    expect(() => scorePredictions(gold, predictions)).toThrow(UserError);
    expect(() => scorePredictions(gold, predictions)).toThrow(message);
  });
});
