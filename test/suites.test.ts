// Suites: every task set behind one interface, the built-in ones and a user's own.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  arithmeticSuite,
  BASE_PLANNER,
  demonstratedTasks,
  expertEpisodes,
  FINISH_ENTRY,
  fileSuite,
  generateWorld,
  hopworldSuite,
  loadDataset,
  openSuite,
  runBenchmark,
  HOTPOTQA_SAMPLE,
  type Environment,
  type Policy,
  type Suite,
  type Task,
} from "../src/index.ts";

const world = generateWorld({ seed: 3, sizes: { train: 6, dev: 2, test: 2 } });

describe("the built-in suites", () => {
  it("are solved by their experts through their own environment and prompt", async () => {
    for (const suite of [hopworldSuite(world), arithmeticSuite(1)]) {
      const episodes = await expertEpisodes(suite, "train", 4);
      expect(episodes.map((e) => e.id)).toEqual(suite.tasks("train", 4).map((t) => t.id));
      expect(episodes.map((e) => e.reward)).toEqual([1, 1, 1, 1]);
      expect(new Set(episodes.map((e) => e.meta.dataset))).toEqual(new Set([suite.name]));
    }
  });

  it("give a split's tasks, a file's the same whatever the split, and only generated ones an expert", async () => {
    const hopworld = hopworldSuite(world);
    expect(hopworld.tasks("dev").map((t) => t.id)).toEqual(world.questions.filter((q) => q.split === "dev").map((q) => q.id));
    expect(hopworld.label).toBe("hopworld-w3");
    expect(arithmeticSuite(1).tasks("test", 5)).toHaveLength(5);
    const file = fileSuite("hotpotqa", await loadDataset(HOTPOTQA_SAMPLE));
    expect(file.tasks("train", 3)).toEqual(file.tasks("test", 3));
    expect(file.splits).toBe(false);
    expect(file.expert).toBeUndefined();
    await expect(expertEpisodes(file, "train", 1)).rejects.toThrow(/has no expert/);
  });

  it("count the training tasks a checkpoint was fine-tuned on only when its dataset and identity match", () => {
    const meta = { dataset: "arithmetic", dataSeed: 1, examples: 5 };
    expect(demonstratedTasks(meta, arithmeticSuite(1))).toBe(5);
    expect(demonstratedTasks(meta, arithmeticSuite(2))).toBe(0);
    expect(demonstratedTasks(meta, hopworldSuite(world))).toBe(0);
    // a checkpoint from before suites: hopworld, of the world it names
    expect(demonstratedTasks({ worldSeed: 3, examples: 4 }, hopworldSuite(world))).toBe(4);
    expect(demonstratedTasks({ worldSeed: 1, examples: 4 }, hopworldSuite(world))).toBe(0);
    // the seed alone does not say which questions: a world of the same seed and other sizes holds others
    expect(demonstratedTasks({ ...hopworldSuite(world).identity, examples: 4 }, hopworldSuite(world))).toBe(4);
    const resized = generateWorld({ seed: world.seed, sizes: { train: 5, dev: 2, test: 2 } });
    expect(demonstratedTasks({ ...hopworldSuite(world).identity, examples: 4 }, hopworldSuite(resized))).toBe(0);
    // the committed base names world 1's 3,000 training questions, so a small world of seed 1 is not taken for it
    const base = JSON.parse(readFileSync(join(BASE_PLANNER, "manifest.json"), "utf8")).meta;
    expect(demonstratedTasks(base, hopworldSuite(generateWorld({ seed: 1 })))).toBe(3000);
    expect(demonstratedTasks(base, hopworldSuite(generateWorld({ seed: 1, sizes: { train: 6, dev: 2, test: 2 } })))).toBe(0);
  });

  it("turn flags that do not go with their dataset into one-line errors", async () => {
    await expect(openSuite({ dataset: "arithmetic", worldSeed: 2 }, 1)).rejects.toThrow("--dataset arithmetic is generated: it takes --data-seed, not --world or --world-seed");
    await expect(openSuite({ dataset: "hopworld", dataSeed: 2 }, 1)).rejects.toThrow("--data-seed is for --dataset arithmetic");
    await expect(openSuite({ dataset: "musique" }, 1)).rejects.toThrow("--dataset musique needs --file PATH");
    expect((await openSuite({ dataset: "2wiki" }, 1)).tasks("test")).toHaveLength(100); // its bundled sample
    // A file of another dataset's layout is refused, not read as the other dataset
    await expect(openSuite({ dataset: "musique", file: HOTPOTQA_SAMPLE }, 1)).rejects.toThrow(/hotpotqa-dev-300\.jsonl holds HotpotQA records, not MuSiQue's/);
    await expect(openSuite({ dataset: "2wiki", file: HOTPOTQA_SAMPLE }, 1)).rejects.toThrow(/holds HotpotQA records, not 2WikiMultihopQA's/);
    await expect(openSuite({ dataset: "hotpotqa", world: "w.json" }, 1)).rejects.toThrow("--world and --world-seed are for --dataset hopworld");
    expect((await openSuite({ dataset: "hopworld" }, 3)).label).toBe("hopworld-w3");
  });
});

/** A user's suite: say the question backwards. */
class ReverseEnvironment implements Environment {
  readonly tools = [];
  private task: Task | undefined;
  async reset(task: Task) {
    this.task = task;
    return task.question;
  }
  async step(action: { name: string; argument: string }) {
    const right = Number(action.argument === this.task!.answer);
    const scores = { em: right, f1: right, fuzzy: right };
    return { observation: "", done: true, reward: right, info: { valid: action.name === "Finish", answer: action.argument, scores } };
  }
}

const reverser: Policy = {
  name: "reverser",
  act: async ({ task, step }) => ({ text: ` I reverse it.\nAction ${step}: ${FINISH_ENTRY.form.replace("answer", [...task.question].reverse().join(""))}` }),
};

describe("a user's own suite", () => {
  const words = ["stressed", "drawer", "live"].map((word, i) => ({ id: `w${i}`, question: word, answer: [...word].reverse().join("") }));
  const reverse: Suite<Task> = {
    name: "reverse",
    identity: {},
    label: "reverse",
    splits: false,
    tasks: (_split, limit) => words.slice(0, limit),
    environment: () => new ReverseEnvironment(),
    prompt: "arithmetic",
    expert: reverser,
  };

  it("runs through the same pieces as the built-in ones", async () => {
    const episodes = await expertEpisodes(reverse, "train");
    expect(episodes.map((e) => e.answer)).toEqual(["desserts", "reward", "evil"]);
    const out = await mkdtemp(join(tmpdir(), "react-rl-suite-"));
    try {
      const { summary } = await runBenchmark({ tasks: reverse.tasks("test", 2), policy: reverser, environment: reverse.environment, out, dataset: reverse.name });
      expect(summary).toMatchObject({ n: 2, em: 1 });
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
