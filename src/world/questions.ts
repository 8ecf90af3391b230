import type { Docstore } from "../../tools/wiki/index.ts";
import { fact } from "./articles.ts";
import { ENTITY_KINDS, type Entity, type EntityKind } from "./entities.ts";
import type { Random } from "../random.ts";
import { planComputation } from "./computation.ts";
import { RELATION_SPECS, type RelationSpec } from "./relations.ts";
import { RELATIONS, type Hop, type Plan, type QuestionType, type Relation } from "./schema.ts";

/** A question before it gets its id, split and supporting facts. */
export interface QuestionDraft {
  question: string;
  answer: string;
  type: QuestionType;
  plan: Plan;
}

/** What a family drafts questions from: one split's entities, and the whole world's docstore the agent will search. */
export interface QuestionSource {
  entities: readonly Entity[];
  docstore: Docstore;
}

/** Drafts one question of a family, or undefined when the random choices led nowhere (the caller tries again). */
type Family = (source: QuestionSource, random: Random) => QuestionDraft | undefined;

/**
 * The question families and their shares of a split (relative to the other
 * families a world has). A new family is a function here, a name in
 * QUESTION_TYPES, and an `answerFrom` the expert knows.
 */
export const FAMILIES: Record<QuestionType, { share: number; draft: Family }> = {
  bridge2: { share: 0.35, draft: (source, random) => chainQuestion(source, random, 2) },
  bridge3: { share: 0.2, draft: (source, random) => chainQuestion(source, random, 3) },
  comparison: {
    share: 0.3,
    draft: (source, random) => (random.chance(0.25) ? sameQuestion(source, random) : orderQuestion(source, random)),
  },
  ambiguous: { share: 0.15, draft: ambiguousQuestion },
  compute: { share: 0.2, draft: differenceQuestion },
};

/** Consecutive failed drafts after which a family counts as exhausted for a split. */
const MAX_FAILURES = 2000;

/**
 * `count` distinct questions of `families` (in QUESTION_TYPES order), each
 * family its share of them, in random order. Rounding leftovers go to the family
 * with the largest share, and so does the rest of a family that runs out of
 * distinct questions (to the largest one still open).
 */
export function draftQuestions(source: QuestionSource, count: number, random: Random, families: readonly QuestionType[]): QuestionDraft[] {
  // The default families' shares sum to exactly 1, so their counts are what they were before shares became relative.
  const total = families.reduce((sum, type) => sum + FAMILIES[type].share, 0);
  const remaining = new Map(families.map((type) => [type, Math.round((count * FAMILIES[type].share) / total)]));
  const largest = byShare(families)[0]!;
  remaining.set(largest, count - [...remaining.values()].reduce((sum, n) => sum + n, 0) + remaining.get(largest)!);
  const drafts: QuestionDraft[] = [];
  const seen = new Set<string>();
  const failures = new Map(families.map((type) => [type, 0]));
  while (drafts.length < count) {
    const open = families.filter((type) => failures.get(type)! < MAX_FAILURES);
    const type = random.weighted(open, (t) => remaining.get(t)!);
    const draft = FAMILIES[type].draft(source, random);
    if (draft === undefined || seen.has(draft.question)) {
      failures.set(type, failures.get(type)! + 1);
      if (failures.get(type)! < MAX_FAILURES) continue;
      const heir = byShare(open.filter((t) => t !== type))[0];
      if (heir === undefined) throw new RangeError(`hopworld: only ${drafts.length} distinct questions fit in a split asked for ${count}`);
      remaining.set(heir, remaining.get(heir)! + remaining.get(type)!);
      remaining.set(type, 0);
      continue;
    }
    failures.set(type, 0);
    remaining.set(type, remaining.get(type)! - 1);
    seen.add(draft.question);
    drafts.push(draft);
  }
  return drafts;
}

/** Families, the largest share first (a stable sort: ties keep their order). */
function byShare(families: readonly QuestionType[]): QuestionType[] {
  return [...families].sort((a, b) => FAMILIES[b].share - FAMILIES[a].share);
}

