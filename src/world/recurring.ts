import { z } from "zod";
import { Random } from "../random.ts";
import { RELATION_SPECS } from "./relations.ts";
import type { Question } from "./schema.ts";

/**
 * How a question of a stream relates to those before it: asked for the first
 * time, asked again word for word, the same facts and answer in other words,
 * or the same wording turned the other way round (earlier / later), whose
 * answer is the other option: the look-alike that copying an old answer gets wrong.
 */
export const RECURRENCES = ["first", "repeat", "reworded", "flipped"] as const;
export type Recurrence = (typeof RECURRENCES)[number];

export interface StreamItem {
  question: Question;
  recurrence: Recurrence;
}

export const StreamOptionsSchema = z.object({
  seed: z.number().int(),
  /** Questions in the stream. */
  length: z.number().int().positive(),
  /** Chance that an item goes back to an earlier question rather than a new one (new ones running out, all do). */
  recurring: z.number().min(0).max(1).default(0.5),
});
export type StreamOptions = z.input<typeof StreamOptionsSchema>;

/**
 * A seeded stream of questions where some come back: each item is either the
 * next unseen question of `questions` (shuffled), or a variant of one already
 * asked: the same text, a rewording, or its flipped twin. A variant whose text
 * was asked before counts as a repeat. Ids stay unique: the k-th variant of
 * `test-00012` is `test-00012~k`.
 */
export function recurringQuestions(questions: readonly Question[], options: StreamOptions): StreamItem[] {
  const { seed, length, recurring } = StreamOptionsSchema.parse(options);
  const random = new Random(seed);
  const unseen = random.shuffle(questions);
  const asked: Question[] = [];
  const askedTexts = new Set<string>();
  const variantsMade = new Map<string, number>();
  const stream: StreamItem[] = [];
  while (stream.length < length) {
    const goesBack = asked.length > 0 && (unseen.length === 0 || random.chance(recurring));
    if (!goesBack) {
      const question = unseen.shift();
      if (question === undefined) throw new RangeError("recurringQuestions: no questions to start a stream from");
      asked.push(question);
      askedTexts.add(question.question);
      stream.push({ question, recurrence: "first" });
      continue;
    }
    const original = random.pick(asked);
    const variants = [
      { recurrence: "repeat" as const, question: original },
      ...rewordings(original, random).map((question) => ({ recurrence: "reworded" as const, question })),
      ...flipped(original).map((question) => ({ recurrence: "flipped" as const, question })),
    ];
    const variant = random.pick(variants);
    const count = (variantsMade.get(original.id) ?? 0) + 1;
    variantsMade.set(original.id, count);
    const recurrence = askedTexts.has(variant.question.question) ? "repeat" : variant.recurrence;
    askedTexts.add(variant.question.question);
    stream.push({ question: { ...variant.question, id: `${original.id}~${count}` }, recurrence });
  }
  return stream;
}

/** At most one rewording of a question, picked at random among those its family allows: same facts, same answer. */
function rewordings(question: Question, random: Random): Question[] {
  const texts = question.plan.answerFrom === "last" ? chainRewordings(question) : swappedComparison(question);
  return texts.length === 0 ? [] : [{ ...question, question: random.pick(texts) }];
}

/**
 * A chain question ("Who directed the film Blue Harbor?") asked with the last
 * relation's other templates, or as "Who is / What is" its noun phrase.
 */
function chainRewordings(question: Question): string[] {
  const spec = RELATION_SPECS[question.plan.hops.at(-1)!.relation];
  const inner = spec.ask.map((ask) => innerPhrase(ask, question.question)).find((phrase) => phrase !== undefined);
  if (inner === undefined) return [];
  const asNoun = `${spec.object === "person" ? "Who" : "What"} is ${spec.noun(inner)}?`;
  const texts = [...spec.ask.map((ask) => ask(inner)), asNoun];
  return [...new Set(texts)].filter((text) => text !== question.question);
}

/** What `template` was filled with to make `text`, if it made it. */
function innerPhrase(template: (inner: string) => string, text: string): string | undefined {
  const [before, after] = template("\u0000").split("\u0000") as [string, string];
  const fits = text.startsWith(before) && text.endsWith(after) && text.length > before.length + after.length;
  return fits ? text.slice(before.length, text.length - after.length) : undefined;
}

/** A comparison with its two names swapped ("..., Kalo Press or Velmir Studios?" the other way): same answer. */
function swappedComparison(question: Question): string[] {
  const [a, b] = question.plan.hops.map((hop) => hop.subject) as [string, string];
  const { answerFrom } = question.plan;
  const spec = RELATION_SPECS[question.plan.hops[0]!.relation];
  if (answerFrom === "same" && spec.same && spec.same.ask(a, b) === question.question) return [spec.same.ask(b, a)];
  if ((answerFrom === "lower" || answerFrom === "higher") && question.question.endsWith(`, ${a} or ${b}?`)) {
    return [question.question.replace(`, ${a} or ${b}?`, `, ${b} or ${a}?`)];
  }
  return [];
}

/** An order comparison asked the other way ("came out first" for "came out later"), whose answer is the other name. */
function flipped(question: Question): Question[] {
  const { answerFrom, hops } = question.plan;
  const order = RELATION_SPECS[hops[0]!.relation].order;
  if (!order || (answerFrom !== "lower" && answerFrom !== "higher")) return [];
  const other = answerFrom === "lower" ? "higher" : "lower";
  const [a, b] = hops.map((hop) => hop.subject) as [string, string];
  const asked = ` ${order[answerFrom]}, ${a} or ${b}?`;
  if (!question.question.endsWith(asked)) return [];
  return [
    {
      ...question,
      question: question.question.replace(asked, ` ${order[other]}, ${a} or ${b}?`),
      answer: question.answer === a ? b : a,
      plan: { ...question.plan, answerFrom: other },
    },
  ];
}
