import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPrompt } from "../prompts/index.ts";
import { UserError } from "../src/errors.ts";
import {
  DEFAULT_FAMILIES,
  ExpertPolicy,
  generateWorld,
  HOPWORLD_PROMPT,
  loadWorld,
  pretrainingCorpus,
  QUESTION_TYPES,
  serializeWorld,
  SPLITS,
  UNKNOWN_ANSWER,
  worldCorpus,
  worldDocstore,
  worldEnvironment,
  WorldSchema,
  worldTasks,
  type World,
} from "../src/world/index.ts";
import { runEpisode } from "../src/agent/episode.ts";
import { expertEpisodeLengths, expertEpisodes, hopworldSuite } from "../src/suites/index.ts";
import { OraclePolicy } from "../src/policies/index.ts";
import { titleKey, tokenize, WikiEnvironment } from "../tools/wiki/index.ts";
import { cli, lastJson } from "./helpers/cli.ts";

const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-world-"));

const SMALL = { train: 200, dev: 60, test: 60 };
/** A world of the default sizes: what users and the trainer get. */
const world = generateWorld({ seed: 7 });
const expertRuns = { dev: await expertEpisodes(hopworldSuite(world), "dev"), test: await expertEpisodes(hopworldSuite(world), "test") };

/** The same options with every family, `compute` included. */
const computeWorld = generateWorld({ seed: 7, sizes: SMALL, families: QUESTION_TYPES });
const computeExpertRuns = [...(await expertEpisodes(hopworldSuite(computeWorld), "dev")), ...(await expertEpisodes(hopworldSuite(computeWorld), "test"))];

/** A page title without its `(qualifier)`: the entity's name. */
const nameOf = (title: string) => title.replace(/ \([^)]*\)$/, "");

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Dev and test entity names that occur in a training page or question (none should). */
function heldNamesInTraining(world: World): string[] {
  const train = [
    ...world.pages.filter((p) => p.split === "train").flatMap((p) => [p.title, ...p.sentences]),
    ...world.questions.filter((q) => q.split === "train").map((q) => q.question),
  ];
  const phrases = new Set<string>();
  for (const text of train) {
    const words = tokenize(text);
    for (let i = 0; i < words.length; i++) {
      for (let n = 1; n <= 6 && i + n <= words.length; n++) phrases.add(words.slice(i, i + n).join(" "));
    }
  }
  // The check itself can fail: every training name is found.
  expect(world.pages.filter((p) => p.split === "train").every((p) => phrases.has(tokenize(nameOf(p.title)).join(" ")))).toBe(true);
  const held = world.pages.filter((p) => p.split !== "train").map((p) => tokenize(nameOf(p.title)).join(" "));
  expect(held.length).toBeGreaterThan(100);
  return held.filter((name) => phrases.has(name));
}

