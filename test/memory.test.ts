import { execFile } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { FakeVectorStore } from "@langchain/core/utils/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  EpisodicMemory,
  fewShotPrompt,
  HashingEmbedder,
  HnswIndex,
  openAIEmbedder,
  recallTool,
  VectorStoreIndex,
} from "../memory/index.ts";
import { callWithText } from "../tools/tool.ts";
import { exemplarText, readTrajectories, type Trajectory } from "../trajectories/index.ts";
import { startFakeOpenAIServer } from "./helpers/fake-openai-server.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

// Lets a test make the commit step of a save fail, as a crash just before it would.
const renameFailure = vi.hoisted(() => ({ armed: false }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...actual,
    rename: async (from: string, to: string) => {
      if (renameFailure.armed) throw Object.assign(new Error("simulated crash"), { code: "EIO" });
      return actual.rename(from, to);
    },
  };
});
afterEach(() => {
  renameFailure.armed = false;
});

const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-memory-"));
const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

interface EpisodeSpec {
  question: string;
  /** Searched in order, then Finish[answer]. */
  titles: string[];
  answer: string;
  reward: 0 | 1;
  startedAt?: string;
}

/** A finished episode: Search each title, then Finish with the answer. */
function episode(id: string, { question, titles, answer, reward, startedAt = "2024-01-01T00:00:00.000Z" }: EpisodeSpec): Trajectory {
  const base = makeTrajectory(id, reward, titles.length + 1);
  const actions = [...titles.map((t) => `Search[${t}]`), `Finish[${answer}]`];
  const steps = base.steps.map((step, i) => ({
    ...step,
    thought: `I need to look at ${titles[i] ?? "the answer"}.`,
    action: actions[i]!,
    observation: `About ${titles[i] ?? "it"}.`,
  }));
  return { ...base, question, answer, steps, meta: { ...base.meta, startedAt } };
}

const MAGAZINE_QUESTION = "Which magazine was started first, Arthur's Magazine or First for Women?";
const MAGAZINES = episode("mag", {
  question: MAGAZINE_QUESTION,
  titles: ["Arthur's Magazine", "First for Women"],
  answer: "Arthur's Magazine",
  reward: 1,
});
const PIZZA = episode("pizza", {
  question: "Which restaurant was founded first, Buddy's Pizza or The Pizza Studio?",
  titles: ["Buddy's Pizza", "The Pizza Studio"],
  answer: "Buddy's Pizza",
  reward: 1,
});
const AGES = episode("ages", { question: "Who is older, Henry Paul or Chris Barnes?", titles: ["Henry Paul", "Chris Barnes"], answer: "Henry Paul", reward: 1 });
const PANTHERS = episode("bpp", {
  question: "John Huggins was the leader of an organization originally called what?",
  titles: ["John Huggins", "Black Panther Party"],
  answer: "Black Panther Party for Self-Defense",
  reward: 1,
});
/** Closer to the query below than MAGAZINES itself, but a failure. */
const SIMILAR_QUERY = "Which magazine was started first, Arthur's Magazine or First for Women magazine?";
const MAGAZINES_FAILED = episode("mag2", { question: SIMILAR_QUERY, titles: ["First for Women"], answer: "First for Women", reward: 0 });
const PAST = [MAGAZINES, PIZZA, AGES, PANTHERS, MAGAZINES_FAILED];

