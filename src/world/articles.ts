import { WORK_RELATIONS, type Entity, type Fact, type WorkKind } from "./entities.ts";
import type { Random } from "../random.ts";

/** A page's sentences, and which sentence states each fact (for supporting facts). */
export interface Article {
  entity: Entity;
  sentences: string[];
  factSentence: Partial<Record<Fact, number>>;
}

interface Sentence {
  text: string;
  facts: Fact[];
}

/** Search shows this many sentences, so every fact a question needs must come before it. */
const MAX_SENTENCES = 5;
const EXTRA_SENTENCE_CHANCE = 0.6;

const STYLES: Record<string, string[]> = {
  director: ["quiet dramas", "long takes", "war films"],
  writer: ["short chapters", "family sagas", "sharp dialogue"],
  singer: ["folk ballads", "deep voice", "long tours"],
  painter: ["bright landscapes", "portraits", "large murals"],
  architect: ["glass towers", "stone houses", "public libraries"],
  scientist: ["work on light", "studies of birds", "new vaccines"],
  poet: ["short poems", "love poems", "plain words"],
  sculptor: ["bronze figures", "marble heads", "tall statues"],
  engineer: ["railway bridges", "water pumps", "fast engines"],
};
const CITY_FEATURES = ["old bridges", "markets", "gardens", "glassworks", "wool trade", "harbour", "cathedral", "festivals"];
const COUNTRY_ADJECTIVES = ["small", "large", "mountainous", "coastal", "northern", "southern", "flat", "forested"];
const ORGANISATION_NOUNS = {
  studio: ["film studio"],
  publisher: ["publishing house"],
  label: ["record label"],
  society: ["society of artists", "learned society"],
} as const;

/** A short encyclopedia page about one entity, in words picked from a few templates. */
export function writeArticle(entity: Entity, random: Random): Article {
  const [lead, required, extras] = sentencesAbout(entity, random);
  // Extras are distractors, but each costs context in every episode that reads the page.
  const kept = extras.filter(() => random.chance(EXTRA_SENTENCE_CHANCE));
  const room = Math.max(0, MAX_SENTENCES - lead.length - required.length);
  const body = random.shuffle([...required, ...random.shuffle(kept).slice(0, room)]);
  const sentences = [...lead, ...body];
  const factSentence: Article["factSentence"] = {};
  sentences.forEach((sentence, index) => {
    for (const fact of sentence.facts) factSentence[fact] = index;
  });
  return { entity, sentences: sentences.map((sentence) => sentence.text), factSentence };
}

/** The opening sentences (in order), the sentences any question may need, and optional ones. */
type Parts = [lead: Sentence[], required: Sentence[], extras: Sentence[]];

function sentencesAbout(entity: Entity, random: Random): Parts {
  switch (entity.kind) {
    case "person":
      return personParts(entity, random);
    case "film":
    case "novel":
    case "album":
      return workParts(entity, entity.kind, random);
    case "city":
      return cityParts(entity, random);
    case "country":
      return countryParts(entity, random);
    default:
      return organisationParts(entity, entity.kind, random);
  }
}

function personParts(person: Entity, random: Random): Parts {
  const { name, occupation = "person", pronoun = "She" } = person;
  const born = fact(person, "born");
  const lead = random.chance(0.5)
    ? say(`${name} (born ${born}) is ${withArticle(occupation)}.`, "born")
    : say(`${name} is ${withArticle(occupation)} born in ${born}.`, "born");
  const birthplace = fact(person, "birthplace");
  const required = [
    say(random.pick([`${pronoun} was born in ${birthplace}.`, `${pronoun} was born in the city of ${birthplace}.`]), "birthplace"),
  ];
  if (person.facts.member) {
    const society = fact(person, "member");
    required.push(say(random.pick([`${pronoun} is a member of ${society}.`, `${pronoun} belongs to ${society}.`]), "member"));
  }
  const extras = [say(`${pronoun} is known for ${pronoun === "She" ? "her" : "his"} ${random.pick(STYLES[occupation] ?? ["work"])}.`)];
  if (person.facts.home) {
    const home = fact(person, "home");
    extras.push(say(random.pick([`${pronoun} lives in ${home}.`, `${pronoun} now lives in ${home}.`]), "home"));
  }
  return [[lead], required, extras];
}