describe("hopworld generation", () => {
  it("is a function of the seed and sizes: the same options give the same bytes", () => {
    const first = serializeWorld(generateWorld({ seed: 3, sizes: SMALL }));
    expect(serializeWorld(generateWorld({ seed: 3, sizes: SMALL }))).toBe(first);
    expect(serializeWorld(generateWorld({ seed: 4, sizes: SMALL }))).not.toBe(first);
    // A seed the stream cannot keep whole would be another seed's world under its name
    for (const seed of [2 ** 32 + 3, -1, 1.5, "3"]) expect(() => generateWorld({ seed: seed as number, sizes: SMALL })).toThrow(UserError);
    // A script's mistake is one line naming the option
    expect(() => generateWorld({ seed: 3, sizes: { ...SMALL, train: -1 } })).toThrow(new UserError("generateWorld: sizes.train: expected a whole number from 1 to 10000"));
    expect(() => generateWorld({ seed: 3, size: SMALL } as never)).toThrow(new UserError("generateWorld: unknown option size (did you mean sizes?)"));
    expect(() => generateWorld({ seed: 3, sizes: { trian: 2 } } as never)).toThrow(/^generateWorld: sizes: .*trian/); // not a world of 3000 training questions
  });

  it("leaves the worlds of existing seeds byte for byte as they were before compute questions (the base planner was trained on seed 1)", () => {
    expect(sha256(serializeWorld(generateWorld({ seed: 1 })))).toBe("76fa3da67143ac9988e233995b643f4c0b9a51a977eaf240d4365d107913025e");
    const small = serializeWorld(generateWorld({ seed: 7, sizes: { train: 50, dev: 20, test: 20 }, families: DEFAULT_FAMILIES }));
    expect(sha256(small)).toBe("453dfa00a169962709670648ed3a202f10dacd2648b55aab0bf97fad370f09d0");
  });

  it.each([
    ["the default families", world, { train: 3000, dev: 300, test: 300 }, DEFAULT_FAMILIES],
    ["every family", computeWorld, SMALL, QUESTION_TYPES],
  ] as const)("passes its schema, with the asked sizes and each of %s in every split", (_, generated, sizes, families) => {
    expect(WorldSchema.safeParse(generated).success).toBe(true);
    expect(generated.sizes).toEqual(sizes);
    for (const split of SPLITS) {
      const questions = generated.questions.filter((q) => q.split === split);
      expect(questions).toHaveLength(generated.sizes[split]);
      for (const type of families) expect(questions.filter((q) => q.type === type).length).toBeGreaterThan(generated.sizes[split] / 10);
      expect(questions.every((q) => families.includes(q.type))).toBe(true);
      expect(new Set(questions.map((q) => q.question)).size).toBe(questions.length);
    }
  });

  it("pretrains on other worlds' pages too, leaving out those with a word only its dev and test pages have", () => {
    const own = worldCorpus(world, "train");
    const corpus = pretrainingCorpus(world, 2);
    expect(corpus.slice(0, own.length)).toEqual(own);
    const extra = corpus.slice(own.length);
    expect(extra.length).toBeGreaterThan(own.length); // most of two worlds' pages are kept
    const words = (texts: string[]) => new Set(texts.join(" ").match(/[A-Za-z]+/g));
    const trainWords = words(own);
    const heldOut = [...words(world.pages.filter((p) => p.split !== "train").map((p) => p.sentences.join(" ")))].filter((w) => !trainWords.has(w));
    const unfiltered = words(generateWorld({ seed: world.seed + 1 }).pages.map((p) => p.sentences.join(" ")));
    expect(heldOut.filter((w) => unfiltered.has(w)).length).toBeGreaterThan(0); // another world does share some
    const kept = words(extra);
    expect(heldOut.filter((w) => kept.has(w))).toEqual([]);
  });

  it("draws the same pages whichever families it asks questions of", () => {
    expect(computeWorld.pages).toEqual(generateWorld({ seed: 7, sizes: SMALL }).pages);
  });

  it("asks compute questions whose answers are the difference of the numbers their two pages state", () => {
    const pages = new Map(computeWorld.pages.map((p) => [p.title, p]));
    const compute = computeWorld.questions.filter((q) => q.type === "compute");
    expect(compute.length).toBeGreaterThan(30);
    expect(compute.some((q) => q.question.startsWith("How much larger is the population"))).toBe(true);
    expect(compute.some((q) => q.question.startsWith("How many years apart"))).toBe(true);
    for (const question of compute) {
      const numbers = question.supportingFacts.map(([title, sentence]) => {
        expect(question.question).toContain(nameOf(title));
        const stated = pages.get(title)!.sentences[sentence]!.match(/\d+/g);
        expect(stated).toHaveLength(1);
        return Number(stated![0]);
      });
      expect(numbers).toHaveLength(2);
      expect(question.answer).toBe(String(Math.abs(numbers[0]! - numbers[1]!)));
      expect(Number(question.answer)).toBeGreaterThan(0);
    }
  });

  it("writes short pages whose facts all sit in the 5 sentences Search shows", () => {
    for (const page of world.pages) expect(page.sentences.length).toBeGreaterThanOrEqual(2);
    for (const page of world.pages) expect(page.sentences.length).toBeLessThanOrEqual(5);
    for (const question of world.questions) {
      for (const [, sentence] of question.supportingFacts) expect(sentence).toBeLessThan(5);
    }
  });

  it.each([
    ["the default families", world],
    ["compute questions too", computeWorld],
  ] as const)("never lets a dev or test entity name occur in training pages or questions, with %s", (_, generated) => {
    expect(heldNamesInTraining(generated)).toEqual([]);
  });

  it.each([
    ["the default families", world],
    ["compute questions too", computeWorld],
  ] as const)("keeps each question on pages of its own split, listed in search order, with %s", (_, generated) => {
    const splitOf = new Map(generated.pages.map((p) => [titleKey(p.title), p.split]));
    for (const question of generated.questions) {
      const titles = question.supportingFacts.map(([title]) => title);
      expect(titles).toEqual(question.plan.hops.map((hop) => hop.title));
      for (const title of titles) expect(splitOf.get(titleKey(title))).toBe(question.split);
    }
  });

  it("asks comparisons between two named options, and yes/no questions both ways", () => {
    const comparisons = world.questions.filter((q) => q.type === "comparison");
    const yesNo = comparisons.filter((q) => q.plan.answerFrom === "same");
    expect(yesNo.filter((q) => q.answer === "yes").length).toBeGreaterThan(yesNo.length / 4);
    expect(yesNo.filter((q) => q.answer === "no").length).toBeGreaterThan(yesNo.length / 4);
    for (const question of comparisons.filter((q) => q.plan.answerFrom !== "same")) {
      expect(question.question).toContain(question.answer);
      expect(question.plan.hops.map((hop) => hop.subject)).toContain(question.answer);
    }
  });
});