/** Questions that follow relations from a named entity: "Where was the director of Blue Harbor born?" */
function chainQuestion(source: QuestionSource, random: Random, length: number): QuestionDraft | undefined {
  // Path first, then a start: each kind of chain is as likely, however many entities could start it.
  const { kind, path } = random.pick(chainStarts(length));
  const starts = source.entities.filter((entity) => entity.kind === kind && entity.qualifier === undefined);
  const start = starts.length > 0 ? random.pick(starts) : undefined;
  const chain = start && followChain(start, path);
  if (!start || !chain) return undefined;
  const mention = kind !== "city" && random.chance(0.3) ? describe(start) : start.name;
  return {
    question: ask(path, mention, random),
    answer: chain.answer,
    type: length === 2 ? "bridge2" : "bridge3",
    plan: { hops: chain.hops, answerFrom: "last" },
  };
}

/**
 * A question about one of two entities sharing a name, which says which one it
 * means: the exact search for the name misses, and the Similar list offers both.
 */
function ambiguousQuestion(source: QuestionSource, random: Random): QuestionDraft | undefined {
  const start = random.pick(source.entities.filter((entity) => entity.qualifier !== undefined));
  // A city is told apart by its country, which must then not be what the question asks.
  const paths = chainPaths(start.kind, random.int(1, 2), start.kind === "city");
  const chain = paths.length > 0 ? followChain(start, random.pick(paths)) : undefined;
  if (!chain || !missOffers(source.docstore, start)) return undefined;
  const [first, ...rest] = chain.hops;
  const hops = [{ ...first!, query: start.name }, ...rest];
  return {
    question: ask(chain.path, describe(start), random),
    answer: chain.answer,
    type: "ambiguous",
    plan: { hops, answerFrom: "last" },
  };
}

/** "Which was founded earlier, Kalo Press or Velmir Studios?" */
function orderQuestion(source: QuestionSource, random: Random): QuestionDraft | undefined {
  const pair = numberPair(source, random, (spec) => spec.order);
  if (!pair) return undefined;
  const { relation, a, b } = pair;
  const pick = random.pick(["lower", "higher"] as const);
  const winner = (pick === "lower") === pair.valueA < pair.valueB ? a : b;
  const who = a.kind === "person" ? "Who" : "Which";
  return {
    question: `${who} ${RELATION_SPECS[relation].order![pick]}, ${a.name} or ${b.name}?`,
    answer: winner.name,
    type: "comparison",
    plan: { hops: [hop(a, relation), hop(b, relation)], answerFrom: pick },
  };
}

/** "How many years apart were Kalo Press and Velmir Studios founded?": two searches, then a subtraction. */
function differenceQuestion(source: QuestionSource, random: Random): QuestionDraft | undefined {
  const pair = numberPair(source, random, (spec) => spec.difference);
  if (!pair) return undefined;
  const { relation, a, b } = pair;
  // Named and searched in the order the subtraction takes them: the larger value first.
  const [larger, smaller] = pair.valueA > pair.valueB ? [a, b] : [b, a];
  const plan: Plan = { hops: [hop(larger, relation), hop(smaller, relation)], answerFrom: "difference" };
  return {
    question: RELATION_SPECS[relation].difference!(larger.name, smaller.name),
    answer: planComputation(plan)!.answer,
    type: "compute",
    plan,
  };
}

interface NumberPair {
  relation: Relation;
  a: Entity;
  b: Entity;
  valueA: number;
  valueB: number;
}

/** Two entities of one kind, in random order, whose numbers differ for a relation that `offers` a phrasing for. */
function numberPair(source: QuestionSource, random: Random, offers: (spec: RelationSpec) => unknown): NumberPair | undefined {
  const relation = random.pick(RELATIONS.filter((r) => offers(RELATION_SPECS[r])));
  const kind = random.pick(RELATION_SPECS[relation].subjects);
  const candidates = source.entities.filter((entity) => entity.kind === kind && entity.qualifier === undefined);
  if (candidates.length < 2) return undefined;
  const [a, b] = random.shuffle(candidates);
  const [valueA, valueB] = [a!.facts[relation], b!.facts[relation]];
  if (typeof valueA !== "number" || typeof valueB !== "number" || valueA === valueB) return undefined;
  return { relation, a: a!, b: b!, valueA, valueB };
}

