import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EpisodicMemory, parseRecallObservation, recallTool } from "../memory/index.ts";
import { loadPrompt } from "../prompts/index.ts";
import { Docstore, WikiEnvironment, type QaTask } from "../tools/wiki/index.ts";
import { readTrajectories, type Trajectory } from "../trajectories/index.ts";
import { runEpisode } from "../src/agent/episode.ts";
import { runBenchmark } from "../src/agent/index.ts";
import { runWithMemory } from "../src/bench/index.ts";
import { answeredFromMemory, BaselinePolicy, RecallingPolicy, ScriptedPolicy } from "../src/policies/index.ts";
import {
  generateWorld,
  HOPWORLD_PROMPT,
  recurringQuestions,
  worldDocstore,
  worldEnvironment,
  worldTasks,
  type StreamItem,
} from "../src/world/index.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-recurring-"));

/** A remembered episode that asked `question` and finished with `answer`, rewarded or not. */
function pastEpisode(id: string, question: string, answer: string, em: 0 | 1): Trajectory {
  const trajectory = makeTrajectory(id, em);
  const steps = trajectory.steps.map((step, i) => (i === trajectory.steps.length - 1 ? { ...step, action: `Finish[${answer}]` } : step));
  return { ...trajectory, question, steps, answer, gold: em ? answer : "something else" };
}

const task = (question: string): QaTask => ({ id: "now", question, answer: "?", type: "comparison", supportingFacts: [], context: [] });
const innerAnswer = new ScriptedPolicy((request) => ` I answer myself.\nAction ${request.step}: Finish[from the wrapped policy]`);

describe("RecallingPolicy", () => {
  const asked = "Which came out first, Red Harbor or Blue Harbor?";

  async function answerWith(remembered: Trajectory[], question: string, minSimilarity?: number): Promise<Trajectory> {
    const memory = await EpisodicMemory.open(await tempDir());
    await memory.remember(remembered);
    const environment = new WikiEnvironment(new Docstore([]), [recallTool(memory)]);
    return runEpisode(new RecallingPolicy(innerAnswer, { minSimilarity }), environment, { task: task(question) });
  }

  it("finishes with the answer of a close, rewarded earlier episode, right after recalling", async () => {
    const same = await answerWith([pastEpisode("a", asked, "Red Harbor", 1)], asked);
    expect(same.steps.map((step) => step.action)).toEqual([`Recall[${asked}]`, "Finish[Red Harbor]"]);
    expect(answeredFromMemory(same)).toBe(true);
    // The same words in another order embed the same (the hashing embedder is a bag of words and n-grams).
    const swapped = await answerWith([pastEpisode("a", asked, "Red Harbor", 1)], "Which came out first, Blue Harbor or Red Harbor?");
    expect(swapped.answer).toBe("Red Harbor");
  });

  it("hands over to the wrapped policy when the closest episode failed, is not close enough, or there is none", async () => {
    const failed = await answerWith([pastEpisode("a", asked, "Blue Harbor", 0)], asked);
    const flipped = await answerWith([pastEpisode("a", asked, "Red Harbor", 1)], "Which came out later, Red Harbor or Blue Harbor?");
    const empty = await answerWith([], asked);
    for (const trajectory of [failed, flipped, empty]) {
      expect(trajectory.answer).toBe("from the wrapped policy");
      expect(answeredFromMemory(trajectory)).toBe(false);
    }
    expect(empty.steps[0]!.observation).toBe("No similar past episodes.");
    // The look-alike is reused when the bar is set below its similarity: the bar is what keeps it out.
    const lowBar = await answerWith([pastEpisode("a", asked, "Red Harbor", 1)], "Which came out later, Red Harbor or Blue Harbor?", 0.8);
    expect(lowBar.answer).toBe("Red Harbor");
  });

  it("prefers a rewarded episode over a failed one that is just as close", async () => {
    const remembered = [pastEpisode("a", asked, "Blue Harbor", 0), pastEpisode("b", "Which came out first, Blue Harbor or Red Harbor?", "Red Harbor", 1)];
    const trajectory = await answerWith(remembered, asked);
    const shown = parseRecallObservation(trajectory.steps[0]!.observation);
    expect(shown.slice(0, 2).map((episode) => episode.similarity)).toEqual([1, 1]);
    expect(trajectory.answer).toBe("Red Harbor");
  });
});

