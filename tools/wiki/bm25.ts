/**
 * Okapi BM25 over an inverted index.
 *
 * Parameters: k1 = 1.2 and b = 0.75, the textbook defaults (Robertson et al.;
 * also Lucene's). IDF is Lucene's `ln(1 + (N - df + 0.5) / (df + 0.5))`, which
 * stays positive for terms in more than half the documents, so a common word
 * never pushes a matching document below one that does not match at all.
 */

export interface Bm25Options {
  /** Term-frequency saturation. */
  k1?: number;
  /** Length normalisation: 0 ignores document length, 1 normalises fully. */
  b?: number;
}

export interface Bm25Hit {
  /** Position of the document in the array the index was built from. */
  index: number;
  score: number;
}

const TOKEN = /[\p{L}\p{N}]+/gu;

/** Lowercased runs of letters and digits, in any script. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

export class Bm25Index {
  private readonly termIds = new Map<string, number>();
  /**
   * Postings in compressed rows: term t's documents are `postingDocs[postingStart[t]
   * .. postingStart[t + 1]]`, with their term frequencies alongside.
   */
  private readonly postingStart: Uint32Array;
  private readonly postingDocs: Uint32Array;
  private readonly postingFrequencies: Uint32Array;
  private readonly docLengths: Uint32Array;
  private readonly averageLength: number;
  private readonly k1: number;
  private readonly b: number;

  constructor(documents: readonly string[], options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    this.docLengths = new Uint32Array(documents.length);
    const entries = new PostingEntries();
    documents.forEach((document, doc) => {
      const tokens = tokenize(document);
      this.docLengths[doc] = tokens.length;
      entries.addDocument(doc, tokens.map((token) => this.termId(token)));
    });
    [this.postingStart, this.postingDocs, this.postingFrequencies] = entries.byTerm(this.termIds.size);
    const totalLength = this.docLengths.reduce((sum, length) => sum + length, 0);
    this.averageLength = documents.length > 0 ? totalLength / documents.length : 0;
  }

  get size(): number {
    return this.docLengths.length;
  }

  /** The `k` best documents with a positive score, best first; ties go to the earlier document. */
  search(query: string, k: number): Bm25Hit[] {
    const scores = new Float64Array(this.size);
    const touched: number[] = [];
    for (const term of tokenize(query)) {
      const id = this.termIds.get(term);
      if (id === undefined) continue;
      const from = this.postingStart[id]!;
      const to = this.postingStart[id + 1]!;
      const idf = this.idf(to - from);
      for (let i = from; i < to; i++) {
        const doc = this.postingDocs[i]!;
        if (scores[doc] === 0) touched.push(doc);
        scores[doc] += idf * this.saturate(this.postingFrequencies[i]!, this.docLengths[doc]!);
      }
    }
    return touched
      .map((index) => ({ index, score: scores[index]! }))
      .sort((x, y) => y.score - x.score || x.index - y.index)
      .slice(0, Math.max(0, k));
  }

  private termId(term: string): number {
    let id = this.termIds.get(term);
    if (id === undefined) {
      id = this.termIds.size;
      this.termIds.set(term, id);
    }
    return id;
  }

  private idf(documentFrequency: number): number {
    return Math.log(1 + (this.size - documentFrequency + 0.5) / (documentFrequency + 0.5));
  }

  private saturate(termFrequency: number, docLength: number): number {
    const lengthNorm = 1 - this.b + (this.b * docLength) / (this.averageLength || 1);
    return (termFrequency * (this.k1 + 1)) / (termFrequency + this.k1 * lengthNorm);
  }
}

/**
 * (term, document, frequency) triples gathered document by document in growable
 * typed arrays, then grouped by term with a counting sort: far fewer small
 * allocations than an array per term, which matters at ~20k documents.
 */
class PostingEntries {
  private terms = new Uint32Array(1 << 16);
  private docs = new Uint32Array(1 << 16);
  private frequencies = new Uint32Array(1 << 16);
  private length = 0;

  addDocument(doc: number, termIds: readonly number[]): void {
    const sorted = Uint32Array.from(termIds).sort();
    for (let i = 0; i < sorted.length; ) {
      let end = i + 1;
      while (end < sorted.length && sorted[end] === sorted[i]) end++;
      this.push(sorted[i]!, doc, end - i);
      i = end;
    }
  }

  /** Start offsets per term (length termCount + 1), documents and frequencies, grouped by term in document order. */
  byTerm(termCount: number): [Uint32Array, Uint32Array, Uint32Array] {
    const start = new Uint32Array(termCount + 1);
    for (let i = 0; i < this.length; i++) start[this.terms[i]! + 1]! += 1;
    for (let t = 0; t < termCount; t++) start[t + 1]! += start[t]!;
    const next = start.slice(0, termCount);
    const docs = new Uint32Array(this.length);
    const frequencies = new Uint32Array(this.length);
    for (let i = 0; i < this.length; i++) {
      const slot = next[this.terms[i]!]!++;
      docs[slot] = this.docs[i]!;
      frequencies[slot] = this.frequencies[i]!;
    }
    return [start, docs, frequencies];
  }

  private push(term: number, doc: number, frequency: number): void {
    if (this.length === this.terms.length) {
      this.terms = doubled(this.terms);
      this.docs = doubled(this.docs);
      this.frequencies = doubled(this.frequencies);
    }
    this.terms[this.length] = term;
    this.docs[this.length] = doc;
    this.frequencies[this.length] = frequency;
    this.length += 1;
  }
}

function doubled(array: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const grown = new Uint32Array(array.length * 2);
  grown.set(array);
  return grown;
}
