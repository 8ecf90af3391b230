import { describe, expect, it } from "vitest";
import { loadPrompt } from "../prompts/index.ts";
import { parseStep } from "../src/agent/parse.ts";

/** [what it shows, continuation, expected action as `[name, argument]` or null, expected thought (when checked), step (default 1)]. */
type Case = [string, string, [string, string] | null, string?, number?];

const readable: Case[] = [
  ["plain step", " I need to search X.\nAction 1: Search[X]", ["Search", "X"], "I need to search X."],
  ["repeated thought label", "Thought 1: I need to search X.\nAction 1: Search[X]", ["Search", "X"], "I need to search X."],
  ["repeated label twice", "Thought 1: Thought 1: look it up\nAction 1: Lookup[y]", ["Lookup", "y"], "look it up"],
  ["action on the thought line", "Thought 1: blah Action 1: Search[X]", ["Search", "X"], "blah"],
  ["action inline, no label repeat", " blah Action 1: Search[X]", ["Search", "X"], "blah"],
  ["no step number", " think\nAction: Search[X]", ["Search", "X"], "think"],
  ["lower case name", " t\nAction 1: search[x]", ["search", "x"]],
  ["upper case label and name", " t\nACTION 1: LOOKUP[y]", ["LOOKUP", "y"]],
  ["lower case label", " t\naction 1: Search[X]", ["Search", "X"]],
  ["space before bracket", " t\nAction 1: Search [X]", ["Search", "X"]],
  ["spaces around argument", " t\nAction 1: Search [ X ]", ["Search", "X"]],
  ["inner padding", " t\nAction 1: Search[  X ]", ["Search", "X"]],
  ["space before colon", " t\nAction 1 : Search[X]", ["Search", "X"]],
  ["no space after colon", " t\nAction 1:Search[X]", ["Search", "X"]],
  ["no space before number", " t\nAction1: Search[X]", ["Search", "X"]],
  ["double quotes", ' t\nAction 1: Search["X"]', ["Search", "X"]],
  ["single quotes", " t\nAction 1: Search['X']", ["Search", "X"]],
  ["curly double quotes", " t\nAction 1: Search[\u201cX Y\u201d]", ["Search", "X Y"]],
  ["curly single quotes", " t\nAction 1: Search[\u2018X\u2019]", ["Search", "X"]],
  ["backticks in argument", " t\nAction 1: Search[`X`]", ["Search", "X"]],
  ["quotes with padding", ' t\nAction 1: Search[ " X " ]', ["Search", "X"]],
  ["apostrophe kept", " t\nAction 1: Search[Buddy's Pizza]", ["Search", "Buddy's Pizza"]],
  ["quotes only at one end kept", ' t\nAction 1: Finish["Swarm!]', ["Finish", '"Swarm!']],
  ["missing closing bracket", " t\nAction 1: Search[X", ["Search", "X"]],
  ["missing closing bracket, more lines", " t\nAction 1: Search[X Y\nmore text", ["Search", "X Y"]],
  ["text after action", " t\nAction 1: Search[X] because it matters", ["Search", "X"]],
  ["trailing full stop", " t\nAction 1: Finish[Paris].", ["Finish", "Paris"]],
  ["invented observation cut", " t\nAction 1: Search[X]\nObservation 1: X is a city.\nThought 2: done", ["Search", "X"], "t"],
  ["invented observation, lower case", " t\nAction 1: Search[X]\nobservation: whatever", ["Search", "X"]],
  ["invented observation inline", " t\nAction 1: Search[X] Observation 1: X is big", ["Search", "X"]],
  ["observation before action drops it", " t\nObservation 1: made up\nAction 1: Search[X]", null, "t"],
  ["Finish with brackets inside", " t\nAction 1: Finish[Paris [France]]", ["Finish", "Paris [France]"]],
  ["finish lower case, brackets inside", " t\nAction 1: finish[a [b] c]", ["finish", "a [b] c"]],
  ["Finish runs to last bracket", " t\nAction 1: Finish[1 [2] 3] ok", ["Finish", "1 [2] 3"]],
  ["Finish with an unbalanced bracket inside", " t\nAction 1: Finish[x [1 y]", ["Finish", "x [1 y"]],
  ["Finish with a stray closing bracket inside", " t\nAction 1: Finish[a] b]", ["Finish", "a] b"]],
  ["Search stops at its matching bracket", " t\nAction 1: Search[X] then [Y]", ["Search", "X"]],
  ["Search with nested brackets", " t\nAction 1: Search[X [film]] ok", ["Search", "X [film]"]],
  ["bold label", " t\n**Action 1:** Search[X]", ["Search", "X"], "t"],
  ["bold label, colon outside", " t\n**Action 1**: Search[X]", ["Search", "X"]],
  ["bold action", " t\nAction 1: **Search[X]**", ["Search", "X"]],
  ["backticked action", " t\nAction 1: `Search[X]`", ["Search", "X"]],
  ["bold thought label", "**Thought 1:** think hard\n**Action 1:** Search[X]", ["Search", "X"], "think hard"],
  ["heading label", " t\n### Action 1: Lookup[y]", ["Lookup", "y"]],
  ["bullet label", " t\n- Action 1: Search[X]", ["Search", "X"]],
  ["quoted action", ' t\nAction 1: "Search[X]"', ["Search", "X"]],
  ["action on the next line", " t\nAction 1:\nSearch[X]", ["Search", "X"]],
  ["action after blank lines", " t\nAction 1:\n\n  Search[X]", ["Search", "X"]],
  ["bare action line", " I will search.\nSearch[X]", ["Search", "X"], "I will search."],
  ["bare action only", " Search[X]", ["Search", "X"], ""],
  ["bare backticked action", " t\n`Finish[yes]`", ["Finish", "yes"]],
  ["wrong step number accepted", " t\nAction 3: Search[X]", ["Search", "X"]],
  ["next step cut off", " t\nAction 1: Search[X]\nThought 2: then\nAction 2: Finish[Y]", ["Search", "X"], "t"],
  ["next thought before any action", " t\nThought 2: later\nAction 2: Search[X]", null, "t"],
  ["same-number thought kept", " a\nThought 1: b\nAction 1: Search[X]", ["Search", "X"], "a\nThought 1: b"],
  ["step 3 continuation", " found it\nAction 3: Finish[42]", ["Finish", "42"], "found it", 3],
  ["step 3 cut at thought 4", " a\nAction 3: Search[X]\nThought 4: b", ["Search", "X"], "a", 3],
  ["step 3 keeps an earlier-numbered thought", " a Thought 2: b\nAction 3: Search[X]", ["Search", "X"], "a Thought 2: b", 3],
  ["CRLF line ends", " t\r\nAction 1: Search[X]\r\n", ["Search", "X"], "t"],
  ["tabs", "\tt\n\tAction 1:\tSearch[\tX\t]", ["Search", "X"]],
  ["empty argument", " t\nAction 1: Finish[]", ["Finish", ""]],
  ["unknown tool name kept as written", " t\nAction 1: Calculator[2*3]", ["Calculator", "2*3"]],
  ["underscore name", " t\nAction 1: code_interpreter[print(1)]", ["code_interpreter", "print(1)"]],
  ["JSON argument", ' t\nAction 1: Recall[{"query": "x", "k": 2}]', ["Recall", '{"query": "x", "k": 2}']],
  ["unicode argument", " t\nAction 1: Search[University of Pécs]", ["Search", "University of Pécs"]],
  ["argument with colon", " t\nAction 1: Search[Henry: Portrait of a Serial Killer]", ["Search", "Henry: Portrait of a Serial Killer"]],
  ["first label wins", " t\nAction 1: Search[A]\nAction 1: Search[B]", ["Search", "A"]],
  ["leading blank lines", "\n\n Thought 1: t\nAction 1: Search[X]", ["Search", "X"], "t"],
  ["thought with many lines", " one\ntwo\nAction 1: Search[X]", ["Search", "X"], "one\ntwo"],
];

