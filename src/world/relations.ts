import type { EntityKind } from "./entities.ts";
import type { Relation } from "./schema.ts";

type Phrase = (subject: string) => string;

/** How one relation reads: in questions, in the expert's thoughts, and in comparisons. */
export interface RelationSpec {
  subjects: readonly EntityKind[];
  /** An entity kind (a chain may go on from it), or a year or a count (a chain ends there). */
  object: EntityKind | "year" | "number";
  /** What an agent needs, as a noun phrase ("the director of Blue Harbor"); questions nest these. */
  noun: Phrase;
  /** Ways to ask for it, given a noun phrase for the subject. */
  ask: readonly Phrase[];
  /** The fact as a sentence without its full stop: "Blue Harbor was directed by Tavi Morne". */
  fact: (subject: string, value: string) => string;
  /** For numbers that order entities: what the lower and the higher value make true. */
  order?: { lower: string; higher: string };
  /** For values two entities can share: the yes/no question and the two conclusions. */
  same?: { ask: (a: string, b: string) => string; yes: string; no: string };
  /** For numbers that subtract: the question for their difference, naming the subject with the larger value first. */
  difference?: (larger: string, smaller: string) => string;
}

const ORGANISATIONS = ["studio", "publisher", "label", "society"] as const;
const YEAR_ORDER = { lower: "came out first", higher: "came out later" };
const yearsApart = (verb: string) => (a: string, b: string) => `How many years apart were ${a} and ${b} ${verb}?`;

export const RELATION_SPECS: Record<Relation, RelationSpec> = {
  director: {
    subjects: ["film"],
    object: "person",
    noun: (s) => `the director of ${s}`,
    ask: [(x) => `Who directed ${x}?`],
    fact: (s, v) => `${s} was directed by ${v}`,
  },
  author: {
    subjects: ["novel"],
    object: "person",
    noun: (s) => `the author of ${s}`,
    ask: [(x) => `Who wrote ${x}?`],
    fact: (s, v) => `${s} was written by ${v}`,
  },
  artist: {
    subjects: ["album"],
    object: "person",
    noun: (s) => `the musician who recorded ${s}`,
    ask: [(x) => `Who recorded ${x}?`],
    fact: (s, v) => `${s} was recorded by ${v}`,
  },
  studio: {
    subjects: ["film"],
    object: "studio",
    noun: (s) => `the studio that made ${s}`,
    ask: [(x) => `Which studio made ${x}?`],
    fact: (s, v) => `${s} was made by ${v}`,
  },
  publisher: {
    subjects: ["novel"],
    object: "publisher",
    noun: (s) => `the publisher of ${s}`,
    ask: [(x) => `Who published ${x}?`],
    fact: (s, v) => `${s} was published by ${v}`,
  },
  label: {
    subjects: ["album"],
    object: "label",
    noun: (s) => `the label that released ${s}`,
    ask: [(x) => `Which label released ${x}?`],
    fact: (s, v) => `${s} was released by ${v}`,
  },
  released: {
    subjects: ["film", "album"],
    object: "year",
    noun: (s) => `the year ${s} was released`,
    ask: [(x) => `When was ${x} released?`, (x) => `In what year was ${x} released?`],
    fact: (s, v) => `${s} was released in ${v}`,
    order: YEAR_ORDER,
    difference: yearsApart("released"),
  },
  published: {
    subjects: ["novel"],
    object: "year",
    noun: (s) => `the year ${s} was published`,
    ask: [(x) => `When was ${x} published?`],
    fact: (s, v) => `${s} was published in ${v}`,
    order: YEAR_ORDER,
    difference: yearsApart("published"),
  },
  born: {
    subjects: ["person"],
    object: "year",
    noun: (s) => `the year ${s} was born`,
    ask: [(x) => `In what year was ${x} born?`, (x) => `When was ${x} born?`],
    fact: (s, v) => `${s} was born in ${v}`,
    order: { lower: "was born first", higher: "was born later" },
    difference: yearsApart("born"),
  },
  birthplace: {
    subjects: ["person"],
    object: "city",
    noun: (s) => `the birthplace of ${s}`,
    ask: [(x) => `Where was ${x} born?`, (x) => `In which city was ${x} born?`],
    fact: (s, v) => `${s} was born in ${v}`,
    same: {
      ask: (a, b) => `Were ${a} and ${b} born in the same city?`,
      yes: "they were born in the same city",
      no: "they were not born in the same city",
    },
  },
  member: {
    subjects: ["person"],
    object: "society",
    noun: (s) => `the society ${s} belongs to`,
    ask: [(x) => `Which society is ${x} a member of?`],
    fact: (s, v) => `${s} is a member of ${v}`,
  },
  founder: {
    subjects: ORGANISATIONS,
    object: "person",
    noun: (s) => `the founder of ${s}`,
    ask: [(x) => `Who founded ${x}?`],
    fact: (s, v) => `${s} was founded by ${v}`,
  },
  founded: {
    subjects: [...ORGANISATIONS, "city"],
    object: "year",
    noun: (s) => `the year ${s} was founded`,
    ask: [(x) => `When was ${x} founded?`, (x) => `In what year was ${x} founded?`],
    fact: (s, v) => `${s} was founded in ${v}`,
    order: { lower: "was founded earlier", higher: "was founded later" },
    difference: yearsApart("founded"),
  },
  based: {
    subjects: ORGANISATIONS,
    object: "city",
    noun: (s) => `the city where ${s} is based`,
    ask: [(x) => `Where is ${x} based?`, (x) => `In which city is ${x} based?`],
    fact: (s, v) => `${s} is based in ${v}`,
  },
  country: {
    subjects: ["city"],
    object: "country",
    noun: (s) => `the country of ${s}`,
    ask: [(x) => `In which country is ${x}?`],
    fact: (s, v) => `${s} is in ${v}`,
    same: {
      ask: (a, b) => `Are ${a} and ${b} in the same country?`,
      yes: "they are in the same country",
      no: "they are not in the same country",
    },
  },
  population: {
    subjects: ["city"],
    object: "number",
    noun: (s) => `the population of ${s}`,
    ask: [(x) => `What is the population of ${x}?`, (x) => `How many people live in ${x}?`],
    fact: (s, v) => `${s} has a population of ${v}`,
    order: { lower: "is smaller", higher: "is larger" },
    difference: (a, b) => `How much larger is the population of ${a} than that of ${b}?`,
  },
  capital: {
    subjects: ["country"],
    object: "city",
    noun: (s) => `the capital of ${s}`,
    ask: [(x) => `What is the capital of ${x}?`],
    fact: (s, v) => `The capital of ${s} is ${v}`,
  },
};
