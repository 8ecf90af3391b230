import type { Random } from "../random.ts";

/** Kinds of organisation, each with the words its names end in. */
export const ORG_MARKERS = {
  studio: ["Studios", "Pictures"],
  publisher: ["Press", "Books"],
  label: ["Records", "Sound"],
  society: ["Academy", "Guild", "Circle"],
} as const;
export type OrgKind = keyof typeof ORG_MARKERS;

// Plain consonants and open syllables are the commonest, so names stay short and sayable.
const ONSETS = "b d f g h k l m n p r s t v z b d k l m n r s t v br dr gr kr tr st th".split(" ");
const VOWELS = "a e i o u a e i o".split(" ");
const CODAS = ["", "", "", "", "", "", "n", "r", "l", "s", "m", "n", "r", "rn", "nd"];
const CITY_SUFFIXES = "ford holm by ton wick mouth dale mere stead haven burg field".split(" ");
const COUNTRY_ENDINGS = "ria nia lia land".split(" ");

/** Work titles are English, so a title reads as a work and an invented word as a person or place. */
const ADJECTIVES = `Blue Silent Red Golden Hidden Broken Quiet Distant Burning Silver Wild Hollow Bright Pale Frozen
  Crimson Empty Lonely Gentle Iron Velvet Bitter Endless Sudden Scarlet Green Dark Ancient Electric Paper Glass Amber
  Restless Fallen Sleeping Wandering Painted Narrow Salt Stolen Borrowed Heavy Tender Cold Warm Shining Faded Twisted
  Lost Final Copper Ivory Marble Rusty Misty Sunken Weary Brave Crooked Humble Savage Lucky Hungry Secret`.split(/\s+/);
const NOUNS = `Harbor Lantern River Garden Mirror Ember Stone Road Crown Bell Tide Orchard Meadow Tower Island Letter
  Night Storm Feather Shadow Window Forest Valley Anchor Compass Horizon Candle Voyage Echo Signal Thread Arrow Harvest
  Kingdom Frontier Lighthouse Bridge Sparrow Raven Wolf Fox Rain Snow Moon Star Ocean Desert Mountain Canyon Fountain
  Castle Chapel Carnival Circus Engine Clock Door Ladder Rope Sail Ship Wheel Dream Promise Whisper Thunder`.split(/\s+/);

/** Words of the page and question templates: an invented name must never be one of them. */
const TEMPLATE_WORDS = `about album an and are artist author based belongs born by came city comes country directed
  director film first for founded founder from guild has have he in is it its known label larger later lives live
  member members minutes music new novel of old on or pages people population press produced publisher published
  recorded records released runs same set she smaller society song songs sound studio studios that the there to town
  was were when where which who with wrote year academy circle books pictures`.split(/\s+/);

/** How many names of each sort a split needs. */
export interface VocabularyNeeds {
  persons: number;
  cities: number;
  countries: number;
  organisations: number;
  titles: number;
}

/**
 * Hands out name words so that no word is used by two splits: a name of one
 * split then never occurs in another's text, and a search from one split never
 * ranks another split's pages by a shared name word.
 */
export class NameBank {
  private readonly used = new Set([...TEMPLATE_WORDS, ...ADJECTIVES, ...NOUNS].map((word) => word.toLowerCase()));
  private readonly adjectives: string[];
  private readonly nouns: string[];

  constructor(private readonly random: Random) {
    this.adjectives = random.shuffle(ADJECTIVES);
    this.nouns = random.shuffle(NOUNS);
  }

  /** The words of one split, sized so names can repeat a first name or a surname (distractors) yet stay unique. */
  vocabulary(needs: VocabularyNeeds): Vocabulary {
    const cityStems = this.freshWords(Math.ceil(needs.cities / 1.5), () => this.invent(this.random.chance(0.7) ? 1 : 2));
    const cities = this.freshWords(needs.cities, () => this.random.pick(cityStems) + this.random.pick(CITY_SUFFIXES));
    const titleWords = Math.ceil(Math.sqrt(needs.titles)) + 2;
    if (titleWords > this.adjectives.length || titleWords > this.nouns.length) {
      throw new RangeError("hopworld: too many works for the title word lists; ask for fewer questions");
    }
    return new Vocabulary(this.random, {
      firstNames: this.freshWords(Math.ceil(needs.persons / 3) + 3, () => this.invent(2)),
      surnames: this.freshWords(Math.ceil(needs.persons / 2) + 3, () => this.invent(2)),
      cities,
      countries: this.freshWords(needs.countries, () => this.invent(2, false) + this.random.pick(COUNTRY_ENDINGS)),
      organisations: this.freshWords(needs.organisations, () => this.invent(2)),
      adjectives: this.adjectives.splice(0, titleWords),
      nouns: this.nouns.splice(0, titleWords),
    });
  }

  private freshWords(count: number, make: () => string): string[] {
    return Array.from({ length: count }, () => this.fresh(make));
  }

  private fresh(make: () => string): string {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const word = make();
      const key = word.toLowerCase();
      if (!this.used.has(key)) {
        this.used.add(key);
        return word;
      }
    }
    throw new RangeError("hopworld: ran out of fresh name words");
  }

  /** A capitalised invented word of `syllables` syllables, e.g. "Tavin". */
  private invent(syllables: number, endInCoda = true): string {
    let word = "";
    for (let i = 0; i < syllables; i++) {
      const last = i === syllables - 1;
      word += this.random.pick(ONSETS) + this.random.pick(VOWELS) + (last && !endInCoda ? "" : this.random.pick(CODAS));
    }
    return word[0]!.toUpperCase() + word.slice(1);
  }
}

interface VocabularyWords {
  firstNames: string[];
  surnames: string[];
  cities: string[];
  countries: string[];
  organisations: string[];
  adjectives: string[];
  nouns: string[];
}

/** The names one split may use; every name it returns is new in the split. */
export class Vocabulary {
  private readonly taken = new Set<string>();

  constructor(
    private readonly random: Random,
    private readonly words: VocabularyWords,
  ) {}

  personName(): string {
    return this.unique(() => `${this.random.pick(this.words.firstNames)} ${this.random.pick(this.words.surnames)}`);
  }

  cityName(): string {
    return this.next(this.words.cities, "city");
  }

  countryName(): string {
    return this.next(this.words.countries, "country");
  }

  organisationName(kind: OrgKind): string {
    return `${this.next(this.words.organisations, "organisation")} ${this.random.pick(ORG_MARKERS[kind])}`;
  }

  /** `Silent Harbor`, `The Silent Harbor`, `Echo of the River`: unique without a leading "The". */
  title(): string {
    const { adjectives, nouns } = this.words;
    const title = this.unique(() =>
      this.random.chance(0.6)
        ? `${this.random.pick(adjectives)} ${this.random.pick(nouns)}`
        : `${this.random.pick(nouns)} of the ${this.random.pick(nouns)}`,
    );
    return this.random.chance(0.3) ? `The ${title}` : title;
  }

  private next(list: string[], what: string): string {
    const name = list.shift();
    if (name === undefined) throw new RangeError(`hopworld: no ${what} names left`);
    return name;
  }

  private unique(make: () => string): string {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const name = make();
      if (!this.taken.has(name) && !/^(\w+) of the \1$/.test(name)) {
        this.taken.add(name);
        return name;
      }
    }
    throw new RangeError("hopworld: ran out of unique names");
  }
}