describe("HashingEmbedder", () => {
  const embedder = new HashingEmbedder();

  it("is deterministic and gives unit vectors of its dimension", async () => {
    const [a] = await embedder.embedDocuments(["Arthur's Magazine"]);
    expect(await new HashingEmbedder().embedQuery("Arthur's Magazine")).toEqual(a);
    expect(a).toHaveLength(256);
    expect(cosine(a!, a!)).toBeCloseTo(1, 10);
    expect(new HashingEmbedder({ dims: 512 }).embed("x y")).toHaveLength(512);
  });

  it("scores related texts above unrelated ones", () => {
    const query = embedder.embed("When was Arthur's Magazine first published?");
    const related = cosine(query, embedder.embed("Arthur's Magazine was an American literary periodical first published in 1844."));
    const unrelated = cosine(query, embedder.embed("Buddy's Pizza is a pizza restaurant chain based in Detroit."));
    expect(related).toBeGreaterThan(0.3);
    expect(related).toBeGreaterThan(unrelated + 0.2);
  });

  it("matches word pieces: a word's forms share n-grams", () => {
    const paris = embedder.embed("Parisian");
    expect(cosine(paris, embedder.embed("Paris"))).toBeGreaterThan(cosine(paris, embedder.embed("London")) + 0.2);
  });

  it("gives an empty text the zero vector", () => {
    expect(embedder.embed("  ...  ").every((x) => x === 0)).toBe(true);
  });

  it("plugs into a LangChain vector store as its Embeddings", async () => {
    const store = await FakeVectorStore.fromTexts(
      ["Buddy's Pizza was founded in 1946.", "First for Women is a woman's magazine."],
      [{}, {}],
      embedder,
    );
    const [best] = await store.similaritySearch("which magazine is for women", 1);
    expect(best?.pageContent).toBe("First for Women is a woman's magazine.");
  });
});