describe("hopworld as tasks and as a corpus", () => {
  it("gives tasks with their supporting pages, the whole world as the docstore, and training pages as the corpus", () => {
    const tasks = worldTasks(world, "test");
    expect(tasks).toHaveLength(300);
    const [task] = tasks;
    const question = world.questions.find((q) => q.id === task!.id)!;
    expect(task).toMatchObject({ question: question.question, answer: question.answer, type: question.type });
    expect(task!.context.map(([title]) => title)).toEqual([...new Set(question.supportingFacts.map(([title]) => title))]);
    expect(worldDocstore(world).size).toBe(world.pages.length);
    const corpus = worldCorpus(world);
    expect(corpus).toHaveLength(world.pages.filter((p) => p.split === "train").length);
    expect(corpus[0]).toBe(world.pages[0]!.sentences.join(" "));
  });
});

describe("the expert", () => {
  it.each(["dev", "test"] as const)("answers every %s question through the real wiki environment", (split) => {
    const trajectories = expertRuns[split];
    expect(trajectories).toHaveLength(300);
    expect(trajectories.filter((t) => t.metrics.em !== 1).map((t) => t.id)).toEqual([]);
    for (const t of trajectories) expect(t.metrics).toMatchObject({ halted: false, invalid: 0 });
  });

  it("searches an ambiguous name first, gets a miss listing the pages, then searches the one the question means", () => {
    const ambiguous = new Map(world.questions.filter((q) => q.type === "ambiguous").map((q) => [q.id, q]));
    const docstore = worldDocstore(world);
    const runs = [...expertRuns.dev, ...expertRuns.test].filter((t) => ambiguous.has(t.id));
    expect(runs.length).toBe(90);
    for (const trajectory of runs) {
      const [hop] = ambiguous.get(trajectory.id)!.plan.hops;
      expect(docstore.get(hop!.query!)).toBeUndefined();
      const [first, second] = trajectory.steps;
      expect(first!.action).toBe(`Search[${hop!.query}]`);
      expect(first!.observation).toMatch(new RegExp(`^Could not find .*Similar: \\[.*'${hop!.title.replace(/[()]/g, "\\$&")}'`));
      expect(second!.action).toBe(`Search[${hop!.title}]`);
    }
  });

  it("answers compute questions with two searches, Code[larger - smaller] and Finish, through the real environment", () => {
    const compute = new Map(computeWorld.questions.filter((q) => q.type === "compute").map((q) => [q.id, q]));
    expect(computeExpertRuns.filter((t) => t.metrics.em !== 1).map((t) => t.id)).toEqual([]);
    const runs = computeExpertRuns.filter((t) => compute.has(t.id));
    expect(runs.length).toBeGreaterThan(15);
    for (const trajectory of runs) {
      const { answer, supportingFacts } = compute.get(trajectory.id)!;
      expect(trajectory.steps.map((step) => step.action.replace(/\[.*\]$/, ""))).toEqual(["Search", "Search", "Code", "Finish"]);
      expect(trajectory.steps.slice(0, 2).map((step) => step.action)).toEqual(supportingFacts.map(([title]) => `Search[${title}]`));
      expect(trajectory.steps[2]!.action).toMatch(/^Code\[\d+ - \d+\]$/);
      expect(trajectory.steps[2]!.observation).toBe(`Result: ${answer}`);
      expect(trajectory.steps[3]!.thought).toBe(`The difference is ${answer}.`);
    }
  });

  it("answers unknown when the code interpreter does not give the difference", async () => {
    const question = computeWorld.questions.find((q) => q.split === "dev" && q.type === "compute")!;
    const task = worldTasks(computeWorld, "dev").find((t) => t.id === question.id)!;
    // Without the Code tool, Code[...] is an invalid action.
    const trajectory = await runEpisode(new ExpertPolicy(computeWorld), new WikiEnvironment(worldDocstore(computeWorld)), {
      task,
      prompt: await loadPrompt(HOPWORLD_PROMPT),
    });
    expect(trajectory.steps[2]!.observation).toMatch(/^Invalid action/);
    expect(trajectory.answer).toBe(UNKNOWN_ANSWER);
  });

  it("lets the oracle run a compute question's program too", async () => {
    const docstore = worldDocstore(computeWorld);
    const tasks = worldTasks(computeWorld, "test").filter((t) => t.type === "compute");
    expect(tasks.every((t) => /^\d+ - \d+$/.test(t.program!))).toBe(true);
    expect(worldTasks(world, "test").some((t) => t.program !== undefined)).toBe(false);
    for (const task of tasks) {
      const trajectory = await runEpisode(new OraclePolicy(), worldEnvironment(docstore), { task, prompt: await loadPrompt(HOPWORLD_PROMPT) });
      expect(trajectory.metrics.em).toBe(1);
      expect(trajectory.steps.map((step) => step.observation).at(-2)).toBe(`Result: ${task.answer}`);
    }
  });

  it("writes short thoughts that say what it needs and what it found", () => {
    const trajectory = expertRuns.dev.find((t) => world.questions.find((q) => q.id === t.id)!.type === "bridge2")!;
    const [hop1, hop2] = world.questions.find((q) => q.id === trajectory.id)!.plan.hops;
    expect(trajectory.steps[0]!.thought).toMatch(/^I need the .+ first\.$/);
    expect(trajectory.steps[1]!.thought).toContain(`${hop1!.value}. Now I need`);
    expect(trajectory.steps[2]!.action).toBe(`Finish[${hop2!.value}]`);
  });

  it("answers unknown when a page does not say what its plan needs", async () => {
    const question = world.questions.find((q) => q.split === "dev" && q.type === "bridge2")!;
    const [, second] = question.supportingFacts;
    const broken: World = structuredClone(world);
    const page = broken.pages.find((p) => p.title === second![0])!;
    page.sentences[second![1]] = "Nothing is known about it.";
    const task = worldTasks(broken, "dev").find((t) => t.id === question.id)!;
    const trajectory = await runEpisode(new ExpertPolicy(broken), new WikiEnvironment(worldDocstore(broken)), {
      task,
      prompt: await loadPrompt(HOPWORLD_PROMPT),
    });
    expect(trajectory.answer).toBe(UNKNOWN_ANSWER);
    expect(trajectory.metrics.em).toBe(0);
  });

  it("keeps episodes short enough for a small model's context", async () => {
    expect((await loadPrompt(HOPWORLD_PROMPT)).exemplars).toEqual([]);
    const lengths = await expertEpisodeLengths(hopworldSuite(world), "dev");
    expect(lengths).toHaveLength(300);
    // Each counts the question, every thought and every observation the model reads.
    expertRuns.dev.forEach((t, i) => {
      const read = t.steps.slice(0, -1).reduce((sum, s) => sum + s.thought.length + s.observation.length, 0);
      expect(lengths[i]).toBeGreaterThan(t.question.length + read);
    });
    expect(lengths.reduce((sum, n) => sum + n, 0) / lengths.length).toBeLessThan(900);
    expect(Math.max(...lengths)).toBeLessThan(1400);
  });
});

