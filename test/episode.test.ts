import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadPrompt, parsePromptFile, promptFile, resolvePrompt, type PromptTemplate } from "../prompts/index.ts";
import { DEFAULT_MAX_STEPS, promptOf, renderPrompt, runEpisode, type Policy } from "../src/agent/index.ts";
import { BaselinePolicy } from "../src/policies/baseline.ts";
import { UserError } from "../src/errors.ts";
import { ScriptedPolicy } from "../src/policies/scripted.ts";
import { invalidAction, type Action, type Environment, type StepResult, type Task } from "../tools/environment.ts";
import { defineTool } from "../tools/tool.ts";
import { TrajectorySchema, type Step, type Trajectory } from "../trajectories/schema.ts";

const TASK: Task = { id: "q1", question: "What country is Paris the capital of?", answer: "France" };
const PARIS = "Paris is the capital and largest city of France.";
const TEMPLATE: PromptTemplate = {
  instruction: "Answer with Search[entity] and Finish[answer].",
  exemplars: ["Question: Q?\nThought 1: t\nAction 1: Finish[A]", "Question: R?\nThought 1: u\nAction 1: Finish[B]"],
};

/** A two-tool world: Search knows one page, Finish scores exact matches. Records what reached it. */
class FakeWiki implements Environment<Task> {
  readonly tools = [
    defineTool({ name: "Search", description: "Finds a page.", schema: z.string().describe("entity"), call: (entity) => this.search(entity) }),
  ];
  readonly actions: Action[] = [];
  private gold = "";

  async reset(task: Task): Promise<string> {
    this.gold = task.answer ?? "";
    return task.question;
  }

  async step(action: Action): Promise<StepResult> {
    this.actions.push(action);
    const name = action.name.toLowerCase();
    if (name === "search") return { observation: this.search(action.argument), done: false, reward: 0, info: { valid: true } };
    if (name === "finish") {
      const right = action.argument === this.gold ? 1 : 0;
      const scores = { em: right, f1: right === 1 ? 1 : 0.5, fuzzy: right };
      return { observation: "Episode finished.", done: true, reward: right, info: { valid: true, answer: action.argument, scores } };
    }
    return { observation: invalidAction(`${action.name}[${action.argument}]`), done: false, reward: 0, info: { valid: false } };
  }

  private search(entity: string): string {
    return entity === "Paris" ? PARIS : `Could not find ${entity}. Similar: ['Paris'].`;
  }
}

async function run(policy: Policy, options: { maxSteps?: number; prompt?: PromptTemplate } = {}) {
  const environment = new FakeWiki();
  const trajectory = await runEpisode(policy, environment, { task: TASK, prompt: TEMPLATE, ...options });
  return { trajectory: TrajectorySchema.parse(trajectory), environment };
}

const PACKAGE_VERSION = z.object({ version: z.string() }).parse(
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")),
).version;

