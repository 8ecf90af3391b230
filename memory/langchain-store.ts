import { Document } from "@langchain/core/documents";
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import type { VectorHit, VectorIndex } from "./vector-index.ts";

/** What the index uses of a LangChain vector store (read by shape: any copy of @langchain/core will do). */
export type VectorStoreLike = Pick<VectorStoreInterface, "addVectors" | "similaritySearchVectorWithScore" | "_vectorstoreType">;

export interface VectorStoreIndexOptions {
  /**
   * Turns a score the store reports into cosine similarity (1 for the same
   * direction). Needed for stores other than LangChain's in-memory one and
   * HNSWLib, whose scores are known: stores report similarities or distances
   * of several kinds, and recall thresholds need similarities.
   */
  similarity?: (score: number) => number;
}

/**
 * Any LangChain vector store as a `VectorIndex`, for memories kept in a
 * database (or LangChain's in-memory store, or HNSWLib). Each vector is stored
 * as a document whose metadata holds its id. The store keeps itself: the
 * memory does not save it, and an id added twice is replaced only if the
 * store upserts by id. The index knows the ids it added, not those the store
 * held before.
 */
export class VectorStoreIndex implements VectorIndex {
  private readonly ids = new Set<string>();
  private readonly similarity: (score: number) => number;

  constructor(
    readonly store: VectorStoreLike,
    options: VectorStoreIndexOptions = {},
  ) {
    const similarity = options.similarity ?? knownSimilarity(store);
    if (!similarity) {
      throw new Error(
        `VectorStoreIndex does not know what a "${store._vectorstoreType()}" store's scores mean: ` +
          "pass { similarity: (score) => ... } turning them into cosine similarity.",
      );
    }
    this.similarity = similarity;
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  async add(ids: readonly string[], vectors: readonly number[][]): Promise<void> {
    const documents = ids.map((id) => new Document({ pageContent: id, metadata: { id } }));
    await this.store.addVectors(
      vectors.map((vector) => [...vector]),
      documents,
      { ids: [...ids] },
    );
    for (const id of ids) this.ids.add(id);
  }

  async search(vector: readonly number[], k: number, filter?: (id: string) => boolean): Promise<VectorHit[]> {
    if (k < 1 || this.size === 0) return [];
    // Stores each take their own kind of filter, so with one this ranks everything and filters here.
    const wanted = Math.min(filter ? this.size : k, this.size);
    const ranked = await this.store.similaritySearchVectorWithScore([...vector], wanted);
    const hits: VectorHit[] = [];
    for (const [document, score] of ranked) {
      const id = String(document.metadata.id);
      if ((!filter || filter(id)) && !hits.some((hit) => hit.id === id)) hits.push({ id, score: this.similarity(score) });
    }
    return hits.slice(0, k);
  }
}

/**
 * Cosine similarity from the scores of the stores whose scores are known:
 * LangChain's in-memory store gives its similarity function's value (cosine
 * unless another is set); HNSWLib in cosine space (as its fromTexts and fromDocuments make it) gives
 * hnswlib's distance, 1 - cosine. Other spaces' distances are cosines only for unit vectors.
 */
function knownSimilarity(store: VectorStoreLike): ((score: number) => number) | undefined {
  const type = store._vectorstoreType();
  if (type === "memory") {
    const { similarity } = store as { similarity?: { name?: string } };
    return similarity?.name === "cosine" ? (score) => score : undefined;
  }
  if (type === "hnswlib") {
    const space = (store as { args?: { space?: string } }).args?.space;
    return space === "cosine" ? (distance) => 1 - distance : undefined;
  }
  return undefined;
}
