export { Bm25Index, tokenize, type Bm25Hit, type Bm25Options } from "./bm25.ts";
export { Docstore, titleKey, type WikiPage } from "./docstore.ts";
export { WikiEnvironment, pythonListRepr } from "./environment.ts";
export {
  exactMatch,
  f1Score,
  fuzzyMatch,
  levenshteinRatio,
  normalizeAnswer,
  scoreAnswer,
  type F1Result,
} from "./metrics.ts";
export { ParagraphSchema, QaTaskSchema, type Paragraph, type QaTask } from "./task.ts";
