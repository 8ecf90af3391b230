/**
 * HotpotQA's official answer metrics (hotpot_evaluate_v1.py), reproduced with
 * Python's string semantics, plus ReAct's fuzzy reward.
 */
import type { AnswerScores } from "../environment.ts";

/** Python's `string.punctuation`: ASCII only. */
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
/** `\b(a|an|the)\b` under Python 3's `re`, whose `\w` is exactly [\p{L}\p{N}_] (JS's `\b` is ASCII only). */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
/** The characters Python's `str.isspace()` accepts, which `str.split()` splits on (JS's `\s` differs). */
const PYTHON_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
/** Normalised answers that only match themselves in F1 (the official rule). */
const CLOSED_ANSWERS = new Set(["yes", "no", "noanswer"]);
/** ReAct's threshold for the fuzzy reward. */
const FUZZY_THRESHOLD = 0.633;

/** Python's `str.split()` with no arguments. */
function pythonSplit(text: string): string[] {
  return text.split(PYTHON_WHITESPACE).filter((part) => part !== "");
}

/** white_space_fix(remove_articles(remove_punc(lower(s)))), as the official script. */
export function normalizeAnswer(text: string): string {
  const withoutPunctuation = text.toLowerCase().replace(PUNCTUATION, "");
  return pythonSplit(withoutPunctuation.replace(ARTICLES, " ")).join(" ");
}

export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

export interface F1Result {
  f1: number;
  precision: number;
  recall: number;
}

export function f1Score(prediction: string, gold: string): F1Result {
  const zero = { f1: 0, precision: 0, recall: 0 };
  const predicted = normalizeAnswer(prediction);
  const expected = normalizeAnswer(gold);
  if ((CLOSED_ANSWERS.has(predicted) || CLOSED_ANSWERS.has(expected)) && predicted !== expected) return zero;
  const predictedTokens = pythonSplit(predicted);
  const expectedTokens = pythonSplit(expected);
  const common = commonCount(predictedTokens, expectedTokens);
  if (common === 0) return zero;
  const precision = common / predictedTokens.length;
  const recall = common / expectedTokens.length;
  return { f1: (2 * precision * recall) / (precision + recall), precision, recall };
}

/** Size of the multiset intersection (Python's `sum((Counter(a) & Counter(b)).values())`). */
function commonCount(left: readonly string[], right: readonly string[]): number {
  const available = new Map<string, number>();
  for (const token of right) available.set(token, (available.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of left) {
    const remaining = available.get(token) ?? 0;
    if (remaining > 0) {
      available.set(token, remaining - 1);
      common += 1;
    }
  }
  return common;
}

/**
 * python-Levenshtein's `ratio`: (lensum - indel distance) / lensum over code
 * points, which is 2 * LCS / lensum; two empty strings are equal, so 1.
 */
export function levenshteinRatio(left: string, right: string): number {
  const a = Array.from(left);
  const b = Array.from(right);
  const lengthSum = a.length + b.length;
  if (lengthSum === 0) return 1;
  return (2 * longestCommonSubsequence(a, b)) / lengthSum;
}

function longestCommonSubsequence(a: readonly string[], b: readonly string[]): number {
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (const charA of a) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = charA === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

/** ReAct's fuzzy reward: 1 when the normalised answers are close enough. */
export function fuzzyMatch(prediction: string, gold: string): number {
  return levenshteinRatio(normalizeAnswer(prediction), normalizeAnswer(gold)) > FUZZY_THRESHOLD ? 1 : 0;
}

export function scoreAnswer(prediction: string, gold: string): AnswerScores {
  return {
    em: exactMatch(prediction, gold),
    f1: f1Score(prediction, gold).f1,
    fuzzy: fuzzyMatch(prediction, gold),
  };
}
