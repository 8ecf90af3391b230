/** One search hit: the id given at `add`, and its cosine similarity to the query (1 is the same direction). */
export interface VectorHit {
  id: string;
  score: number;
}

/**
 * Nearest-neighbour search over vectors with string ids. `HnswIndex` is the
 * default; `VectorStoreIndex` puts any LangChain vector store behind it.
 */
export interface VectorIndex {
  /** Vectors held. */
  readonly size: number;
  /** Adds vectors; an id already present gets the new vector. */
  add(ids: readonly string[], vectors: readonly number[][]): Promise<void>;
  /** The `k` most similar vectors, best first, among those whose id passes `filter`. */
  search(vector: readonly number[], k: number, filter?: (id: string) => boolean): Promise<VectorHit[]>;
  has(id: string): boolean;
}