describe("world files", () => {
  it("load back as written, and a bad file is a UserError naming it", async () => {
    const dir = await tempDir();
    const small = generateWorld({ seed: 5, sizes: SMALL });
    const path = join(dir, "world.json");
    await writeFile(path, serializeWorld(small));
    expect(await loadWorld(path)).toEqual(small);

    const broken = structuredClone(small);
    broken.questions[0]!.supportingFacts[0]![0] = "No Such Page";
    const cases: [string, RegExp][] = [
      ["{not json", /not valid JSON/],
      [JSON.stringify({ ...small, version: 99 }), /version 99/],
      [JSON.stringify({ ...small, pages: "none" }), /pages/],
      [JSON.stringify(broken), /No Such Page/],
    ];
    for (const [text, message] of cases) {
      await writeFile(path, text);
      const error = await loadWorld(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain(path);
    }
    await expect(loadWorld(join(dir, "missing.json"))).rejects.toThrow(/not found/);
  });
});

describe("react-rl world and bench --dataset hopworld", () => {
  it("generates the same file twice, overwrites only with --force, and reports stats", async () => {
    const dir = await tempDir();
    const args = (out: string) => ["world", "generate", "--seed", "11", "--train", "150", "--dev", "40", "--test", "40", "--out", out];
    expect((await cli(args(join(dir, "a.json")))).code).toBe(0);
    expect((await cli(args(join(dir, "b.json")))).code).toBe(0);
    expect(await readFile(join(dir, "a.json"), "utf8")).toBe(await readFile(join(dir, "b.json"), "utf8"));
    const again = await cli(args(join(dir, "a.json")));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
    // --force replaces it: another seed, another file
    expect((await cli([...args(join(dir, "a.json")), "--seed", "12", "--force"])).code).toBe(0);
    expect(await readFile(join(dir, "a.json"), "utf8")).not.toBe(await readFile(join(dir, "b.json"), "utf8"));
    const stats = await cli(["world", "stats", join(dir, "a.json")]);
    const figures = lastJson(stats.stdout);
    expect(figures.counts).toMatchObject({ train: { questions: 150 }, dev: { questions: 40 }, test: { questions: 40 } });
    expect(figures.expertEpisodeChars.max).toBeGreaterThan(figures.expertEpisodeChars.mean);
  });

  it("runs the oracle on a test split with EM 1 and a summary per question type, and writes expert episodes", async () => {
    const dir = await tempDir();
    const path = join(dir, "world.json");
    await writeFile(path, serializeWorld(generateWorld({ seed: 2, sizes: SMALL, families: QUESTION_TYPES })));
    const out = join(dir, "bench");
    const bench = await cli(["bench", "--dataset", "hopworld", "--world", path, "--split", "test", "--policy", "oracle", "--out", out]);
    expect(bench.code).toBe(0);
    expect(lastJson(bench.stdout)).toMatchObject({ n: 60, em: 1 });
    expect(bench.stdout).toMatch(/EM ambiguous +1\.000/);
    expect(bench.stdout).toMatch(/EM compute +1\.000/);
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    expect(Object.keys(summary.byType)).toEqual([...QUESTION_TYPES].sort());
    for (const type of QUESTION_TYPES) expect(summary.byType[type]).toMatchObject({ em: 1 });

    const log = join(dir, "expert.jsonl");
    expect((await cli(["world", "expert", "--world", path, "--split", "train", "--limit", "25", "--out", log])).code).toBe(0);
    const lines = (await readFile(log, "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    expect(lines).toHaveLength(25);
    expect(lines.every((t) => t.metrics.em === 1 && t.meta.policy === "expert")).toBe(true);
  });

  it("generates the families asked for, and names the known ones for an unknown family", async () => {
    const dir = await tempDir();
    const path = join(dir, "world.json");
    const generate = (families: string, out = path) =>
      cli(["world", "generate", "--seed", "3", "--train", "60", "--dev", "20", "--test", "20", "--families", families, "--out", out]);
    expect((await generate("compute, bridge2")).code).toBe(0);
    const types = new Set((await loadWorld(path)).questions.map((q) => q.type));
    expect([...types].sort()).toEqual(["bridge2", "compute"]);
    const bad = await generate("bridge2,comput", join(dir, "bad.json"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`invalid --families: unknown question family "comput" (known: ${QUESTION_TYPES.join(", ")})`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(() => generateWorld({ seed: 3, families: [] })).toThrow(/at least one question family/);
  });

  it("says what is missing instead of failing with a stack", async () => {
    const missing = await cli(["bench", "--dataset", "hopworld", "--file", "questions.json"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--world FILE");
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const bad = await cli(["world", "stats", "/no/such/world.json"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("not found");
  });
});
