import { ORG_MARKERS, type OrgKind, type Vocabulary, type VocabularyNeeds } from "./names.ts";
import type { Random } from "../random.ts";
import type { Relation } from "./schema.ts";

export type WorkKind = "film" | "novel" | "album";
export const ENTITY_KINDS = ["person", "film", "novel", "album", "studio", "publisher", "label", "society", "city", "country"] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** Facts pages state that no question asks yet: distractors, and numbers for arithmetic questions to come. */
export type Detail = "home" | "setting" | "runtime" | "length" | "songs" | "staff" | "provinces";
export type Fact = Relation | Detail;

export interface Entity {
  kind: EntityKind;
  /** As pages and questions write it. */
  name: string;
  /** The page title: the name, or `name (qualifier)` for entities that share their name. */
  title: string;
  /** What tells apart entities sharing a name (an occupation, a kind of work, a country). No page refers to them. */
  qualifier?: string;
  facts: Partial<Record<Fact, Entity | number>>;
  /** Persons only. */
  occupation?: string;
  pronoun?: "She" | "He";
}

/** The relations of each kind of work: who made it, who brought it out, when, and a count its page gives. */
export const WORK_RELATIONS = {
  film: { creator: "director", producer: "studio", year: "released", count: "runtime" },
  novel: { creator: "author", producer: "publisher", year: "published", count: "length" },
  album: { creator: "artist", producer: "label", year: "released", count: "songs" },
} as const satisfies Record<WorkKind, { creator: Relation; producer: Relation & OrgKind; year: Relation; count: Detail }>;

/** The occupation whose people make each kind of work. */
const CREATORS: Record<WorkKind, string> = { film: "director", novel: "writer", album: "singer" };
const OTHER_OCCUPATIONS = ["painter", "architect", "scientist", "poet", "sculptor", "engineer"];
const WORK_KINDS = Object.keys(CREATORS) as WorkKind[];
const ORG_KINDS = Object.keys(ORG_MARKERS) as OrgKind[];

/** How many entities a split with `questions` questions gets: enough for that many distinct questions. */
function entityCounts(questions: number) {
  const q = Math.max(questions, 50);
  return {
    countries: Math.min(24, Math.max(4, Math.round(q / 60))),
    cities: Math.round(q / 8) + 8,
    persons: Math.round(q / 4) + 12,
    organisations: Math.round(q / 15) + 8,
    works: Math.round(q / 5) + 8,
    /** Pairs of entities sharing a name, for ambiguous questions. */
    namesakes: Math.round(q / 25) + 3,
  };
}

export function vocabularyNeeds(questions: number): VocabularyNeeds {
  const counts = entityCounts(questions);
  return {
    persons: counts.persons + counts.namesakes,
    cities: counts.cities + counts.namesakes,
    countries: counts.countries,
    organisations: counts.organisations,
    titles: counts.works + counts.namesakes,
  };
}

/**
 * The entities of one split and their relations, all within the split. Namesake
 * pairs come last and only point outwards: no page names them, so the only way
 * to one is a question that says which of the two it means.
 */
export function buildEntities(questions: number, vocabulary: Vocabulary, random: Random): Entity[] {
  const counts = entityCounts(questions);
  const build = new EntityFactory(vocabulary, random);
  const countries = times(counts.countries, () => build.country());
  const cities = times(counts.cities, (i) => build.city(countries[i % countries.length]!));
  for (const country of countries) country.facts.capital = cities.find((city) => city.facts.country === country);
  const creative = Object.values(CREATORS);
  const persons = times(counts.persons, (i) =>
    build.person(creative[i] ?? random.pick(random.chance(0.6) ? creative : OTHER_OCCUPATIONS), cities),
  );
  const organisations = times(counts.organisations, (i) => build.organisation(ORG_KINDS[i % ORG_KINDS.length]!, persons, cities));
  const societies = organisations.filter((organisation) => organisation.kind === "society");
  for (const person of persons) if (random.chance(0.4)) person.facts.member = random.pick(societies);
  const works = times(counts.works, () => build.work(random.pick(WORK_KINDS), persons, organisations, cities));
  const namesakes = times(counts.namesakes, () => {
    switch (random.pick(["person", "work", "city"] as const)) {
      case "person": {
        const name = vocabulary.personName();
        return pairOf([...creative, ...OTHER_OCCUPATIONS], random).map((occupation) =>
          qualified(build.person(occupation, cities, name), occupation),
        );
      }
      case "work": {
        const title = vocabulary.title();
        return pairOf(WORK_KINDS, random).map((kind) => qualified(build.work(kind, persons, organisations, cities, title), kind));
      }
      case "city": {
        const name = vocabulary.cityName();
        return pairOf(countries, random).map((country) => qualified(build.city(country, name), country.name));
      }
    }
  });
  return [...countries, ...cities, ...persons, ...organisations, ...works, ...namesakes.flat()];
}

