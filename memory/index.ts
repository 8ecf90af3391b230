export {
  HashingEmbedder,
  openAIEmbedder,
  type Embedder,
  type HashingEmbedderOptions,
  type OpenAIEmbedderOptions,
} from "./embedder.ts";
export {
  EpisodicMemory,
  type MemoryOptions,
  type MemoryRecord,
  type RecallOptions,
  type Recollection,
} from "./episodic.ts";
export { fewShotPrompt, type FewShotOptions } from "./few-shot.ts";
export { HnswIndex, IndexFileError, type HnswOptions, type SavedDocument } from "./hnsw.ts";
export { VectorStoreIndex, type VectorStoreIndexOptions, type VectorStoreLike } from "./langchain-store.ts";
export { latestSnapshot } from "./persistence.ts";
export { parseRecallObservation, recallTool, type RecalledEpisode, type RecallToolOptions } from "./recall.ts";
export type { VectorHit, VectorIndex } from "./vector-index.ts";