const unreadable: Case[] = [
  ["empty string", "", null, ""],
  ["whitespace", "   \n\t ", null, ""],
  ["thought only", " I am not sure what to do.", null, "I am not sure what to do."],
  ["label with no action", " t\nAction 1:", null, "t"],
  ["no brackets", " t\nAction 1: Search X", null],
  ["prose action", " t\nAction 1: I will search for X", null],
  ["name with space", " t\nAction 1: Look up[X]", null],
  ["brackets without a name", " t\nAction 1: [X]", null],
  ["name starting with a digit", " t\nAction 1: 1Search[X]", null],
  ["parentheses instead", " t\nAction 1: Search(X)", null],
  ["label word inside another word", " no transaction: Search X", null],
  ["only an observation", "\nObservation 1: nothing", null, ""],
  ["only brackets", "[[[]]]", null],
  ["bracket in a thought line is not an action", " The page Paris[1] says more", null],
];

const actionTexts: [string, string, string][] = [
  ["canonical rendering", " t\nAction 1: search [ 'X' ] because", "search[X]"],
  ["finish with brackets", " t\nAction 1: Finish[Paris [France]]", "Finish[Paris [France]]"],
  ["unreadable action line as written", " t\nAction 1: Search X please", "Search X please"],
  ["unreadable line without markdown", " t\nAction 1: **go look it up**", "go look it up"],
  ["no action at all", " just thinking", ""],
];

