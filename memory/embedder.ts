import { Embeddings, type EmbeddingsInterface } from "@langchain/core/embeddings";
import { OpenAIEmbeddings } from "@langchain/openai";
import { hashString } from "../src/random.ts";

/** Anything that turns texts into vectors: LangChain's interface, so any LangChain embeddings model fits. */
export type Embedder = EmbeddingsInterface;

export interface HashingEmbedderOptions {
  /** Vector length (default 256). */
  dims?: number;
  /** Character n-gram lengths taken inside each word, fastText style (default 3 to 5). */
  minGram?: number;
  maxGram?: number;
}

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * A deterministic embedder that needs no model and no network: each word and
 * each character n-gram of a word (with `<` and `>` marking its ends) is hashed
 * to a signed dimension, and the sum is scaled to unit length. Texts that share
 * words or word pieces ("Paris", "Parisian") score high; it knows no synonyms.
 * The same text always gives the same vector, on any machine.
 */
export class HashingEmbedder extends Embeddings {
  readonly dims: number;
  private readonly minGram: number;
  private readonly maxGram: number;

  constructor(options: HashingEmbedderOptions = {}) {
    super({});
    this.dims = options.dims ?? 256;
    this.minGram = options.minGram ?? 3;
    this.maxGram = options.maxGram ?? 5;
    if (!Number.isInteger(this.dims) || this.dims < 2) throw new RangeError(`dims must be an integer >= 2, got ${this.dims}`);
    if (!(this.minGram >= 1 && this.maxGram >= this.minGram)) throw new RangeError("need 1 <= minGram <= maxGram");
  }

  /** Names the embedder and its settings: vectors made under another name do not mix with these. */
  get name(): string {
    return `hashing-v1:${this.dims}:${this.minGram}-${this.maxGram}`;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    return documents.map((text) => this.embed(text));
  }

  async embedQuery(document: string): Promise<number[]> {
    return this.embed(document);
  }

  /** The vector of one text, synchronously (the async methods are LangChain's interface). */
  embed(text: string): number[] {
    const vector = new Float64Array(this.dims);
    for (const word of text.toLowerCase().normalize("NFKC").match(WORD) ?? []) {
      this.add(vector, `w:${word}`);
      const marked = `<${word}>`;
      for (let n = this.minGram; n <= this.maxGram; n++) {
        for (let start = 0; start + n <= marked.length; start++) this.add(vector, marked.slice(start, start + n));
      }
    }
    let squares = 0;
    for (const x of vector) squares += x * x;
    const norm = Math.sqrt(squares) || 1;
    return Array.from(vector, (x) => x / norm);
  }

  private add(vector: Float64Array, feature: string): void {
    const hash = hashString(feature);
    // The low bits pick the dimension and the top bit the sign, so collisions cancel out on average.
    vector[hash % this.dims] += hash >>> 31 ? 1 : -1;
  }
}

export interface OpenAIEmbedderOptions {
  /** Default `text-embedding-3-small`. */
  model?: string;
  /** Shorter vectors, for models that support it (the text-embedding-3 family). */
  dimensions?: number;
  /** An OpenAI-compatible server; default OPENAI_BASE_URL, else api.openai.com. */
  baseURL?: string;
  /** Default OPENAI_API_KEY. */
  apiKey?: string;
}

/** OpenAI's embeddings (or any OpenAI-compatible server's), behind the same interface. */
export function openAIEmbedder(options: OpenAIEmbedderOptions = {}): Embedder {
  return new OpenAIEmbeddings({
    model: options.model ?? "text-embedding-3-small",
    dimensions: options.dimensions,
    apiKey: options.apiKey,
    configuration: options.baseURL ? { baseURL: options.baseURL } : undefined,
  });
}
