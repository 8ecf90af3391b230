import { z } from "zod";
import { Docstore, titleKey } from "../../tools/wiki/index.ts";
import { parseOptions } from "../options.ts";
import { writeArticle, type Article } from "./articles.ts";
import { buildEntities, vocabularyNeeds } from "./entities.ts";
import { NameBank } from "./names.ts";
import { draftQuestions, type QuestionDraft } from "./questions.ts";
import { Random, SeedSchema } from "../random.ts";
import {
  DEFAULT_FAMILIES,
  DEFAULT_WORLD_SIZES,
  FamiliesSchema,
  SPLITS,
  WORLD_VERSION,
  WorldSizesSchema,
  type Page,
  type Question,
  type Split,
  type World,
  type WorldSizes,
} from "./schema.ts";

/** What a world is generated from, checked: a script's mistake is one line, not a world of another seed. */
const WorldOptionsSchema = z.object({
  seed: SeedSchema,
  /** Questions per split; missing ones take `DEFAULT_WORLD_SIZES`. */
  sizes: WorldSizesSchema.partial().strict().optional(),
  /** Question families to draft; default `DEFAULT_FAMILIES`. The pages do not depend on them, only the questions do. */
  families: FamiliesSchema.readonly().optional(),
});

export type WorldOptions = z.input<typeof WorldOptionsSchema>;

/**
 * Generates a hopworld: a function of the seed, sizes and families alone, so
 * the same options give the same world, byte for byte once serialised.
 */
export function generateWorld(options: WorldOptions): World {
  const asked = parseOptions("generateWorld", WorldOptionsSchema, options);
  const sizes = Object.fromEntries(SPLITS.map((split) => [split, asked.sizes?.[split] ?? DEFAULT_WORLD_SIZES[split]])) as WorldSizes;
  const { seed, families = DEFAULT_FAMILIES } = asked;
  const random = new Random(seed);
  const names = new NameBank(random);
  const splits = SPLITS.map((split) => {
    const entities = buildEntities(sizes[split], names.vocabulary(vocabularyNeeds(sizes[split])), random);
    return { split, entities, articles: entities.map((entity) => writeArticle(entity, random)) };
  });
  const pages: Page[] = splits.flatMap(({ split, articles }) =>
    articles.map((article) => ({ title: article.entity.title, sentences: article.sentences, split })),
  );
  // Ambiguous questions are kept only where the agent's real search behaves as they need.
  const docstore = new Docstore(pages.map((page) => [page.title, page.sentences]));
  const articles = new Map(splits.flatMap((s) => s.articles).map((article) => [titleKey(article.entity.title), article]));
  const questions = splits.flatMap(({ split, entities }) =>
    draftQuestions({ entities, docstore }, sizes[split], random, families).map((draft, i) => finishQuestion(draft, split, i, articles)),
  );
  return { version: WORLD_VERSION, seed, sizes, pages, questions };
}

function finishQuestion(draft: QuestionDraft, split: Split, index: number, articles: ReadonlyMap<string, Article>): Question {
  const supportingFacts = draft.plan.hops.map((hop): [string, number] => {
    const sentence = articles.get(titleKey(hop.title))?.factSentence[hop.relation];
    if (sentence === undefined) throw new Error(`hopworld: no sentence of ${hop.title} states its ${hop.relation}`);
    return [hop.title, sentence];
  });
  const { question, answer, type, plan } = draft;
  return { id: `${split}-${String(index + 1).padStart(5, "0")}`, question, answer, type, split, supportingFacts, plan };
}