describe("openAIEmbedder", () => {
  it("asks an OpenAI-compatible server for the vectors", async () => {
    const local = new HashingEmbedder({ dims: 8 });
    const inputs: unknown[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const { input, encoding_format } = JSON.parse(body) as { input: string[]; encoding_format?: string };
        inputs.push(input);
        res.writeHead(200, { "content-type": "application/json" });
        // The SDK asks for base64 (packed float32) unless told otherwise.
        const encode = (vector: number[]) =>
          encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
        const data = input.map((text, index) => ({ object: "embedding", index, embedding: encode(local.embed(text)) }));
        res.end(JSON.stringify({ object: "list", data, model: "fake", usage: { prompt_tokens: 1, total_tokens: 1 } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const remote = openAIEmbedder({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "test", model: "fake" });
      const float32 = (vector: number[]) => Array.from(new Float32Array(vector));
      expect(await remote.embedDocuments(["alpha", "beta"])).toEqual([float32(local.embed("alpha")), float32(local.embed("beta"))]);
      expect(inputs).toEqual([["alpha", "beta"]]);
    } finally {
      server.close();
    }
  });
});

describe("HnswIndex", () => {
  const embedder = new HashingEmbedder();
  const titles = ["Arthur's Magazine", "First for Women", "Buddy's Pizza", "The Pizza Studio", "Henry Paul", "Chris Barnes"];
  const filled = async () => {
    const index = new HnswIndex();
    await index.add(titles, titles.map((t) => embedder.embed(t)));
    return index;
  };

  it("finds the nearest vectors, best first, with cosine scores", async () => {
    const hits = await (await filled()).search(embedder.embed("pizza studio"), 2);
    expect(hits.map((h) => h.id)).toEqual(["The Pizza Studio", "Buddy's Pizza"]);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    expect(hits[0]!.score).toBeLessThanOrEqual(1);
  });

  it("filters by id, caps k at its size, and replaces the vector of an id added again", async () => {
    const index = await filled();
    expect((await index.search(embedder.embed("pizza"), 3, (id) => !id.includes("Pizza"))).map((h) => h.id)).not.toContain("Buddy's Pizza");
    expect(await index.search(embedder.embed("x"), 100)).toHaveLength(6);
    await index.add(["Henry Paul"], [embedder.embed("The Pizza Studio")]);
    expect(index.size).toBe(6);
    expect((await index.search(embedder.embed("The Pizza Studio"), 2)).map((h) => h.id).sort()).toEqual(["Henry Paul", "The Pizza Studio"]);
  });

  it("grows past its first capacity", async () => {
    const index = new HnswIndex();
    const ids = Array.from({ length: 1500 }, (_, i) => `item ${i}`);
    await index.add(ids, ids.map((id) => embedder.embed(id)));
    expect(index.size).toBe(1500);
    expect((await index.search(embedder.embed("item 1234"), 1))[0]?.id).toBe("item 1234");
  });

  it("rejects vectors of another dimension", async () => {
    const index = await filled();
    await expect(index.add(["short"], [[1, 0, 0]])).rejects.toThrow(/dimension 256/);
  });

  it("saves and loads back the same index", async () => {
    const dir = await tempDir();
    const index = await filled();
    await index.save(dir);
    const loaded = await HnswIndex.load(dir);
    expect(loaded.size).toBe(6);
    const query = embedder.embed("women's magazine");
    expect(await loaded.search(query, 3)).toEqual(await index.search(query, 3));
    await loaded.add(["Pizza Hut"], [embedder.embed("Pizza Hut")]);
    expect((await loaded.search(embedder.embed("Pizza Hut"), 1))[0]?.id).toBe("Pizza Hut");
  });

  it("saves and loads an empty index", async () => {
    const dir = await tempDir();
    await new HnswIndex().save(dir);
    expect((await HnswIndex.load(dir)).size).toBe(0);
    await expect(HnswIndex.load(join(dir, "nowhere"))).rejects.toThrow(/no saved index/);
  });

  it("keeps the previous save loadable when a save fails before it is committed", async () => {
    const dir = await tempDir();
    const index = await filled();
    await index.save(dir);
    await index.add(["Pizza Hut"], [embedder.embed("Pizza Hut")]);
    renameFailure.armed = true;
    await expect(index.save(dir)).rejects.toThrow("simulated crash");
    renameFailure.armed = false;
    expect((await HnswIndex.load(dir)).size).toBe(6);
    // The next save commits, and clears what the failed one left behind.
    await index.save(dir);
    expect((await HnswIndex.load(dir)).size).toBe(7);
    expect(await readdir(dir)).toEqual(["snapshot-000002"]);
  });

  it("ignores a half-written save left by a killed process", async () => {
    const dir = await tempDir();
    await (await filled()).save(dir);
    const partial = join(dir, "snapshot-000002.partial-999-1");
    await mkdir(partial);
    await writeFile(join(partial, "hnswlib.index"), "truncat");
    expect((await HnswIndex.load(dir)).size).toBe(6);
  });
});

describe("EpisodicMemory", () => {
  it("recalls the past episode whose question is most like the query", async () => {
    const memory = await EpisodicMemory.open(await tempDir());
    expect(await memory.remember(PAST)).toBe(5);
    const [best] = await memory.recall("Was Buddy's Pizza founded before The Pizza Studio?", 1);
    expect(best?.episode).toMatchObject({
      taskId: "pizza",
      outcome: "success",
      reward: 1,
      path: "Search[Buddy's Pizza] -> Search[The Pizza Studio] -> Finish[Buddy's Pizza]",
    });
    expect(best?.trajectory).toEqual(PIZZA);
  });

  it("recalls only successes when asked, and one episode per question", async () => {
    const memory = await EpisodicMemory.open(await tempDir());
    const rerun = episode("mag", {
      question: MAGAZINE_QUESTION,
      titles: ["First for Women"],
      answer: "First for Women",
      reward: 0,
      startedAt: "2024-02-01T00:00:00.000Z",
    });
    await memory.remember([...PAST, rerun]);
    expect((await memory.recall(SIMILAR_QUERY, 1))[0]?.episode.taskId).toBe("mag2");
    expect((await memory.recall(SIMILAR_QUERY, 1, { successOnly: true }))[0]?.episode.taskId).toBe("mag");
    const recalled = await memory.recall(SIMILAR_QUERY, 5);
    expect(recalled.map((r) => r.episode.taskId)).toHaveLength(new Set(recalled.map((r) => r.episode.taskId)).size);
    expect(recalled).toHaveLength(5);
  });

  it("remembers a run once, however often it is given", async () => {
    const memory = await EpisodicMemory.open(await tempDir());
    await memory.remember(PAST);
    expect(await memory.remember([PIZZA, AGES])).toBe(0);
    expect(memory.size).toBe(5);
    // Two samples of one question started in the same millisecond are two episodes
    expect(await memory.remember([{ ...PIZZA, sample: 1 }, { ...PIZZA, sample: 2 }])).toBe(2);
    expect(memory.size).toBe(7);
  });

  it("reopens from its folder with what it remembered", async () => {
    const dir = await tempDir();
    const memory = await EpisodicMemory.open(dir);
    await memory.remember(PAST);
    await memory.save();
    const reopened = await EpisodicMemory.open(dir);
    expect(reopened.size).toBe(5);
    expect((await reopened.recall("Who was born first, Henry Paul or Chris Barnes?", 1))[0]?.episode.taskId).toBe("ages");
  });

  it("refuses a run's output folder, whose log it would adopt and whose resume it would break", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "summary.json"), "{}");
    await expect(EpisodicMemory.open(dir)).rejects.toThrow(`${dir} is a run's output folder (it holds summary.json), not a memory`);
    expect(await readdir(dir)).toEqual(["summary.json"]);
  });

  it("loses nothing when the process stops before the index is saved", async () => {
    const dir = await tempDir();
    const memory = await EpisodicMemory.open(dir);
    await memory.remember([MAGAZINES, PIZZA]);
    await memory.save();
    await memory.remember([AGES]); // never saved: only the episode log has it
    const reopened = await EpisodicMemory.open(dir);
    expect((await reopened.recall("Who is older, Henry Paul or Chris Barnes?", 1))[0]?.episode.taskId).toBe("ages");
  });

  it("rebuilds its index when opened with another embedder", async () => {
    const dir = await tempDir();
    const memory = await EpisodicMemory.open(dir);
    await memory.remember(PAST);
    await memory.save();
    const wider = await EpisodicMemory.open(dir, { embedder: new HashingEmbedder({ dims: 512 }) });
    expect((await wider.recall("Buddy's Pizza or The Pizza Studio", 1))[0]?.episode.taskId).toBe("pizza");
  });

  it("rebuilds its index from the episodes when the saved one cannot be read", async () => {
    const dir = await tempDir();
    const memory = await EpisodicMemory.open(dir);
    await memory.remember(PAST);
    await memory.save();
    await writeFile(join(dir, "index", "snapshot-000001", "meta.json"), "{ not json");
    await expect(HnswIndex.load(join(dir, "index"))).rejects.toThrow(/not an index description/);
    const reopened = await EpisodicMemory.open(dir);
    expect((await reopened.recall("Who is older, Henry Paul or Chris Barnes?", 1))[0]?.episode.taskId).toBe("ages");
  });

  it("works over any LangChain vector store", async () => {
    const embedder = new HashingEmbedder();
    const index = new VectorStoreIndex(new FakeVectorStore(embedder));
    const memory = await EpisodicMemory.open(await tempDir(), { embedder, index });
    await memory.remember(PAST);
    expect(index.size).toBe(5);
    const [best] = await memory.recall("What was the Black Panther Party first called?", 1, { successOnly: true });
    expect(best?.episode.taskId).toBe("bpp");
    const hits = await index.search(embedder.embed("magazine"), 2, (id) => id.startsWith("mag2"));
    expect(hits.map((h) => h.id)).toEqual([`mag2@${MAGAZINES_FAILED.meta.startedAt}`]);
  });
});

