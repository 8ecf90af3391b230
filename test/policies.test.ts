import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadPrompt } from "../prompts/index.ts";
import { runEpisode } from "../src/agent/episode.ts";
import { parseStep } from "../src/agent/parse.ts";
import type { PolicyRequest } from "../src/agent/policy.ts";
import { renderPrompt } from "../src/agent/prompt.ts";
import { BaselinePolicy, OraclePolicy } from "../src/policies/index.ts";
import { Docstore, WikiEnvironment } from "../tools/wiki/index.ts";
import type { QaTask } from "../tools/wiki/task.ts";
import { sharedData } from "./helpers/shared.ts";

const DEV_FILE = sharedData("hotpotqa/hotpotqa-dev-distractor-2116.jsonl");

function readHotpotQa(path: string, count: number): QaTask[] {
  const lines = readFileSync(path, "utf8").trim().split("\n").slice(0, count);
  return lines.map((line) => {
    const row = JSON.parse(line) as Record<string, unknown>;
    return {
      id: row.id,
      question: row.question,
      answer: row.answer,
      type: row.type,
      supportingFacts: row.supporting_facts,
      context: row.context,
    } as QaTask;
  });
}

const tasks = readHotpotQa(DEV_FILE, 12);
const template = await loadPrompt("hotpotqa");

function requestFor(task: QaTask, prompt: string, step: number): PolicyRequest<QaTask> {
  return { prompt, task, step, stop: [`\nObservation ${step}:`] };
}

/** A prompt as the agent writes it: exemplars, the question, then the given steps. */
function promptWith(task: QaTask, steps: { action: string; observation: string }[]): string {
  const history = steps.map((s) => ({ thought: "t", ...s, valid: true, raw: "", latencyMs: 0 }));
  return renderPrompt(template, task.question, history, steps.length + 1);
}

const bullRun = tasks.find((t) => t.question.startsWith("Which battle, the Battle of Cold Harbor"))!;

describe("OraclePolicy", () => {
  it("searches each supporting title once, in order, then finishes with the gold answer", async () => {
    const oracle = new OraclePolicy();
    const task: QaTask = {
      id: "q",
      question: "Who?",
      answer: "Ada Lovelace",
      type: "bridge",
      supportingFacts: [["Analytical Engine", 0], ["Ada Lovelace", 2], ["Analytical Engine", 3]],
      context: [],
    };
    const texts = await Promise.all([1, 2, 3].map(async (step) => (await oracle.act(requestFor(task, "", step))).text));
    expect(texts).toEqual([
      " I need to look up Analytical Engine.\nAction 1: Search[Analytical Engine]",
      " I need to look up Ada Lovelace.\nAction 2: Search[Ada Lovelace]",
      " I know the answer.\nAction 3: Finish[Ada Lovelace]",
    ]);
    expect(parseStep(texts[2]!, 3).action).toEqual({ name: "Finish", argument: "Ada Lovelace" });
  });

  it("scores full marks in the wiki environment", async () => {
    const trajectory = await runEpisode(new OraclePolicy(), new WikiEnvironment(Docstore.fromTasks(tasks)), { task: bullRun });
    expect(trajectory.steps.map((s) => s.action)).toEqual([
      "Search[Battle of Cold Harbor]",
      "Search[Second Battle of Bull Run]",
      "Finish[Second Battle of Bull Run]",
    ]);
    expect(trajectory.metrics.em).toBe(1);
  });
});

