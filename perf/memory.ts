/**
 * The vector memory's index against exact search: recall@10 of HnswIndex
 * (hnswlib HNSW, cosine) next to a brute-force scan, query latency p50/p99 per
 * `ef`, build time and memory, at each size. The vectors are synthetic
 * multi-hop questions embedded with the default HashingEmbedder (its time is
 * reported separately); queries are new questions about stored entities.
 *
 *   npm run bench:memory [-- --sizes 10000,100000 --queries 1000 --m 16 --ef-construction 200 --ef 16,32,64,128]
 */
import { parseArgs } from "node:util";
import { HashingEmbedder, HnswIndex } from "../memory/index.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    queries: { type: "string", default: "1000" },
    m: { type: "string", default: "16" },
    "ef-construction": { type: "string", default: "200" },
    ef: { type: "string", default: "16,32,64,128" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const queryCount = Number(values.queries);
const efs = values.ef.split(",").map(Number);
const K = 10;

/** A seeded generator (mulberry32), so every run embeds the same questions. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ["ka", "lo", "mir", "tan", "vel", "dor", "si", "ren", "ob", "qua", "zen", "har", "pil", "gro", "est", "um"];
const KINDS = ["magazine", "band", "film", "river", "university", "restaurant", "novel", "party", "bridge", "company"];
const QUESTIONS = [
  (a: string, b: string, kind: string) => `Which ${kind} was founded first, ${a} or ${b}?`,
  (a: string, b: string, kind: string) => `Who founded the ${kind} that ${a} joined after leaving ${b}?`,
  (a: string, b: string, kind: string) => `Is the ${kind} ${a} older than ${b}?`,
  (a: string, b: string, kind: string) => `In which country is the ${kind} named after ${a} and ${b}?`,
];

function questions(count: number, seed: number): string[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const name = () => {
    const word = () => Array.from({ length: 2 + Math.floor(next() * 2) }, () => pick(SYLLABLES)).join("");
    const capital = (w: string) => w[0]!.toUpperCase() + w.slice(1);
    return `${capital(word())} ${capital(word())}`;
  };
  return Array.from({ length: count }, () => pick(QUESTIONS)(name(), name(), pick(KINDS)));
}

/** Unit vectors in one flat array, for the exact scan. */
function flatten(vectors: number[][], dims: number): Float32Array {
  const flat = new Float32Array(vectors.length * dims);
  vectors.forEach((v, i) => flat.set(v, i * dims));
  return flat;
}

/** The k best by a full scan, kept in a small sorted list (k is tiny next to n). */
function exactTopK(flat: Float32Array, dims: number, query: number[], k: number): string[] {
  const best: { i: number; score: number }[] = [];
  for (let i = 0, n = flat.length / dims; i < n; i++) {
    let score = 0;
    for (let d = 0, o = i * dims; d < dims; d++) score += flat[o + d]! * query[d]!;
    if (best.length === k && score <= best[k - 1]!.score) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.score < score) at--;
    best.splice(at, 0, { i, score });
    if (best.length > k) best.pop();
  }
  return best.map((b) => String(b.i));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

interface Row {
  size: number;
  ef: number;
  recallAt10: number;
  p50Ms: number;
  p99Ms: number;
  exactMsPerQuery: number;
  buildS: number;
  buildRssMb: number;
  buildHeapMb: number;
  embedUsPerText: number;
}

const embedder = new HashingEmbedder();
const rows: Row[] = [];
for (const size of sizes) {
  const texts = questions(size, size);
  let start = performance.now();
  const vectors = await embedder.embedDocuments(texts);
  const embedMs = performance.now() - start;
  const queryVectors = await embedder.embedDocuments(questions(queryCount, size + 1));

  // Run with --expose-gc (the npm script does) so the memory deltas are not blurred by garbage.
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const index = new HnswIndex({ m: Number(values.m), efConstruction: Number(values["ef-construction"]) });
  start = performance.now();
  await index.add(texts.map((_, i) => String(i)), vectors);
  const buildMs = performance.now() - start;
  globalThis.gc?.();
  const rssMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

  const flat = flatten(vectors, embedder.dims);
  start = performance.now();
  const exact = queryVectors.map((q) => exactTopK(flat, embedder.dims, q, K));
  const exactMs = (performance.now() - start) / queryCount;

  for (const ef of efs) {
    index.ef = ef;
    const latencies: number[] = [];
    let found = 0;
    for (const [i, query] of queryVectors.entries()) {
      const t = performance.now();
      const hits = await index.search(query, K);
      latencies.push(performance.now() - t);
      const truth = new Set(exact[i]);
      found += hits.filter((hit) => truth.has(hit.id)).length;
    }
    latencies.sort((a, b) => a - b);
    rows.push({
      size,
      ef,
      recallAt10: found / (K * queryCount),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      exactMsPerQuery: exactMs,
      buildS: buildMs / 1000,
      buildRssMb: rssMb,
      buildHeapMb: heapMb,
      embedUsPerText: (1000 * embedMs) / size,
    });
  }
}

const COLUMNS: [string, (row: Row) => string][] = [
  ["size", (r) => String(r.size)],
  ["ef", (r) => String(r.ef)],
  ["recall@10", (r) => r.recallAt10.toFixed(3)],
  ["p50 ms", (r) => r.p50Ms.toFixed(3)],
  ["p99 ms", (r) => r.p99Ms.toFixed(3)],
  ["exact ms/q", (r) => r.exactMsPerQuery.toFixed(2)],
  ["build s", (r) => r.buildS.toFixed(1)],
  ["RSS +MB", (r) => r.buildRssMb.toFixed(0)],
  ["heap +MB", (r) => r.buildHeapMb.toFixed(0)],
  ["embed µs/text", (r) => r.embedUsPerText.toFixed(1)],
];
const settings = `m=${values.m} efConstruction=${values["ef-construction"]}, ${embedder.dims} dims`;
console.log(`HnswIndex ${settings} (HashingEmbedder), ${queryCount} queries, k=${K}`);
console.log(COLUMNS.map(([name]) => name.padStart(14)).join(""));
for (const row of rows) console.log(COLUMNS.map(([, cell]) => cell(row).padStart(14)).join(""));
console.log(JSON.stringify(rows));