/** "Are Tavinford and Kelholm in the same country?", as often yes as no. */
function sameQuestion(source: QuestionSource, random: Random): QuestionDraft | undefined {
  const relation = random.pick(RELATIONS.filter((r) => RELATION_SPECS[r].same));
  const spec = RELATION_SPECS[relation];
  const candidates = source.entities.filter((entity) => spec.subjects.includes(entity.kind) && entity.qualifier === undefined);
  const a = random.pick(candidates);
  const same = random.chance(0.5);
  const partners = candidates.filter((b) => b !== a && (b.facts[relation] === a.facts[relation]) === same);
  if (partners.length === 0) return undefined;
  const b = random.pick(partners);
  return {
    question: spec.same!.ask(a.name, b.name),
    answer: same ? "yes" : "no",
    type: "comparison",
    plan: { hops: [hop(a, relation), hop(b, relation)], answerFrom: "same" },
  };
}

interface Chain {
  path: Relation[];
  hops: Hop[];
  answer: string;
}

/** Follows `path` from `start`; undefined when a fact is missing or the chain comes back to an entity it has seen. */
function followChain(start: Entity, path: Relation[]): Chain | undefined {
  const hops: Hop[] = [];
  const visited = new Set([start]);
  let subject = start;
  for (const relation of path) {
    const value = subject.facts[relation];
    if (value === undefined) return undefined;
    hops.push(hop(subject, relation));
    if (typeof value === "number") break;
    if (visited.has(value)) return undefined;
    visited.add(value);
    subject = value;
  }
  return { path, hops, answer: hops.at(-1)!.value };
}

function hop(subject: Entity, relation: Relation): Hop {
  return { title: subject.title, subject: subject.name, relation, value: fact(subject, relation) };
}

const pathCache = new Map<string, Relation[][]>();

/** Every sequence of `length` relations that can start from `kind`; each but the last must lead to an entity. */
function chainPaths(kind: EntityKind, length: number, avoidCountryFirst: boolean): Relation[][] {
  const key = `${kind}/${length}/${avoidCountryFirst}`;
  const cached = pathCache.get(key);
  if (cached) return cached;
  const first = RELATIONS.filter((r) => RELATION_SPECS[r].subjects.includes(kind) && !(avoidCountryFirst && r === "country"));
  const paths = first.flatMap((relation): Relation[][] => {
    if (length === 1) return [[relation]];
    const object = RELATION_SPECS[relation].object;
    if (object === "year" || object === "number") return [];
    return chainPaths(object, length - 1, false).map((rest) => [relation, ...rest]);
  });
  pathCache.set(key, paths);
  return paths;
}

/** Every kind of entity with every chain of `length` relations from it. */
function chainStarts(length: number): { kind: EntityKind; path: Relation[] }[] {
  return ENTITY_KINDS.flatMap((kind) => chainPaths(kind, length, false).map((path) => ({ kind, path })));
}

/** The question for a chain: its relations nest as noun phrases around the start's mention. */
function ask(path: Relation[], mention: string, random: Random): string {
  const inner = path.slice(0, -1).reduce((phrase, relation) => RELATION_SPECS[relation].noun(phrase), mention);
  return random.pick(RELATION_SPECS[path.at(-1)!].ask)(inner);
}

/** The entity with what it is, as a question tells namesakes apart: "the painter Ilsa Brandt", "Dunmore in Veloria". */
function describe(entity: Entity): string {
  if (entity.kind === "person") return `the ${entity.occupation} ${entity.name}`;
  if (entity.kind === "city") return `${entity.name} in ${fact(entity, "country")}`;
  if (entity.kind === "film" || entity.kind === "novel" || entity.kind === "album") return `the ${entity.kind} ${entity.name}`;
  return entity.name;
}

/** The first search of the bare name must miss and list the right page among the similar ones. */
function missOffers(docstore: Docstore, entity: Entity): boolean {
  return docstore.get(entity.name) === undefined && docstore.similar(entity.name).includes(entity.title);
}
