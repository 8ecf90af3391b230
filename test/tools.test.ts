import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadPrompt } from "../prompts/index.ts";
import { runEpisode, withToolList } from "../src/agent/index.ts";
import { ARITHMETIC_PROMPT } from "../src/suites/arithmetic.ts";
import { ScriptedPolicy } from "../src/policies/scripted.ts";
import { HOPWORLD_PROMPT, worldEnvironment } from "../src/world/tasks.ts";
import { callWithText, defineTool, toolEntry } from "../tools/tool.ts";
import { UserError } from "../src/errors.ts";
import { hangingTool } from "./helpers/hanging-tool.ts";
import { Docstore, WikiEnvironment, type QaTask } from "../tools/wiki/index.ts";

const add = defineTool({
  name: "Add",
  description: "Adds two numbers.",
  schema: z.object({ a: z.number().describe("the first addend"), b: z.number() }),
  call: ({ a, b }) => String(a + b),
});

const TASK: QaTask = { id: "sum", question: "What is 2 plus 3?", answer: "5", type: "arithmetic", supportingFacts: [], context: [] };

describe("the prompt's tool list", () => {
  it("shows each tool's name, argument form and description, from its definition", () => {
    expect(toolEntry(add)).toEqual({ form: "Add[a, b]", description: "Adds two numbers. Arguments: a (number): the first addend; b (number)." });
    const shout = defineTool({ name: "Shout", description: "Upper-cases text.", schema: z.string(), call: (text) => text.toUpperCase() });
    expect(toolEntry(shout)).toEqual({ form: "Shout[input]", description: "Upper-cases text." });
  });

  it("lists a custom tool in the default prompt of an episode given it, before Finish", async () => {
    const policy = new ScriptedPolicy<QaTask>([" I add.\nAction 1: Add[2, 3]", " It is 5.\nAction 2: Finish[5]"]);
    const trajectory = await runEpisode(policy, new WikiEnvironment(new Docstore([]), [add]), { task: TASK });
    const prompt = policy.requests[0]!.prompt;
    expect(prompt).toContain(
      [
        "An Action is one of these:",
        "(1) Search[entity]: Looks up the exact entity on Wikipedia and returns the first sentences of its page if there is one; otherwise it lists similar titles to search instead.",
        "(2) Lookup[keyword]: Returns the next sentence containing the keyword on the page that the last Search found.",
        "(3) Add[a, b]: Adds two numbers. Arguments: a (number): the first addend; b (number).",
        "(4) Finish[answer]: Gives the answer and ends the task.",
        "Here are some examples.",
      ].join("\n"),
    );
    expect(prompt).not.toContain("{tools}");
    expect(trajectory.steps[0]!.observation).toBe("5");
    expect(trajectory.reward).toBe(1);
  });

  it("leaves the embedded planner's prompts word for word: the text its checkpoint learned", async () => {
    const tools = worldEnvironment(new Docstore([])).tools;
    for (const name of [HOPWORLD_PROMPT, ARITHMETIC_PROMPT]) {
      const template = await loadPrompt(name);
      expect(withToolList(template, tools)).toBe(template);
    }
    const policy = new ScriptedPolicy<QaTask>([" t\nAction 1: Finish[5]"]);
    await runEpisode(policy, worldEnvironment(new Docstore([])), { task: TASK, prompt: await loadPrompt(HOPWORLD_PROMPT) });
    expect(policy.requests[0]!.prompt).toBe(
      "Answer the question. Search[title] shows a page, or similar titles if none has that title. Finish[answer] answers.\n\n" +
        "Question: What is 2 plus 3?\nThought 1:",
    );
  });
});