function workParts(work: Entity, kind: WorkKind, random: Random): Parts {
  const relations = WORK_RELATIONS[kind];
  const { name } = work;
  const [creator, year, producer] = [fact(work, relations.creator), fact(work, relations.year), fact(work, relations.producer)];
  const lead = random.chance(0.5)
    ? [say(`${name} is a ${year} ${kind} by ${creator}.`, relations.creator, relations.year)]
    : [say(`${name} is ${withArticle(kind)} by ${creator}.`, relations.creator), say(`It came out in ${year}.`, relations.year)];
  const verb = { film: "made", novel: "published", album: "released" }[kind];
  const active = `${producer} ${verb === "made" ? "produced" : verb} it.`;
  const required = [say(random.pick([`It was ${verb} by ${producer}.`, active]), relations.producer)];
  const count = fact(work, relations.count);
  const extras = [
    say({ film: `It runs for ${count} minutes.`, novel: `It has ${count} pages.`, album: `It has ${count} songs.` }[kind], relations.count),
  ];
  if (work.facts.setting) extras.push(say(`It is set in ${fact(work, "setting")}.`, "setting"));
  return [lead, required, extras];
}

function organisationParts(organisation: Entity, kind: keyof typeof ORGANISATION_NOUNS, random: Random): Parts {
  const { name } = organisation;
  const [noun, founder, founded, city] = [
    random.pick(ORGANISATION_NOUNS[kind]),
    fact(organisation, "founder"),
    fact(organisation, "founded"),
    fact(organisation, "based"),
  ];
  const lead = random.chance(0.5)
    ? [say(`${name} is a ${noun} founded in ${founded}.`, "founded"), say(`It was founded by ${founder}.`, "founder")]
    : [say(`${name} is a ${noun}.`), say(`${founder} founded it in ${founded}.`, "founder", "founded")];
  const required = [say(random.pick([`It is based in ${city}.`, `Its offices are in ${city}.`]), "based")];
  const staff = fact(organisation, "staff");
  const extras = [say(kind === "society" ? `It has ${staff} members.` : `It has ${staff} employees.`, "staff")];
  return [lead, required, extras];
}

function cityParts(city: Entity, random: Random): Parts {
  const [name, country, population] = [city.name, fact(city, "country"), fact(city, "population")];
  const lead = say(`${name} is a ${random.pick(["city", "town"])} in ${country}.`, "country");
  const required = [
    say(`It was founded in ${fact(city, "founded")}.`, "founded"),
    say(random.pick([`It has a population of ${population}.`, `About ${population} people live there.`]), "population"),
  ];
  return [[lead], required, [say(`It is known for its ${random.pick(CITY_FEATURES)}.`)]];
}

function countryParts(country: Entity, random: Random): Parts {
  const { name } = country;
  const capital = fact(country, "capital");
  const lead = say(`${name} is a ${random.pick(COUNTRY_ADJECTIVES)} country.`);
  const required = [say(random.pick([`Its capital is ${capital}.`, `The capital of ${name} is ${capital}.`]), "capital")];
  return [[lead], required, [say(`It has ${fact(country, "provinces")} provinces.`, "provinces")]];
}

function say(text: string, ...facts: Fact[]): Sentence {
  return { text, facts };
}

/** How a page writes a fact's value: an entity by its name, a number in digits. */
export function fact(entity: Entity, name: Fact): string {
  const value = entity.facts[name];
  if (value === undefined) throw new Error(`hopworld: ${entity.title} has no ${name}`);
  return typeof value === "number" ? String(value) : value.name;
}

function withArticle(noun: string): string {
  return `${/^[aeiou]/.test(noun) ? "an" : "a"} ${noun}`;
}