describe("recurringQuestions", () => {
  const world = generateWorld({ seed: 1, sizes: { train: 10, dev: 5, test: 60 } });
  const questions = world.questions.filter((question) => question.split === "test");
  const stream = recurringQuestions(questions, { seed: 3, length: 120 });

  it("is a function of its seed, with unique ids, each question coming back only after it was first asked", () => {
    expect(recurringQuestions(questions, { seed: 3, length: 120 })).toEqual(stream);
    expect(new Set(stream.map((item) => item.question.id)).size).toBe(stream.length);
    const byId = new Map(questions.map((question) => [question.id, question]));
    stream.forEach((item, i) => {
      const [originalId] = item.question.id.split("~") as [string];
      const firstAt = stream.findIndex((other) => other.question.id === originalId);
      expect(firstAt).toBeLessThanOrEqual(i);
      const original = byId.get(originalId)!;
      const askedBefore = stream.slice(0, i).some((other) => other.question.question === item.question.question);
      expect(askedBefore).toBe(item.recurrence === "repeat");
      if (item.recurrence === "reworded") expect(item.question.answer).toBe(original.answer);
      if (item.recurrence === "flipped") expect(item.question.answer).not.toBe(original.answer);
    });
    const counts = (recurrence: StreamItem["recurrence"]) => stream.filter((item) => item.recurrence === recurrence).length;
    for (const recurrence of ["first", "repeat", "reworded", "flipped"] as const) expect(counts(recurrence)).toBeGreaterThan(0);
  });

  it("with memory, answers every repeat of a question once rewarded from memory, and only earlier episodes are recalled", async () => {
    const tasks = worldTasks({ ...world, questions: stream.map((item) => item.question) }, "test");
    const docstore = worldDocstore(world);
    const template = await loadPrompt(HOPWORLD_PROMPT);
    const dir = await tempDir();
    const memory = await EpisodicMemory.open(join(dir, "memory"));
    const common = { tasks, prompt: () => template };
    await runBenchmark({ ...common, policy: new BaselinePolicy(), environment: () => worldEnvironment(docstore), out: join(dir, "alone") });
    await runWithMemory({
      ...common,
      policy: new BaselinePolicy(),
      memory,
      environment: (_task, tools) => worldEnvironment(docstore, tools),
      out: join(dir, "with"),
    });
    const read = async (arm: string) => (await readTrajectories(join(dir, arm, "trajectories.jsonl"))).trajectories;
    const [alone, withMemory] = [await read("alone"), await read("with")];
    expect(memory.size).toBe(tasks.length);

    const rewardedBefore = new Set<string>();
    let reusedRepeats = 0;
    stream.forEach((item, i) => {
      const own = withMemory[i]!;
      expect(own.id).toBe(item.question.id);
      const recalled = parseRecallObservation(own.steps[0]!.observation);
      // A question asked for the first time finds no episode of its own words: its own is remembered only after it ends.
      if (item.recurrence === "first") expect(recalled.map((episode) => episode.question)).not.toContain(item.question.question);
      if (answeredFromMemory(own)) {
        expect(own.metrics.em).toBe(1);
      } else {
        // Without a reusable memory the wrapped policy answers exactly as it does alone.
        expect(own.answer).toBe(alone[i]!.answer);
      }
      if (item.recurrence === "repeat" && rewardedBefore.has(item.question.question)) {
        expect(answeredFromMemory(own)).toBe(true);
        reusedRepeats++;
      }
      if (own.reward > 0) rewardedBefore.add(item.question.question);
    });
    expect(reusedRepeats).toBeGreaterThan(0);
    const repeatEm = (trajectories: Trajectory[]) =>
      stream.reduce((sum, item, i) => sum + (item.recurrence === "repeat" ? trajectories[i]!.metrics.em : 0), 0);
    expect(repeatEm(withMemory)).toBeGreaterThanOrEqual(repeatEm(alone));
  });
});