describe("object-schema arguments", () => {
  it("take values in key order, by name, mixed, or JSON", async () => {
    for (const argument of ["2, 3", "a=2, b=3", "b=3, a=2", "2, b=3", '{"a": 2, "b": 3}', " 2 ,3 "]) {
      expect(await callWithText(add, argument), argument).toBe("5");
    }
  });

  it("say what does not fit, and how to write it", async () => {
    const hint = "Write Add[a, b] or a JSON object.";
    expect(await callWithText(add, "2")).toBe(`Invalid input for Add: missing b (arguments: a, b). ${hint}`);
    expect(await callWithText(add, "2, 3, 4")).toBe(`Invalid input for Add: takes 2 arguments (a, b), got 3. ${hint}`);
    expect(await callWithText(add, "c=1, a=2")).toBe(`Invalid input for Add: no argument named c (arguments: a, b). ${hint}`);
    expect(await callWithText(add, "a=1, a=2")).toBe(`Invalid input for Add: a is given twice. ${hint}`);
    expect(await callWithText(add, "a=1, 2")).toBe(`Invalid input for Add: a value without a name follows a named one. ${hint}`);
    expect(await callWithText(add, "two, 3")).toMatch(/^Invalid input for Add: a: .*expected number, received string\. Write Add\[a, b\]/);
  });

  it("name the values an enum allows, which the agent cannot guess", () => {
    const convert = defineTool({
      name: "Convert",
      description: "Converts a distance.",
      schema: z.object({ value: z.number(), unit: z.enum(["km", "mi"]), to: z.enum(["km", "mi"]).optional() }),
      call: () => "",
    });
    expect(toolEntry(convert).description).toBe("Converts a distance. Arguments: value (number); unit (one of km, mi); to (one of km, mi, optional).");
    const pick = defineTool({ name: "Pick", description: "Picks a side.", schema: z.enum(["left", "right"]), call: (side) => side });
    expect(toolEntry(pick)).toEqual({ form: "Pick[input]", description: "Picks a side. Arguments: one of left, right." });
    // A value the list could misread is quoted
    const sep = defineTool({ name: "Split", description: "Splits.", schema: z.enum(["c,d", "e", " f"]), call: (s) => s });
    expect(toolEntry(sep).description).toBe('Splits. Arguments: one of "c,d", e, " f".');
  });

  it("are refused where the tool is made when no action could call it", () => {
    const tool = { description: "d", schema: z.string(), call: (text: string) => text };
    for (const name of ["My Tool", "", "Add[", "2nd"]) {
      expect(() => defineTool({ ...tool, name })).toThrow(new UserError(`defineTool: name ${JSON.stringify(name)} cannot be called as an action: an ASCII letter, then ASCII letters, digits, _ or -`));
    }
    expect(defineTool({ ...tool, name: "web_search-2" }).name).toBe("web_search-2");
    expect(() => defineTool({ ...tool, name: "Echo", schema: { type: "string" } } as never)).toThrow(new UserError("defineTool: Echo's schema is not a zod schema"));
    expect(() => defineTool({ ...tool, name: "Echo", call: "echo" } as never)).toThrow(new UserError("defineTool: Echo's call is not a function"));
  });

  it("turn a tool's own failure into an observation, and an answer that is not text into JSON", async () => {
    const flaky = defineTool({ name: "Flaky", description: "Fails.", schema: z.string(), call: (): string => { throw new Error("ECONNRESET"); } });
    expect(await callWithText(flaky, "x")).toBe("Error in Flaky: ECONNRESET");
    // From JavaScript, nothing stops a tool answering a number or an object
    const measure = defineTool({ name: "Measure", description: "Measures.", schema: z.string(), call: (text) => ({ length: text.length }) as unknown as string });
    expect(await callWithText(measure, "abc")).toBe('{"length":3}');
    const forgetful = defineTool({ name: "Save", description: "Saves.", schema: z.string(), call: () => undefined as unknown as string });
    expect(await callWithText(forgetful, "abc")).toBe("Error in Save: the tool returned undefined, not text.");
    const handing = defineTool({ name: "Hand", description: "Hands a function.", schema: z.string(), call: () => (() => 1) as unknown as string });
    expect(await callWithText(handing, "abc")).toBe("Error in Hand: the tool returned function, not text.");
    // Stopped by the caller's signal: no answer, the stop goes on up
    const stop = new AbortController();
    stop.abort(new Error("stopped"));
    await expect(callWithText(flaky, "x", { signal: stop.signal })).rejects.toThrow("stopped");
  });

  it("tell the agent a tool gave no answer in its time, and stop a call at once on the caller's signal", async () => {
    const hang = hangingTool("Hang", 50);
    expect(await callWithText(hang.tool, "x")).toBe("Error in Hang: no answer in 0.05 s.");
    expect(hang.signal()?.aborted).toBe(true);
    // The caller's stop wins over a timeout that has not come yet, though the tool ignores its signal
    const stop = new AbortController();
    const call = callWithText({ ...hang.tool, timeoutMs: 60_000 }, "x", { signal: stop.signal });
    stop.abort(new Error("stopped"));
    await expect(call).rejects.toThrow("stopped");
    expect(hang.signal()?.aborted).toBe(true);
    expect(hang.signal()?.reason).toEqual(new Error("stopped")); // the tool reads why
    // A time a timer cannot hold is the tool's bug, said where the tool is made, not a call that fails at once
    for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31]) {
      expect(() => defineTool({ name: "Hang", description: "Never answers.", schema: z.string(), call: () => "", timeoutMs })).toThrow(
        new RangeError(`Hang's timeoutMs is a time above 0 and up to 2147483647 ms, or Infinity for none; got ${timeoutMs}`),
      );
    }
  });

  it("keep commas inside quotes and brackets, and give a lone argument the whole text", async () => {
    const join = defineTool({
      name: "Join",
      description: "Joins words.",
      schema: z.object({ words: z.array(z.string()), separator: z.string().optional() }),
      call: ({ words, separator = " " }) => words.join(separator),
    });
    expect(await callWithText(join, '["a", "b"], ", "')).toBe("a, b");
    expect(await callWithText(join, "separator='-', words=[\"x\", \"y\"]")).toBe("x-y");
    const say = defineTool({ name: "Say", description: "Says it.", schema: z.object({ text: z.string() }), call: ({ text }) => text });
    expect(await callWithText(say, "Hello, world")).toBe("Hello, world");
    expect(await callWithText(say, "text=Hi, there")).toBe("Hi, there");
  });

  it("reach the tool from an agent's action, quoted values included", async () => {
    const concat = defineTool({
      name: "Concat",
      description: "Concatenates.",
      schema: z.object({ left: z.string(), right: z.string() }),
      call: ({ left, right }) => left + right,
    });
    const policy = new ScriptedPolicy<QaTask>([' t\nAction 1: Concat["a, ", "b"]', " t\nAction 2: Finish[a, b]"]);
    const trajectory = await runEpisode(policy, new WikiEnvironment(new Docstore([]), [concat]), { task: TASK });
    expect(trajectory.steps[0]).toMatchObject({ action: 'Concat["a, ", "b"]', observation: "a, b", valid: true });
  });

  it("hand the episode's signal to the tool an action calls", async () => {
    const stop = new AbortController();
    let toldToStop: AbortSignal | undefined;
    const wait = defineTool({
      name: "Wait",
      description: "Waits to be stopped.",
      schema: z.string(),
      call: (_text, ctx) => ((toldToStop = ctx?.signal), stop.abort(new Error("stopped")), new Promise<string>(() => {})),
    });
    const policy = new ScriptedPolicy<QaTask>([" t\nAction 1: Wait[x]"]);
    const episode = runEpisode(policy, new WikiEnvironment(new Docstore([]), [wait]), { task: TASK, signal: stop.signal });
    await expect(episode).rejects.toThrow("stopped");
    expect(toldToStop?.aborted).toBe(true);
  });
});