describe("parseStep reads actions", () => {
  it.each(readable)("%s", (_, text, expected, thought, step = 1) => {
    const parsed = parseStep(text, step);
    expect(parsed.action).toEqual(expected && { name: expected[0], argument: expected[1] });
    if (expected) expect(parsed.actionText).toBe(`${expected[0]}[${expected[1]}]`);
    if (thought !== undefined) expect(parsed.thought).toBe(thought);
  });
});

describe("parseStep returns null for what it cannot read", () => {
  it.each(unreadable)("%s", (_, text, expected, thought) => {
    const parsed = parseStep(text, 1);
    expect(parsed.action).toEqual(expected);
    if (thought !== undefined) expect(parsed.thought).toBe(thought);
  });
});

describe("parseStep's actionText", () => {
  it.each(actionTexts)("%s", (_, text, expected) => {
    expect(parseStep(text, 1).actionText).toBe(expected);
  });
});

describe("parseStep is total", () => {
  const alphabet = [..."abcXYZ \n\t[]]]()*_`#>-:'\"\u201c\u201d0123456789é"]
    .concat(["Action", "action 1:", "Thought 2:", "Observation", "Finish[", "Search[", "\nObservation 1:", "**"]);

  it("never throws on random strings and always returns a well-formed result", () => {
    const random = seededRandom(20240611);
    for (let trial = 0; trial < 3000; trial++) {
      const length = Math.floor(random() * 60);
      const text = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
      const step = 1 + Math.floor(random() * 7);
      const parsed = parseStep(text, step);
      expect(typeof parsed.thought).toBe("string");
      expect(typeof parsed.actionText).toBe("string");
      if (parsed.action) expect(parsed.actionText).toBe(`${parsed.action.name}[${parsed.action.argument}]`);
      expect(parsed.action?.name ?? "x").toMatch(/^[a-z][\w-]*$/i);
    }
  });

  const spaces = " ".repeat(50_000);
  const pathological: [string, string][] = [
    ["newlines then unclosed labels", `${"\n".repeat(50_000)}${"Action 1: [".repeat(5_000)}`],
    ["a label, then a long run of spaces", `Action 1${spaces}x`],
    ["a thought label, then a long run of spaces", `Thought${spaces}x`],
    ["spaces inside a thought", ` a${spaces}b\nAction 1: Search[X${spaces}y`],
    ["markdown runs", `${"*".repeat(50_000)}x${"_".repeat(50_000)}`],
  ];
  // Speed is not asserted here (no timed tests); the suite's timeout catches a runaway regex.
  it.each(pathological)("reads %s without throwing", (_, text) => {
    const parsed = parseStep(text, 1);
    expect(typeof parsed.thought).toBe("string");
    expect(typeof parsed.actionText).toBe("string");
  });
});

describe("the bundled exemplars", () => {
  it("parse step by step into the actions they show", async () => {
    const { exemplars } = await loadPrompt();
    for (const exemplar of exemplars) {
      const steps = exemplar.split(/\nThought \d+:/).slice(1);
      const actions = steps.map((text, i) => parseStep(text, i + 1).action);
      const written = [...exemplar.matchAll(/^Action \d+: (\w+)\[(.*)\]$/gm)].map(([, name, argument]) => ({ name, argument }));
      expect(actions).toEqual(written);
      expect(actions.at(-1)?.name).toBe("Finish");
    }
  });
});

/** mulberry32: a small seeded generator, so a failing string can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
