import { z } from "zod";
import { titleKey } from "../../tools/wiki/index.ts";

/** Bumped whenever a field changes meaning; `loadWorld` rejects versions it does not know. */
export const WORLD_VERSION = 1;

export const SPLITS = ["train", "dev", "test"] as const;
export const SplitSchema = z.enum(SPLITS);

/** Question families, stored as the task `type`, so benchmark summaries break EM down by them. */
export const QUESTION_TYPES = ["bridge2", "bridge3", "comparison", "ambiguous", "compute"] as const;
export const QuestionTypeSchema = z.enum(QUESTION_TYPES);

/**
 * The families a world has unless asked for others. `compute` (two searches, then
 * `Code[...]`) is opt-in, so the worlds of existing seeds stay byte for byte as they were.
 */
export const DEFAULT_FAMILIES: readonly QuestionType[] = ["bridge2", "bridge3", "comparison", "ambiguous"];

/** Families asked for by name; the world drafts them in `QUESTION_TYPES` order, each once. */
export const FamiliesSchema = z
  .array(
    z.enum(QUESTION_TYPES, {
      error: (issue) => `unknown question family ${JSON.stringify(issue.input)} (known: ${QUESTION_TYPES.join(", ")})`,
    }),
  )
  .min(1, "name at least one question family")
  .transform((families) => QUESTION_TYPES.filter((type) => families.includes(type)));

/** Facts a question may ask about; `relations.ts` phrases each of them. */
export const RELATIONS = [
  "director",
  "author",
  "artist",
  "studio",
  "publisher",
  "label",
  "released",
  "published",
  "born",
  "birthplace",
  "member",
  "founder",
  "founded",
  "based",
  "country",
  "population",
  "capital",
] as const;
export const RelationSchema = z.enum(RELATIONS);

export const PageSchema = z.object({
  title: z.string().min(1),
  sentences: z.array(z.string().min(1)).min(1),
  split: SplitSchema,
});

/** One search and the one fact its page gives. */
export const HopSchema = z.object({
  /** The page that states the fact. */
  title: z.string().min(1),
  /** A bare name to search first: it misses, and the Similar list offers `title` (ambiguous questions). */
  query: z.string().min(1).optional(),
  /** The entity as the page names it. */
  subject: z.string().min(1),
  relation: RelationSchema,
  value: z.string().min(1),
});

/**
 * How an agent answers: the hops in search order, then how the answer follows
 * from their facts: the last value, the subject with the lower or higher
 * value, whether the values are the same (yes/no), or the larger number minus
 * the smaller (computed with `Code[...]`).
 */
export const PlanSchema = z.object({
  hops: z.array(HopSchema).min(1),
  answerFrom: z.enum(["last", "lower", "higher", "same", "difference"]),
});

export const QuestionSchema = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  answer: z.string().min(1),
  type: QuestionTypeSchema,
  split: SplitSchema,
  /** `[title, sentence index]` in the order an agent should search the pages. */
  supportingFacts: z.array(z.tuple([z.string(), z.number().int().nonnegative()])).min(1),
  plan: PlanSchema,
});

/** Questions per split; entity counts follow from them. */
export const WorldSizesSchema = z.object({
  train: z.number().int().min(1).max(10_000),
  dev: z.number().int().min(1).max(2_000),
  test: z.number().int().min(1).max(2_000),
});

export const DEFAULT_WORLD_SIZES: WorldSizes = { train: 3000, dev: 300, test: 300 };

export const WorldSchema = z
  .object({
    version: z.literal(WORLD_VERSION),
    seed: z.number().int(),
    sizes: WorldSizesSchema,
    pages: z.array(PageSchema),
    questions: z.array(QuestionSchema),
  })
  .superRefine((world, ctx) => {
    for (const problem of integrityProblems(world)) ctx.addIssue({ code: "custom", ...problem });
  });

export type Split = z.infer<typeof SplitSchema>;
export type QuestionType = z.infer<typeof QuestionTypeSchema>;
export type Relation = z.infer<typeof RelationSchema>;
export type Page = z.infer<typeof PageSchema>;
export type Hop = z.infer<typeof HopSchema>;
export type Plan = z.infer<typeof PlanSchema>;
export type Question = z.infer<typeof QuestionSchema>;
export type WorldSizes = z.infer<typeof WorldSizesSchema>;
export type World = z.infer<typeof WorldSchema>;

interface Problem {
  path: (string | number)[];
  message: string;
}

/** What the types cannot say: titles are unique, ids are unique, and every reference names a real page and sentence. */
function* integrityProblems(world: Pick<World, "pages" | "questions">): Generator<Problem> {
  const pages = new Map<string, Page>();
  for (const [i, page] of world.pages.entries()) {
    const key = titleKey(page.title);
    if (pages.has(key)) yield { path: ["pages", i, "title"], message: `duplicate page title ${page.title}` };
    pages.set(key, page);
  }
  const ids = new Set<string>();
  for (const [i, question] of world.questions.entries()) {
    if (ids.has(question.id)) yield { path: ["questions", i, "id"], message: `duplicate question id ${question.id}` };
    ids.add(question.id);
    for (const [j, [title, sentence]] of question.supportingFacts.entries()) {
      const page = pages.get(titleKey(title));
      if (page?.sentences[sentence] === undefined) {
        yield { path: ["questions", i, "supportingFacts", j], message: `no sentence ${sentence} on a page titled ${title}` };
      }
    }
    for (const [j, hop] of question.plan.hops.entries()) {
      if (!pages.has(titleKey(hop.title))) yield { path: ["questions", i, "plan", "hops", j], message: `no page titled ${hop.title}` };
    }
  }
}