describe("BaselinePolicy", () => {
  const baseline = new BaselinePolicy();

  it("first searches a title-like span of the question, not of the exemplars", async () => {
    const titled = tasks.filter((task) => /\s["“]?\p{Lu}/u.test(task.question));
    expect(titled.length).toBeGreaterThanOrEqual(10);
    for (const task of titled) {
      const { text } = await baseline.act(requestFor(task, promptWith(task, []), 1));
      const { action } = parseStep(text, 1);
      expect(action?.name).toBe("Search");
      expect(task.question).toContain(action!.argument);
      expect(action!.argument).toMatch(/^\p{Lu}/u);
    }
  });

  it("searches quoted strings first, then the longest capitalised run without the question word", async () => {
    const task = { ...tasks[0]!, question: 'Which actor starred in "Lethal Weapon" and in Die Hard?' };
    const first = await baseline.act(requestFor(task, promptWith(task, []), 1));
    expect(first.text).toBe(" I need to search Lethal Weapon.\nAction 1: Search[Lethal Weapon]");
    const prompt = promptWith(task, [{ action: "Search[Lethal Weapon]", observation: "Lethal Weapon is a 1987 film." }]);
    expect(parseStep((await baseline.act(requestFor(task, prompt, 2))).text, 2).action?.argument).toBe("Die Hard");
  });

  it("searches the content words of a question without titles, then the page the miss suggests", async () => {
    const virus = tasks.find((task) => task.question.startsWith("What is the genus of the viral disease"))!;
    const trajectory = await runEpisode(baseline, new WikiEnvironment(Docstore.fromTasks(tasks)), { task: virus });
    expect(trajectory.steps[0]?.action).toMatch(/^Search\[genus viral disease symptoms such fever chills .*liver damage\]$/);
    expect(trajectory.steps[0]?.observation).toMatch(/^Could not find .* Similar: \['Yellow fever'/);
    expect(trajectory.steps[1]?.action).toBe("Search[Yellow fever]");
  });

  it("follows the first suggestion after a miss", async () => {
    const task = { ...tasks[0]!, question: "What is the name of Bruce Willis's character in Unbreakable?" };
    const prompt = promptWith(task, [
      { action: "Search[Bruce Willis]", observation: "Walter Bruce Willis is an American actor." },
      { action: "Search[Unbreakable]", observation: "Could not find Unbreakable. Similar: ['Unbreakable (film)', \"Willis's roles\"]." },
    ]);
    const { text } = await baseline.act(requestFor(task, prompt, 3));
    expect(parseStep(text, 3).action).toEqual({ name: "Search", argument: "Unbreakable (film)" });
  });

  it("answers yes to a yes/no question once its searches are done", async () => {
    const task = { ...tasks[0]!, question: "Were Scott Derrickson and Ed Wood of the same nationality?" };
    const searched = [
      { action: "Search[Scott Derrickson]", observation: "Scott Derrickson (born 1966) is an American director." },
      { action: "Search[Ed Wood]", observation: "Edward Davis Wood Jr. (1924 - 1978) was an American filmmaker." },
    ];
    const first = await baseline.act(requestFor(task, promptWith(task, searched.slice(0, 1)), 2));
    expect(parseStep(first.text, 2).action).toEqual({ name: "Search", argument: "Ed Wood" });
    const { text } = await baseline.act(requestFor(task, promptWith(task, searched), 3));
    expect(parseStep(text, 3).action).toEqual({ name: "Finish", argument: "yes" });
  });

  it("picks the earlier of two options from the years it read", async () => {
    const environment = new WikiEnvironment(Docstore.fromTasks(tasks));
    const trajectory = await runEpisode(baseline, environment, { task: bullRun });
    expect(trajectory.steps.slice(0, -1).every((s) => s.action.startsWith("Search["))).toBe(true);
    expect(trajectory.answer).toBe("Second Battle of Bull Run");
  });

  it("is deterministic", async () => {
    const environment = () => new WikiEnvironment(Docstore.fromTasks(tasks));
    for (const task of tasks.slice(0, 5)) {
      const [a, b] = await Promise.all([runEpisode(baseline, environment(), { task }), runEpisode(baseline, environment(), { task })]);
      expect(a.steps.map((s) => s.raw)).toEqual(b.steps.map((s) => s.raw));
      expect(a.answer).not.toBeNull();
    }
  });
});
