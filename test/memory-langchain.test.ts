import { mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HNSWLib } from "@langchain/community/vectorstores/hnswlib";
import { FakeVectorStore } from "@langchain/core/utils/testing";
import { describe, expect, it } from "vitest";
import { EpisodicMemory, HashingEmbedder, HnswIndex, latestSnapshot, VectorStoreIndex } from "../memory/index.ts";
import type { Trajectory } from "../trajectories/index.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-memory-lc-"));
const embedder = new HashingEmbedder();
const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

const QUESTIONS = [
  "Which magazine was started first, Arthur's Magazine or First for Women?",
  "Who is older, Henry Paul or Chris Barnes?",
  "Which restaurant was founded first, Buddy's Pizza or The Pizza Studio?",
  "What was the Black Panther Party originally called?",
];

function past(question: string, i: number): Trajectory {
  return { ...makeTrajectory(`q${i}`, i % 2 === 0 ? 1 : 0), question };
}

describe("VectorStoreIndex over HNSWLib", () => {
  it("scores by cosine similarity: 1 for the same vector, higher for more similar", async () => {
    const index = new VectorStoreIndex(new HNSWLib(embedder, { space: "cosine" }));
    const vectors = await embedder.embedDocuments(QUESTIONS);
    await index.add(
      QUESTIONS.map((_, i) => `q${i}`),
      vectors,
    );

    const [exact] = await index.search(vectors[1]!, 1);
    expect(exact!.id).toBe("q1");
    expect(exact!.score).toBeCloseTo(1, 5);

    const query = await embedder.embedQuery("Which magazine came first: Arthur's Magazine or First for Women?");
    const hits = await index.search(query, QUESTIONS.length);
    expect(hits[0]!.id).toBe("q0");
    for (const hit of hits) expect(hit.score).toBeCloseTo(cosine(query, vectors[Number(hit.id.slice(1))]!), 5);
    expect(hits.map((hit) => hit.score)).toEqual([...hits.map((hit) => hit.score)].sort((a, b) => b - a));
  });

  it("lets an episodic memory recall the same question at similarity 1", async () => {
    const index = new VectorStoreIndex(new HNSWLib(embedder, { space: "cosine" }));
    const memory = await EpisodicMemory.open(await tempDir(), { embedder, index });
    await memory.remember(QUESTIONS.map(past));
    const [recalled] = await memory.recall(QUESTIONS[2]!, 1);
    expect(recalled!.episode.question).toBe(QUESTIONS[2]);
    expect(recalled!.score).toBeCloseTo(1, 5);
  });

  it("takes the in-memory store's cosine as it is, and asks how to read other scores", async () => {
    const memoryStore = new VectorStoreIndex(new FakeVectorStore(embedder));
    const vector = embedder.embed(QUESTIONS[0]!);
    await memoryStore.add(["q0"], [vector]);
    expect((await memoryStore.search(vector, 1))[0]!.score).toBeCloseTo(1, 5);

    const euclidean = new FakeVectorStore(embedder, { similarity: function euclidean() { return 0; } });
    expect(() => new VectorStoreIndex(euclidean)).toThrow(/^VectorStoreIndex does not know what a "memory" store's scores mean: pass \{ similarity/);
    expect(() => new VectorStoreIndex(new HNSWLib(embedder, { space: "l2" }))).toThrow(/"hnswlib" store's scores/);

    // A store that reports distances, once told so.
    const distances = new HNSWLib(embedder, { space: "l2" });
    const told = new VectorStoreIndex(distances, { similarity: (squared) => 1 - squared / 2 });
    await told.add(["q0"], [vector]);
    expect((await told.search(vector, 1))[0]!.score).toBeCloseTo(1, 5);
  });
});

describe("a saved react-rl memory", () => {
  it("loads with LangChain's HNSWLib.load, whose searches find the episodes' questions", async () => {
    const dir = await tempDir();
    const memory = await EpisodicMemory.open(dir, { embedder });
    await memory.remember(QUESTIONS.map(past));
    await memory.save();

    const store = await HNSWLib.load((await latestSnapshot(join(dir, "index")))!, embedder);
    const [[document, distance]] = await store.similaritySearchWithScore("Who is older: Henry Paul or Chris Barnes?", 1);
    expect(document!.pageContent).toBe(QUESTIONS[1]);
    expect(document!.metadata).toMatchObject({ taskId: "q1", outcome: "failure", reward: 0 });
    expect(distance).toBeLessThan(0.5);
    const all = await store.similaritySearch(QUESTIONS[3]!, QUESTIONS.length);
    expect(all.map((found) => found.pageContent).sort()).toEqual([...QUESTIONS].sort());
    expect(all[0]!.pageContent).toBe(QUESTIONS[3]);
  });

  it("keeps reading indexes saved before snapshots were LangChain-readable", async () => {
    const dir = await tempDir();
    const index = new HnswIndex();
    await index.add(["a", "b"], [embedder.embed("first text"), embedder.embed("second text")]);
    await index.save(dir);
    const snapshot = (await latestSnapshot(dir))!;
    await rename(join(snapshot, "hnswlib.index"), join(snapshot, "index.hnsw"));
    for (const file of ["args.json", "docstore.json"]) await rm(join(snapshot, file));
    expect((await readdir(snapshot)).sort()).toEqual(["index.hnsw", "meta.json"]);

    const loaded = await HnswIndex.load(dir);
    expect((await loaded.search(embedder.embed("second text"), 1))[0]).toMatchObject({ id: "b" });
  });
});
