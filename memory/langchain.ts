import { Document } from "@langchain/core/documents";
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import type { VectorHit, VectorIndex } from "./vector-index.ts";

/**
 * Any LangChain vector store as a `VectorIndex`, for memories kept in a
 * database (or LangChain's in-memory store). Each vector is stored as a document
 * whose metadata holds its id. The store keeps itself: the memory does not save
 * it, and an id added twice is replaced only if the store upserts by id. Scores
 * are whatever the store reports (most give cosine similarity).
 */
export class VectorStoreIndex implements VectorIndex {
  private readonly ids = new Set<string>();

  constructor(readonly store: VectorStoreInterface) {}

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
      if ((!filter || filter(id)) && !hits.some((hit) => hit.id === id)) hits.push({ id, score });
    }
    return hits.slice(0, k);
  }
}
