import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import hnswlib from "hnswlib-node";
import { z } from "zod";
import { latestSnapshot, writeSnapshot } from "./persistence.ts";
import type { VectorHit, VectorIndex } from "./vector-index.ts";

const { HierarchicalNSW } = hnswlib;

export interface HnswOptions {
  /** Links per node (hnswlib's M): more is more accurate, bigger and slower to build. Default 16. */
  m?: number;
  /** Candidate list while building: more is more accurate and slower to build. Default 200. */
  efConstruction?: number;
  /** Candidate list while searching (raised to k when smaller): more is more accurate and slower. Default 64. */
  ef?: number;
  /** Seed for the level draw, so a build is reproducible. Default 100. */
  seed?: number;
  /** What made the vectors (an embedder's name), saved with them so a reader can tell whether its own vectors fit. */
  source?: string;
}

const MetaSchema = z.object({
  version: z.literal(1),
  /** Null while empty: the first vector sets it. */
  dims: z.number().int().positive().nullable(),
  m: z.number().int().positive(),
  efConstruction: z.number().int().positive(),
  ef: z.number().int().positive(),
  seed: z.number().int(),
  source: z.string(),
  /** The id of each hnswlib label: label i is `ids[i]`. */
  ids: z.array(z.string()),
});

// A snapshot is also what LangChain's HNSWLib.load reads: the index under its
// name, args.json and docstore.json (a document per label).
const INDEX_FILE = "hnswlib.index";
/** The index file's name before snapshots were LangChain-readable; still read. */
const OLD_INDEX_FILE = "index.hnsw";
const META_FILE = "meta.json";
const LANGCHAIN_ARGS_FILE = "args.json";
const LANGCHAIN_DOCSTORE_FILE = "docstore.json";
const INITIAL_CAPACITY = 1024;

/** A LangChain document: what HNSWLib returns for a vector. */
export interface SavedDocument {
  pageContent: string;
  metadata: Record<string, unknown>;
}

/** A saved index that cannot be read: names the folder. */
export class IndexFileError extends Error {
  override name = "IndexFileError";
}

/**
 * An approximate nearest-neighbour index (hnswlib's HNSW graph) in cosine
 * space. Its dimension is set by the first vector added. Saved as snapshots
 * (see persistence.ts): a crash during a save leaves the previous save loadable.
 * A snapshot folder (`latestSnapshot(dir)`) also loads with LangChain's
 * `HNSWLib.load`, whose searches return its documents.
 */
export class HnswIndex implements VectorIndex {
  private index: InstanceType<typeof HierarchicalNSW> | undefined;
  private readonly ids: string[] = [];
  private readonly labels = new Map<string, number>();
  private readonly settings: Required<HnswOptions>;

  constructor(options: HnswOptions = {}) {
    this.settings = { m: 16, efConstruction: 200, ef: 64, seed: 100, source: "", ...options };
  }

  get source(): string {
    return this.settings.source;
  }

  /** The search candidate list: raise it for recall, lower it for speed; no rebuild needed. */
  get ef(): number {
    return this.settings.ef;
  }

  set ef(ef: number) {
    if (!Number.isInteger(ef) || ef < 1) throw new RangeError(`ef must be a positive integer, got ${ef}`);
    this.settings.ef = ef;
  }

  get size(): number {
    return this.ids.length;
  }

  get dims(): number | undefined {
    return this.index?.getNumDimensions();
  }

  has(id: string): boolean {
    return this.labels.has(id);
  }

  async add(ids: readonly string[], vectors: readonly number[][]): Promise<void> {
    if (ids.length !== vectors.length) throw new Error(`add: ${ids.length} ids but ${vectors.length} vectors`);
    if (vectors.length === 0) return;
    const index = this.indexFor(vectors[0]!.length);
    const needed = this.ids.length + ids.filter((id) => !this.labels.has(id)).length;
    if (needed > index.getMaxElements()) index.resizeIndex(Math.max(needed, 2 * index.getMaxElements()));
    for (const [i, id] of ids.entries()) {
      let label = this.labels.get(id);
      if (label === undefined) {
        label = this.ids.length;
        this.ids.push(id);
        this.labels.set(id, label);
      }
      // hnswlib takes plain arrays only; an existing label gets the new vector.
      index.addPoint(Array.from(vectors[i]!), label);
    }
  }