class EntityFactory {
  private readonly populations = new Set<number>();

  constructor(
    private readonly vocabulary: Vocabulary,
    private readonly random: Random,
  ) {}

  country(): Entity {
    return entity("country", this.vocabulary.countryName(), { provinces: this.random.int(4, 30) });
  }

  city(country: Entity, name = this.vocabulary.cityName()): Entity {
    return entity("city", name, { country, founded: this.random.int(900, 1900), population: this.population() });
  }

  person(occupation: string, cities: readonly Entity[], name = this.vocabulary.personName()): Entity {
    const birthplace = this.random.pick(cities);
    const home = this.random.chance(0.5) ? this.random.pick(cities) : undefined;
    return {
      ...entity("person", name, { born: this.random.int(1870, 1990), birthplace, ...(home !== birthplace && home && { home }) }),
      occupation,
      pronoun: this.random.pick(["She", "He"] as const),
    };
  }

  organisation(kind: OrgKind, persons: readonly Entity[], cities: readonly Entity[]): Entity {
    const founder = this.random.pick(persons);
    const born = founder.facts.born as number;
    return entity(kind, this.vocabulary.organisationName(kind), {
      founder,
      founded: born + this.random.int(25, Math.min(60, 2020 - born)),
      based: this.random.pick(cities),
      staff: this.random.int(12, 2400),
    });
  }

  work(
    kind: WorkKind,
    persons: readonly Entity[],
    organisations: readonly Entity[],
    cities: readonly Entity[],
    title = this.vocabulary.title(),
  ): Entity {
    const relations = WORK_RELATIONS[kind];
    const creator = this.random.pick(persons.filter((person) => person.occupation === CREATORS[kind]));
    const born = creator.facts.born as number;
    const counts = { runtime: [75, 180], length: [120, 900], songs: [6, 18] } as const;
    const [least, most] = counts[relations.count];
    return entity(kind, title, {
      [relations.creator]: creator,
      [relations.producer]: this.random.pick(organisations.filter((organisation) => organisation.kind === relations.producer)),
      [relations.year]: born + this.random.int(20, Math.min(55, 2023 - born)),
      [relations.count]: this.random.int(least, most),
      ...(this.random.chance(0.4) && { setting: this.random.pick(cities) }),
    });
  }

  /** Distinct, so comparing two cities' sizes never ties. */
  private population(): number {
    let population: number;
    do population = this.random.int(20, 9000) * 100 + this.random.int(0, 99);
    while (this.populations.has(population));
    this.populations.add(population);
    return population;
  }
}

function entity(kind: EntityKind, name: string, facts: Entity["facts"]): Entity {
  return { kind, name, title: name, facts };
}

function qualified(entity: Entity, qualifier: string): Entity {
  return { ...entity, qualifier, title: `${entity.name} (${qualifier})` };
}

function pairOf<T>(items: readonly T[], random: Random): [T, T] {
  const [first, second] = random.shuffle(items);
  return [first!, second!];
}

function times<T>(count: number, make: (index: number) => T): T[] {
  return Array.from({ length: count }, (_, index) => make(index));
}