describe("Recall tool", () => {
  it("shows the most similar past episodes compactly", async () => {
    const memory = await EpisodicMemory.open(await tempDir());
    await memory.remember(PAST);
    const tool = recallTool(memory, { k: 1 });
    expect(tool.name).toBe("Recall");
    const observation = await callWithText(tool, "Buddy's Pizza or The Pizza Studio: which is older?");
    expect(observation).toMatch(
      new RegExp(
        [
          String.raw`^1\. \(success, reward 1, similarity 0\.\d\d\) Which restaurant was founded first, Buddy's Pizza or The Pizza Studio\?`,
          String.raw`   Search\[Buddy's Pizza\] -> Search\[The Pizza Studio\] -> Finish\[Buddy's Pizza\]`,
          String.raw`   Thoughts: I need to look at Buddy's Pizza\. \| I need to look at The Pizza Studio\. \| I need to look at the answer\.$`,
        ].join("\n"),
      ),
    );
  });

  it("says so when there is nothing to recall", async () => {
    const memory = await EpisodicMemory.open(await tempDir());
    expect(await callWithText(recallTool(memory), "anything")).toBe("No similar past episodes.");
  });
});

describe("fewShotPrompt", () => {
  const base = { instruction: "Answer the question.", exemplars: ["Question: static one", "Question: static two", "Question: static three"] };

  it("uses the most similar successful episodes as exemplars, in the prompt's own transcript form", async () => {
    const memory = await EpisodicMemory.open(await tempDir());
    await memory.remember(PAST);
    const prompt = await fewShotPrompt(memory, base, SIMILAR_QUERY, { k: 2 });
    expect(prompt.instruction).toBe(base.instruction);
    expect(prompt.exemplars).toHaveLength(2);
    expect(prompt.exemplars[0]).toBe(exemplarText(MAGAZINES));
    expect(prompt.exemplars[0]).toMatch(/^Question: Which magazine was started first[^]*\nAction 3: Finish\[Arthur's Magazine\]$/);
  });

  it("leaves out excluded episodes and fills up from the base prompt", async () => {
    const memory = await EpisodicMemory.open(await tempDir());
    await memory.remember([MAGAZINES, PIZZA]);
    const prompt = await fewShotPrompt(memory, base, MAGAZINE_QUESTION, { k: 3, exclude: (e) => e.taskId === "mag" });
    expect(prompt.exemplars).toEqual([exemplarText(PIZZA), "Question: static one", "Question: static two"]);
    const empty = await EpisodicMemory.open(await tempDir());
    expect((await fewShotPrompt(empty, base, "anything", { k: 3 })).exemplars).toEqual(base.exemplars);
  });
});

describe("react-rl bench --memory DIR --shots K", () => {
  const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;
  const cli = (args: string[]) =>
    promisify(execFile)(process.execPath, [bin, "bench", "--limit", "5", ...args], { env: { ...process.env, OPENAI_API_KEY: "sk-test" } });
  const questionsOf = (prompt: string) => [...prompt.matchAll(/^Question: (.*)$/gm)].map((m) => m[1]!);

  it("fills a memory from one run and picks each question's exemplars from it in the next", async () => {
    const dir = await tempDir();
    const memoryDir = join(dir, "memory");
    const seeded = await cli(["--policy", "oracle", "--memory", memoryDir, "--out", join(dir, "oracle")]);
    expect(seeded.stdout).toMatch(/memory\s+5 episodes in /);
    const oracleQuestions = (await readTrajectories(join(dir, "oracle", "trajectories.jsonl"))).trajectories.map((t) => t.question.trim());

    // A stand-in LLM that searches once, then answers, whatever its prompt.
    const firstStep = (body: { messages: { content: string }[] }) => body.messages.at(-1)!.content.endsWith("Thought 1:");
    const server = await startFakeOpenAIServer({
      reply: (body) => (firstStep(body) ? " Look it up.\nAction 1: Search[x]" : " Done.\nAction 2: Finish[yes]"),
    });
    try {
      const policy = ["--policy", "openai", "--model", "fake", "--base-url", server.baseURL];
      expect((await cli([...policy, "--memory", memoryDir, "--shots", "2", "--out", join(dir, "llm")])).stdout).toMatch(/memory\s+10 episodes in /);
      const firstSteps = server.requests.filter(firstStep);
      expect(firstSteps).toHaveLength(5);
      for (const request of firstSteps) {
        const exemplars = questionsOf(request.messages.at(-1)!.content);
        const asked = exemplars.pop();
        expect(exemplars).toHaveLength(2);
        expect(oracleQuestions).toEqual(expect.arrayContaining(exemplars));
        expect(exemplars).not.toContain(asked);
      }
      // The same run without the memory is another run, not a resume of this one
      await expect(cli([...policy, "--out", join(dir, "llm")])).rejects.toMatchObject({ stderr: expect.stringContaining("(recall: 2 -> 0)") });
    } finally {
      await server.close();
    }
  });

  it("asks for --memory when --shots is given alone", async () => {
    await expect(cli(["--shots", "2"])).rejects.toMatchObject({ stderr: expect.stringContaining("--shots needs --memory DIR") });
  });
});