  async search(vector: readonly number[], k: number, filter?: (id: string) => boolean): Promise<VectorHit[]> {
    if (!this.index || k < 1 || this.size === 0) return [];
    const n = Math.min(k, this.size);
    this.index.setEf(Math.max(this.settings.ef, n));
    const result = this.index.searchKnn(Array.from(vector), n, filter && ((label) => filter(this.ids[label]!)));
    return result.neighbors.map((label, i) => ({ id: this.ids[label]!, score: 1 - result.distances[i]! }));
  }

  /**
   * Saves the index into `dir` as a new snapshot. `document` says what
   * HNSWLib.load users get back for an id; where it gives none, the id as the text.
   */
  async save(dir: string, document: (id: string) => SavedDocument | undefined = () => undefined): Promise<void> {
    await writeSnapshot(dir, async (folder) => {
      const meta: z.infer<typeof MetaSchema> = { version: 1, dims: this.dims ?? null, ...this.settings, ids: this.ids };
      await writeFile(join(folder, META_FILE), JSON.stringify(meta));
      if (!this.index) return;
      await this.index.writeIndex(join(folder, INDEX_FILE));
      // HNSWLib's own save format: its constructor arguments, and [label, document] pairs.
      await writeFile(join(folder, LANGCHAIN_ARGS_FILE), JSON.stringify({ space: "cosine", numDimensions: this.dims }));
      await writeFile(join(folder, LANGCHAIN_DOCSTORE_FILE), JSON.stringify(this.ids.map((id, label) => [String(label), document(id) ?? { pageContent: id, metadata: { id } }])));
    });
  }

  /** Reads the newest snapshot saved in `dir`. */
  static async load(dir: string): Promise<HnswIndex> {
    const folder = await latestSnapshot(dir);
    if (!folder) throw new IndexFileError(`no saved index in ${dir}`);
    const meta = MetaSchema.safeParse(await readFile(join(folder, META_FILE), "utf8").then(JSON.parse).catch(() => null));
    if (!meta.success) throw new IndexFileError(`${join(folder, META_FILE)} is missing or not an index description`);
    const { ids, dims, ...settings } = meta.data;
    const loaded = new HnswIndex(settings);
    for (const [label, id] of ids.entries()) {
      loaded.ids.push(id);
      loaded.labels.set(id, label);
    }
    if (dims !== null) {
      loaded.index = new HierarchicalNSW("cosine", dims);
      const file = join(folder, (await readdir(folder)).includes(OLD_INDEX_FILE) ? OLD_INDEX_FILE : INDEX_FILE);
      await loaded.index.readIndex(file).catch((error: Error) => {
        throw new IndexFileError(`${file} cannot be read: ${error.message}`);
      });
      if (loaded.index.getCurrentCount() !== ids.length) {
        throw new IndexFileError(`${folder}: the index holds ${loaded.index.getCurrentCount()} vectors but ${ids.length} ids`);
      }
    }
    return loaded;
  }

  private indexFor(dims: number): InstanceType<typeof HierarchicalNSW> {
    if (!this.index) {
      this.index = new HierarchicalNSW("cosine", dims);
      const { m, efConstruction, seed } = this.settings;
      this.index.initIndex({ maxElements: INITIAL_CAPACITY, m, efConstruction, randomSeed: seed });
    }
    if (this.index.getNumDimensions() !== dims) {
      throw new Error(`vectors of length ${dims} do not fit an index of dimension ${this.index.getNumDimensions()}`);
    }
    return this.index;
  }
}