describe("runEpisode", () => {
  it("runs a normal episode to Finish and records it", async () => {
    const policy = new ScriptedPolicy([" I need to search Paris.\nAction 1: Search[Paris]", " Paris is in France.\nAction 2: Finish[France]"]);
    const { trajectory, environment } = await run(policy);

    expect(environment.actions).toEqual([
      { name: "Search", argument: "Paris" },
      { name: "Finish", argument: "France" },
    ]);
    expect(trajectory.steps.map(({ thought, action, observation, valid }) => ({ thought, action, observation, valid }))).toEqual([
      { thought: "I need to search Paris.", action: "Search[Paris]", observation: PARIS, valid: true },
      { thought: "Paris is in France.", action: "Finish[France]", observation: "Episode finished.", valid: true },
    ]);
    expect(trajectory).toMatchObject({
      id: "q1",
      question: TASK.question,
      gold: "France",
      answer: "France",
      reward: 1,
      metrics: { em: 1, f1: 1, fuzzy: 1, steps: 2, invalid: 0, halted: false },
    });
    expect(trajectory.steps[0]!.raw).toBe(" I need to search Paris.\nAction 1: Search[Paris]");
  });

  it("fills run metadata from the policy, the package and the caller", async () => {
    const policy: Policy = {
      name: "fake-llm",
      model: "tiny-1",
      temperature: 0.7,
      seed: 3,
      act: async () => ({ text: " x\nAction 1: Finish[Spain]" }),
    };
    const before = Date.now();
    const trajectory = TrajectorySchema.parse(
      await runEpisode(policy, new FakeWiki(), { task: TASK, prompt: TEMPLATE, maxSteps: 4, meta: { dataset: "hotpotqa-dev", seed: 9 } }),
    );

    expect(trajectory.meta).toMatchObject({ policy: "fake-llm", model: "tiny-1", temperature: 0.7, seed: 9, maxSteps: 4, dataset: "hotpotqa-dev" });
    expect(trajectory.meta.codeVersion).toBe(PACKAGE_VERSION);
    expect(Date.parse(trajectory.meta.startedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(trajectory.meta.wallMs).toBeGreaterThanOrEqual(0);
    expect(trajectory).toMatchObject({ answer: "Spain", reward: 0, metrics: { em: 0, f1: 0.5, halted: false } });
  });

  it("runs with the policy's own prompt when given none, else HotpotQA's", async () => {
    const prompts = async (policy: ScriptedPolicy) => {
      await runEpisode(policy, new FakeWiki(), { task: TASK });
      return policy.requests[0]!.prompt;
    };
    const planner = Object.assign(new ScriptedPolicy([" t\nAction 1: Finish[France]"]), { defaultPrompt: await loadPrompt("arithmetic") });
    const arithmetic = await prompts(planner);
    expect(arithmetic).toContain((await loadPrompt("arithmetic")).instruction.slice(0, 60));
    expect(arithmetic).not.toContain("interleaving Thought, Action and Observation");
    expect(await prompts(new ScriptedPolicy([" t\nAction 1: Finish[France]"]))).toContain("interleaving Thought, Action and Observation");
    // promptOf takes any policy, one with no prompt of its own too (TypeScript refused those)
    expect(await promptOf(new BaselinePolicy())).toEqual(await loadPrompt("hotpotqa"));
  });

  it("keeps the task's type (a question family) when it has one", async () => {
    const policy = () => new ScriptedPolicy([" t\nAction 1: Finish[France]"]);
    const typed = await runEpisode(policy(), new FakeWiki(), { task: { ...TASK, type: "bridge2" }, prompt: TEMPLATE });
    expect(TrajectorySchema.parse(typed).type).toBe("bridge2");
    expect(await runEpisode(policy(), new FakeWiki(), { task: TASK, prompt: TEMPLATE })).not.toHaveProperty("type");
  });

  it("counts an unreadable action as invalid, shows it as such and never sends it to the environment", async () => {
    const policy = new ScriptedPolicy([" hmm\nAction 1: search for Paris", " I am lost", " ok\nAction 3: Finish[France]"]);
    const { trajectory, environment } = await run(policy);

    expect(environment.actions).toEqual([{ name: "Finish", argument: "France" }]);
    const [unreadable, missing] = trajectory.steps;
    expect(unreadable).toMatchObject({ thought: "hmm", action: "search for Paris", observation: "Invalid action: search for Paris", valid: false });
    expect(missing).toMatchObject({ thought: "I am lost", action: "", observation: "Invalid action: I am lost", valid: false });
    expect(trajectory.metrics).toMatchObject({ steps: 3, invalid: 2, em: 1, halted: false });
  });

  it("counts an action the environment rejects as invalid", async () => {
    const policy = new ScriptedPolicy([" t\nAction 1: Fly[Paris]", " t\nAction 2: Finish[France]"]);
    const { trajectory, environment } = await run(policy);

    expect(environment.actions[0]).toEqual({ name: "Fly", argument: "Paris" });
    expect(trajectory.steps[0]).toMatchObject({ observation: "Invalid action: Fly[Paris]", valid: false });
    expect(trajectory.metrics.invalid).toBe(1);
  });

  it("halts after the default step limit of 7 without an answer", async () => {
    const policy = new ScriptedPolicy((request) => ` still looking\nAction ${request.step}: Search[Rome]`);
    const { trajectory } = await run(policy);

    expect(DEFAULT_MAX_STEPS).toBe(7);
    expect(policy.requests).toHaveLength(7);
    expect(trajectory).toMatchObject({
      answer: null,
      reward: 0,
      metrics: { em: 0, f1: 0, fuzzy: 0, steps: 7, invalid: 0, halted: true },
    });
  });

  it("honours a smaller step limit and rejects a meaningless one", async () => {
    const policy = new ScriptedPolicy(() => " t\nAction 1: Search[Rome]");
    const { trajectory } = await run(policy, { maxSteps: 3 });
    expect(trajectory.steps).toHaveLength(3);
    expect(trajectory.metrics.halted).toBe(true);
    await expect(run(policy, { maxSteps: 0 })).rejects.toThrow(new UserError("runEpisode: maxSteps: expected a whole number of at least 1"));
  });

  it("says in one line what a script got wrong: a prompt given as text, no task", async () => {
    const policy = new ScriptedPolicy(() => " t\nAction 1: Finish[France]");
    await expect(runEpisode(policy, new FakeWiki(), { task: TASK, prompt: "Answer it." as never })).rejects.toThrow(
      new UserError("runEpisode: prompt: expected a PromptTemplate ({ instruction, exemplars }), as loadPrompt(name) gives"),
    );
    await expect(runEpisode(policy, new FakeWiki(), {} as never)).rejects.toThrow(new UserError("runEpisode: task: required"));
    await expect((runEpisode as (...args: unknown[]) => Promise<unknown>)(policy, new FakeWiki())).rejects.toThrow(new UserError("runEpisode: task: required"));
    expect(policy.requests).toHaveLength(0);
    // A policy of one's own: none at all, or an act answering what is no completion (the parser threw reading 'matchAll')
    await expect(runEpisode({} as never, new FakeWiki(), { task: TASK })).rejects.toThrow(new UserError("runEpisode: policy: expected a Policy: an object with act(request)"));
    const careless = { name: "mine", act: async () => 42 } as never;
    await expect(runEpisode(careless, new FakeWiki(), { task: TASK })).rejects.toThrow(new UserError("runEpisode: policy mine answered 42, not a completion ({ text })"));
  });

  it.each([
    ["on its own line", "\n", ""],
    ["inline, as the parser reads it", " ", " "],
  ])("asks to stop at the next observation and cuts one the policy invents anyway, %s", async (_, before, kept) => {
    const invented = ` t\nAction 1: Search[Paris]${before}Observation 1: Paris is in Texas.\nThought 2: so Texas\nAction 2: Finish[Texas]`;
    const policy = new ScriptedPolicy([
      { text: invented, tokens: [1, 2, 3], logprobs: [-0.1, -0.2, -0.3], usage: { promptTokens: 50, completionTokens: 3 } },
      " t\nAction 2: Finish[France]",
    ]);
    const { trajectory, environment } = await run(policy);

    expect(policy.requests.map((request) => request.stop)).toEqual([["\nObservation 1:"], ["\nObservation 2:"]]);
    const [first] = trajectory.steps;
    expect(first!.raw).toBe(` t\nAction 1: Search[Paris]${kept}`);
    expect(first!.observation).toBe(PARIS);
    expect(environment.actions).toHaveLength(2);
    // Tokens and logprobs covered the cut text too, so they no longer describe `raw`; the cost still counts.
    expect(first).not.toHaveProperty("tokens");
    expect(first).not.toHaveProperty("logprobs");
    expect(first!.usage).toEqual({ promptTokens: 50, completionTokens: 3 });
    expect(trajectory.answer).toBe("France");
  });

  it("records tokens, logprobs, usage and latency from the policy", async () => {
    const policy: Policy = {
      name: "slow",
      act: async () => {
        await new Promise((resolve) => setTimeout(resolve, 25));
        return { text: " t\nAction 1: Finish[France]", tokens: [7, 8], logprobs: [-0.5, -1.5], usage: { promptTokens: 120, completionTokens: 2 } };
      },
    };
    const { trajectory } = await run(policy);

    const [step] = trajectory.steps;
    expect(step).toMatchObject({ tokens: [7, 8], logprobs: [-0.5, -1.5], usage: { promptTokens: 120, completionTokens: 2 } });
    expect(step!.latencyMs).toBeGreaterThanOrEqual(20);
  });

  it("leaves out what the policy does not know", async () => {
    const { trajectory } = await run(new ScriptedPolicy([" t\nAction 1: Finish[France]"]));
    const [step] = trajectory.steps;
    for (const key of ["tokens", "logprobs", "usage"]) expect(step).not.toHaveProperty(key);
  });

  it("shows the policy the exemplars, the question, the steps so far, and the open thought", async () => {
    const policy = new ScriptedPolicy([" t1\nAction 1: Search[Paris]", " t2\nAction 2: Search[Lyon]", " t3\nAction 3: Finish[France]"]);
    await run(policy);

    const third = policy.requests[2]!;
    expect(third.step).toBe(3);
    expect(third.task).toBe(TASK);
    expect(third.prompt.startsWith(TEMPLATE.instruction)).toBe(true);
    for (const exemplar of TEMPLATE.exemplars) expect(third.prompt).toContain(exemplar);
    expect(third.prompt).toContain(
      `Question: ${TASK.question}\nThought 1: t1\nAction 1: Search[Paris]\nObservation 1: ${PARIS}\n` +
        "Thought 2: t2\nAction 2: Search[Lyon]\nObservation 2: Could not find Lyon. Similar: ['Paris'].\n",
    );
    expect(third.prompt.endsWith("Observation 2: Could not find Lyon. Similar: ['Paris'].\nThought 3:")).toBe(true);
    expect(policy.requests[0]!.prompt.endsWith(`Question: ${TASK.question}\nThought 1:`)).toBe(true);
  });

  it("uses the bundled HotpotQA prompt by default, listing the environment's tools", async () => {
    const policy = new ScriptedPolicy([" t\nAction 1: Finish[France]"]);
    await runEpisode(policy, new FakeWiki(), { task: TASK });

    const { instruction, exemplars } = await loadPrompt();
    const prompt = policy.requests[0]!.prompt;
    const tools = "(1) Search[entity]: Finds a page.\n(2) Finish[answer]: Gives the answer and ends the task.";
    expect(prompt.startsWith(instruction.replace("{tools}", tools))).toBe(true);
    for (const exemplar of exemplars) expect(prompt).toContain(exemplar);
    expect(prompt.endsWith(`Question: ${TASK.question}\nThought 1:`)).toBe(true);
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    const policy = new ScriptedPolicy(() => {
      controller.abort();
      return " t\nAction 1: Search[Paris]";
    });
    await expect(runEpisode(policy, new FakeWiki(), { task: TASK, prompt: TEMPLATE, signal: controller.signal })).rejects.toThrow(
      /abort/i,
    );
    expect(policy.requests).toHaveLength(1);
  });

  it("fails clearly when a scripted policy runs out of outputs", async () => {
    const policy = new ScriptedPolicy([" t\nAction 1: Search[Paris]"]);
    await expect(run(policy)).rejects.toThrow("ScriptedPolicy ran out of outputs: request 2 asked for one, but the script has only 1.");
  });

  it("writes trajectories that survive a JSON round trip through the schema", async () => {
    const policy = new ScriptedPolicy([" t\nAction 1: Search[Paris]", " t\nAction 2: Finish[France]"]);
    const { trajectory } = await run(policy);
    const reread: Trajectory = TrajectorySchema.parse(JSON.parse(JSON.stringify(trajectory)));
    expect(reread).toEqual(JSON.parse(JSON.stringify(trajectory)));
  });
});

describe("renderPrompt", () => {
  const step = (thought: string, action: string, observation: string): Step => ({
    thought,
    action,
    observation,
    valid: true,
    raw: "",
    latencyMs: 0,
  });

  it("lays out instruction, exemplars, question and steps in ReAct's format", () => {
    const template = { instruction: "Do it.", exemplars: ["E1", "E2"] };
    const prompt = renderPrompt(template, " Why? ", [step("a", "Search[X]", "X is."), step("b", "Lookup[y]", "No more results.")], 3);
    expect(prompt).toBe(
      "Do it.\n\nE1\n\nE2\n\nQuestion: Why?\n" +
        "Thought 1: a\nAction 1: Search[X]\nObservation 1: X is.\n" +
        "Thought 2: b\nAction 2: Lookup[y]\nObservation 2: No more results.\n" +
        "Thought 3:",
    );
  });
});

describe("prompt files", () => {
  it("split into an instruction and exemplars", () => {
    expect(parsePromptFile("Intro.\n---\nQuestion: A\n---\r\nQuestion: B\n")).toEqual({
      instruction: "Intro.",
      exemplars: ["Question: A", "Question: B"],
    });
  });

  it("read an instruction alone as a zero-shot prompt, and reject empty sections", () => {
    expect(parsePromptFile("Only an instruction.\n")).toEqual({ instruction: "Only an instruction.", exemplars: [] });
    expect(() => parsePromptFile("\n---\nQuestion: A")).toThrow(/non-empty instruction/);
    expect(() => parsePromptFile("Intro.\n---\n\n---\nQuestion: A")).toThrow(/non-empty exemplars/);
  });

  describe("found by name or path", () => {
    const bundled = (name: string) => fileURLToPath(new URL(`../prompts/${name}.txt`, import.meta.url));
    /** A user's project holding prompts/hotpotqa.txt (shadowing the bundled one) and my-prompts/qa.txt. */
    const project = async () => {
      const cwd = await mkdtemp(join(tmpdir(), "react-rl-prompts-"));
      await mkdir(join(cwd, "prompts"));
      await mkdir(join(cwd, "my-prompts"));
      await writeFile(join(cwd, "prompts", "hotpotqa.txt"), "Mine.\n---\nQuestion: A");
      await writeFile(join(cwd, "my-prompts", "qa.txt"), "From a path.\n");
      return cwd;
    };

    it("read a name from the working folder's prompts/ first, then the bundled ones", async () => {
      const cwd = await project();
      expect(resolvePrompt("hotpotqa", { cwd })).toBe(join(cwd, "prompts", "hotpotqa.txt"));
      expect(await loadPrompt("hotpotqa", { cwd })).toEqual({ instruction: "Mine.", exemplars: ["Question: A"] });
      expect(resolvePrompt("hopworld", { cwd })).toBe(bundled("hopworld"));
      expect(await loadPrompt("hopworld", { cwd })).toEqual(await loadPrompt("hopworld"));
      expect(promptFile("mine", { cwd })).toBe(join(cwd, "prompts", "mine.txt"));
    });

    it("read a path (one holding / or ending in .txt) from the working folder, or as given", async () => {
      const cwd = await project();
      const fromPath = { instruction: "From a path.", exemplars: [] };
      expect(await loadPrompt("./my-prompts/qa.txt", { cwd })).toEqual(fromPath);
      expect(await loadPrompt(join(cwd, "my-prompts", "qa.txt"))).toEqual(fromPath);
      expect(resolvePrompt("prompts/hotpotqa.txt", { cwd })).toBe(join(cwd, "prompts", "hotpotqa.txt"));
      expect(() => resolvePrompt("prompts/hotpotqa", { cwd })).toThrow(/^No prompt file prompts\/hotpotqa \(/); // a path is the file's own, no .txt added
      expect(() => resolvePrompt("qa.txt", { cwd })).toThrow(`No prompt file qa.txt (${join(cwd, "qa.txt")} does not exist).`);
    });

    it("say where they looked for an unknown name, and take no path for a name", async () => {
      const cwd = await project();
      await expect(loadPrompt("no-such-prompt", { cwd })).rejects.toThrow(
        `No prompt named "no-such-prompt" (looked for ${join(cwd, "prompts", "no-such-prompt.txt")} and ${bundled("no-such-prompt")}).`,
      );
      await expect(loadPrompt("no-such-prompt")).rejects.toThrow(`(looked for ${bundled("no-such-prompt")}).`);
      for (const name of ["..", ".hidden", "a b", "-x"]) await expect(loadPrompt(name, { cwd })).rejects.toThrow(/Invalid prompt name/);
      expect(() => promptFile("../package", { cwd })).toThrow(/Invalid prompt name/);
      await expect(loadPrompt("../package", { cwd })).rejects.toThrow(/No prompt file \.\.\/package/);
    });
  });

  it("bundle six HotpotQA exemplars that use Search, Lookup, a missed search and Finish", async () => {
    const { instruction, exemplars } = await loadPrompt("hotpotqa");
    expect(instruction).toMatch(/one of these:\n\{tools\}\nHere are some examples\.$/);
    expect(exemplars).toHaveLength(6);
    for (const exemplar of exemplars) expect(exemplar).toMatch(/^Question: [\s\S]*\nAction \d+: Finish\[[^\]]+\]$/);
    const all = exemplars.join("\n");
    expect(all).toMatch(/\nAction \d+: Lookup\[.+\]\nObservation \d+: \(Result 1 \/ \d+\) /);
    expect(all).toMatch(/\nObservation \d+: Could not find .+\. Similar: \['.+'\]\.\n/);
  });
});
