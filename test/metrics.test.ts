import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  exactMatch,
  f1Score,
  fuzzyMatch,
  levenshteinRatio,
  normalizeAnswer,
  scoreAnswer,
} from "../tools/wiki/metrics.ts";

describe("normalizeAnswer", () => {
  it.each([
    ["The Eiffel Tower", "eiffel tower"],
    ["theater", "theater"], // "the" inside a word stays
    ["an apple a day", "apple day"],
    ["Anathema", "anathema"],
    ["A.B.C.", "abc"], // punctuation goes before articles, so the "a" is not a word any more
    ["U.S. Army", "us army"],
    ["1,000,000", "1000000"],
    ["the_end", "theend"], // "_" is punctuation
    ["Paris—France", "paris—france"], // non-ASCII punctuation stays (string.punctuation is ASCII)
    ["\u201cQuoted\u201d", "\u201cquoted\u201d"],
    ["Café MÜLLER", "café müller"],
    ["ΣΑΣ", "σας"], // final sigma, as Python's lower()
    ["éthe end", "éthe end"], // Unicode word boundary: é is a word character
    ["the\u00a0end", "end"], // no-break space is whitespace to Python
    ["the\ufeffend", "\ufeffend"], // BOM is not whitespace to Python (it is to JS's \s)
    ["a\x1cb", "b"], // \x1c is whitespace to Python
    ["  The\tquick\n\nbrown   fox ", "quick brown fox"],
    ["The The", ""],
    ["", ""],
  ])("%j -> %j", (input, expected) => {
    expect(normalizeAnswer(input)).toBe(expected);
  });
});

describe("exactMatch and f1Score", () => {
  it.each([
    // prediction, gold, em, f1, precision, recall
    ["The Eiffel Tower", "eiffel tower", 1, 1, 1, 1],
    ["Yes.", "yes", 1, 1, 1, 1],
    ["yes", "no", 0, 0, 0, 0],
    ["yes it is", "yes", 0, 0, 0, 0], // gold is yes/no and they differ: 0 despite the overlap
    ["no", "no way", 0, 0, 0, 0], // prediction is yes/no and they differ
    ["noanswer", "noanswer", 1, 1, 1, 1],
    ["cat dog", "dog cat", 0, 1, 1, 1],
    ["the cat cat cat", "cat", 0, 0.5, 1 / 3, 1], // repeated tokens count once each against the gold
    ["cat cat dog", "cat dog dog", 0, 2 / 3, 2 / 3, 2 / 3],
    ["President Richard Nixon", "Richard Nixon", 0, 0.8, 2 / 3, 1],
    ["", "", 1, 0, 0, 0], // nothing in common: F1 0 even though EM is 1
    ["", "Paris", 0, 0, 0, 0],
    ["Paris", "London", 0, 0, 0, 0],
  ])("%j vs %j", (prediction, gold, em, f1, precision, recall) => {
    expect(exactMatch(prediction, gold)).toBe(em);
    const score = f1Score(prediction, gold);
    expect(score.f1).toBeCloseTo(f1, 12);
    expect(score.precision).toBeCloseTo(precision, 12);
    expect(score.recall).toBeCloseTo(recall, 12);
  });
});

describe("levenshteinRatio and fuzzyMatch", () => {
  it.each([
    ["kitten", "sitting", 8 / 13], // LCS "ittn": python-Levenshtein gives 0.6153846...
    ["", "", 1],
    ["", "x", 0],
    ["abc", "abc", 1],
    ["abc", "abd", 4 / 6],
    ["\u{1F600}x", "\u{1F600}y", 0.5], // code points, not UTF-16 units (which would give 4 / 6)
  ])("ratio(%j, %j)", (left, right, expected) => {
    expect(levenshteinRatio(left, right)).toBeCloseTo(expected, 12);
  });

  it.each([
    ["Barack Obama", "Barak Obama", 1],
    ["abc", "abd", 1], // 0.667 > 0.633
    ["kitten", "sitting", 0], // 0.615 is under the threshold
    ["The Paris", "paris", 1], // compared after normalisation
    ["Paris", "London", 0],
  ])("fuzzyMatch(%j, %j) = %i", (prediction, gold, expected) => {
    expect(fuzzyMatch(prediction, gold)).toBe(expected);
  });
});

describe("scoreAnswer", () => {
  it("reports EM, F1 and fuzzy together", () => {
    expect(scoreAnswer("Johns Hopkins University", "Johns Hopkins")).toEqual({ em: 0, f1: 0.8, fuzzy: 1 });
    expect(scoreAnswer("the Doha", "Doha")).toEqual({ em: 1, f1: 1, fuzzy: 1 });
  });
});

/** Expected values computed by test/fixtures/metrics-cases.py (the official algorithm in Python). */
const PythonCaseSchema = z.object({
  prediction: z.string(),
  gold: z.string(),
  normalizedPrediction: z.string(),
  normalizedGold: z.string(),
  em: z.number(),
  f1: z.number(),
  precision: z.number(),
  recall: z.number(),
  ratio: z.number(),
  fuzzy: z.number(),
});
const pythonCases = z
  .array(PythonCaseSchema)
  .parse(JSON.parse(readFileSync(new URL("fixtures/metrics-cases.json", import.meta.url), "utf8")));

describe("agreement with the Python reference", () => {
  it("has cases", () => {
    expect(pythonCases.length).toBeGreaterThan(30);
  });

  it.each(pythonCases)("$prediction vs $gold", (c) => {
    expect(normalizeAnswer(c.prediction)).toBe(c.normalizedPrediction);
    expect(normalizeAnswer(c.gold)).toBe(c.normalizedGold);
    expect(exactMatch(c.prediction, c.gold)).toBe(c.em);
    const f1 = f1Score(c.prediction, c.gold);
    expect(f1.f1).toBeCloseTo(c.f1, 12);
    expect(f1.precision).toBeCloseTo(c.precision, 12);
    expect(f1.recall).toBeCloseTo(c.recall, 12);
    expect(levenshteinRatio(c.normalizedPrediction, c.normalizedGold)).toBeCloseTo(c.ratio, 12);
    expect(fuzzyMatch(c.prediction, c.gold)).toBe(c.fuzzy);
  });
});
