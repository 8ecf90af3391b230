// hopworld: a seeded fictional encyclopedia with multi-hop questions a small model can learn, and an expert that solves them.
export { ExpertPolicy, UNKNOWN_ANSWER } from "./expert.ts";
export { loadWorld, serializeWorld } from "./file.ts";
export { generateWorld, type WorldOptions } from "./generate.ts";
export { planComputation, type Computation } from "./computation.ts";
export {
  DEFAULT_FAMILIES,
  DEFAULT_WORLD_SIZES,
  FamiliesSchema,
  QUESTION_TYPES,
  SPLITS,
  SplitSchema,
  WORLD_VERSION,
  WorldSchema,
  WorldSizesSchema,
  type Hop,
  type Page,
  type Plan,
  type Question,
  type QuestionType,
  type Relation,
  type Split,
  type World,
  type WorldSizes,
} from "./schema.ts";
export { RECURRENCES, recurringQuestions, StreamOptionsSchema, type Recurrence, type StreamItem, type StreamOptions } from "./recurring.ts";
export { worldStats, type SplitCounts, type WorldStats } from "./stats.ts";
export { HOPWORLD_PROMPT, worldDocstore, worldEnvironment, worldEnvironments, worldTasks } from "./tasks.ts";
export { pretrainingCorpus, worldCorpus } from "./corpus.ts";
