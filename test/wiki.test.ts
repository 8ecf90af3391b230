import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadDataset } from "../src/suites/datasets.ts";
import { defineTool } from "../tools/tool.ts";
import {
  Bm25Index,
  Docstore,
  pythonListRepr,
  tokenize,
  WikiEnvironment,
  type Paragraph,
  type QaTask,
} from "../tools/wiki/index.ts";
import { sharedData } from "./helpers/shared.ts";

const PARAGRAPHS: Paragraph[] = [
  [
    "Paris",
    [
      "Paris is the capital of France.",
      " It has about 2 million inhabitants.",
      " The Seine flows through Paris.",
      " Paris hosted the Olympics in 1900.",
      " The Louvre is in Paris.",
      " Paris hosted the Olympics again in 1924.",
      " The Olympics returned to Paris in 2024.",
    ],
  ],
  ["Paris Hilton", ["Paris Hilton is an American media personality.", " She was born in New York City."]],
  ["Eiffel Tower", ["The Eiffel Tower is a wrought-iron lattice tower in Paris.", " It was designed by Gustave Eiffel's company."]],
  ["Gustave Eiffel", ["Gustave Eiffel was a French civil engineer.", " His company built the Eiffel Tower."]],
  ["Ender's Game", ["Ender's Game is a 1985 science fiction novel by Orson Scott Card."]],
  ["London", ["London is the capital of England."]],
  // A second "Paris" (different case and spacing): the first one wins.
  ["  PARIS ", ["A duplicate that must never be shown."]],
];

const TASK: QaTask = QaTaskFixture("Who designed the Eiffel Tower?", "Gustave Eiffel");

function QaTaskFixture(question: string, answer: string): QaTask {
  return { id: "t1", question, answer, type: "bridge", supportingFacts: [], context: PARAGRAPHS };
}

async function freshEnvironment(extraTools = [] as ConstructorParameters<typeof WikiEnvironment>[1]) {
  const env = new WikiEnvironment(new Docstore(PARAGRAPHS), extraTools);
  await env.reset(TASK);
  return env;
}

async function observe(env: WikiEnvironment, name: string, argument: string): Promise<string> {
  return (await env.step({ name, argument })).observation;
}

describe("tokenize", () => {
  it("lowercases runs of letters and digits in any script", () => {
    expect(tokenize("Café-Müller, 1920s; Ελλάδα & 東京!")).toEqual(["café", "müller", "1920s", "ελλάδα", "東京"]);
    expect(tokenize("  ...  ")).toEqual([]);
  });
});

describe("Bm25Index", () => {
  const index = new Bm25Index([
    "apple banana",
    "apple apple apple banana cherry",
    "cherry date elderberry fig grape",
    "banana",
  ]);

  it("ranks by term frequency and rarity, best first", () => {
    const hits = index.search("apple", 10);
    expect(hits.map((h) => h.index)).toEqual([1, 0]);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    // "date" is in one document, "banana" in three: the rare term decides.
    expect(index.search("banana date", 10)[0]!.index).toBe(2);
  });

  it("returns only matching documents, at most k of them", () => {
    expect(index.search("banana", 2)).toHaveLength(2);
    expect(index.search("kiwi", 5)).toEqual([]);
    expect(index.search("", 5)).toEqual([]);
  });

  it("breaks ties by document order", () => {
    const twins = new Bm25Index(["same words", "other text", "same words"]);
    expect(twins.search("same", 5).map((h) => h.index)).toEqual([0, 2]);
  });
});

describe("pythonListRepr", () => {
  it("prints a list of strings as Python's repr does", () => {
    // Expected text checked against Python 3.11's repr.
    expect(
      pythonListRepr(["Paris", "Ender's Game", `Say "hi" it's`, "back\\slash", "tab\tend", "nb\u00a0sp", "Café", "zw\u200bj", "\u{1F600}", 'only "dq"']),
    ).toBe(`['Paris', "Ender's Game", 'Say "hi" it\\'s', 'back\\\\slash', 'tab\\tend', 'nb\\xa0sp', 'Café', 'zw\\u200bj', '\u{1F600}', 'only "dq"']`);
    expect(pythonListRepr([])).toBe("[]");
  });
});

describe("Docstore", () => {
  const docstore = new Docstore(PARAGRAPHS);

  it("keeps the first page of a title and the sentences exactly as given", () => {
    expect(docstore.size).toBe(6);
    expect(docstore.get("paris")?.sentences[1]).toBe(" It has about 2 million inhabitants.");
    expect(docstore.get("  eiffel \n  TOWER")?.title).toBe("Eiffel Tower");
    expect(docstore.get("Eiffel")).toBeUndefined();
  });

  it("ranks titles similar to a query, a title match first", () => {
    expect(docstore.similar("Eiffel")).toEqual(["Gustave Eiffel", "Eiffel Tower"]);
    expect(docstore.similar("tower in Paris", 2)).toEqual(["Eiffel Tower", "Paris"]);
    expect(docstore.similar("hilton")).toEqual(["Paris Hilton"]);
    expect(docstore.similar("")).toEqual([]);
  });

  it("builds from all context paragraphs of all tasks", () => {
    const other: QaTask = { ...TASK, id: "t2", context: [["Rome", ["Rome is in Italy."]], ["London", ["Not this one."]]] };
    const merged = Docstore.fromTasks([TASK, other]);
    expect(merged.size).toBe(7);
    expect(merged.get("rome")?.sentences).toEqual(["Rome is in Italy."]);
    expect(merged.get("london")?.sentences).toEqual(["London is the capital of England."]);
  });
});

describe("WikiEnvironment", () => {
  it("reset returns the question", async () => {
    const env = new WikiEnvironment(new Docstore(PARAGRAPHS));
    expect(await env.reset(TASK)).toBe("Who designed the Eiffel Tower?");
  });

  it("Search on a title shows its first five sentences, trimmed and joined by one space", async () => {
    const env = await freshEnvironment();
    expect(await observe(env, "Search", "Paris")).toBe(
      "Paris is the capital of France. It has about 2 million inhabitants. The Seine flows through Paris. Paris hosted the Olympics in 1900. The Louvre is in Paris.",
    );
    expect(await env.step({ name: "Search", argument: "Paris" })).toMatchObject({ done: false, reward: 0, info: { valid: true } });
  });

  it("Search ignores case and runs of spaces, and the action name's case", async () => {
    const env = await freshEnvironment();
    expect(await observe(env, "search", "  paris   HILTON ")).toBe(
      "Paris Hilton is an American media personality. She was born in New York City.",
    );
  });

  it("a Search miss lists similar titles in Python's list notation", async () => {
    const env = await freshEnvironment();
    expect(await observe(env, "Search", "Eiffel")).toBe("Could not find Eiffel. Similar: ['Gustave Eiffel', 'Eiffel Tower'].");
    expect(await observe(env, "Search", "Paris capital")).toBe(
      "Could not find Paris capital. Similar: ['Paris', 'London', 'Paris Hilton', 'Eiffel Tower'].",
    );
    expect(await observe(env, "Search", "Ender")).toBe(`Could not find Ender. Similar: ["Ender's Game"].`);
    expect(await observe(env, "Search", "Zanzibar")).toBe("Could not find Zanzibar. Similar: [].");
    expect(await observe(env, "Search", "")).toBe("Could not find . Similar: [].");
  });

  it("a Search miss keeps the current page", async () => {
    const env = await freshEnvironment();
    await observe(env, "Search", "Eiffel Tower");
    await observe(env, "Search", "Nowhere");
    expect(await observe(env, "Lookup", "designed")).toBe("(Result 1 / 1) It was designed by Gustave Eiffel's company.");
  });

  it("Lookup walks through matching sentences one per call, then says no more", async () => {
    const env = await freshEnvironment();
    await observe(env, "Search", "Paris");
    expect(await observe(env, "Lookup", "olympics")).toBe("(Result 1 / 3) Paris hosted the Olympics in 1900.");
    expect(await observe(env, "Lookup", "olympics")).toBe("(Result 2 / 3) Paris hosted the Olympics again in 1924.");
    expect(await observe(env, "Lookup", "olympics")).toBe("(Result 3 / 3) The Olympics returned to Paris in 2024.");
    expect(await observe(env, "Lookup", "olympics")).toBe("No more results.");
    expect(await observe(env, "Lookup", "olympics")).toBe("No more results.");
    // A new keyword restarts; so does the old one after that.
    expect(await observe(env, "Lookup", "LOUVRE")).toBe("(Result 1 / 1) The Louvre is in Paris.");
    expect(await observe(env, "Lookup", "olympics")).toBe("(Result 1 / 3) Paris hosted the Olympics in 1900.");
    expect(await observe(env, "Lookup", "kangaroo")).toBe("No more results.");
  });

  it("a new page restarts Lookup, even with the same keyword", async () => {
    const env = await freshEnvironment();
    await observe(env, "Search", "Paris");
    expect(await observe(env, "Lookup", "capital")).toBe("(Result 1 / 1) Paris is the capital of France.");
    await observe(env, "Search", "London");
    expect(await observe(env, "Lookup", "capital")).toBe("(Result 1 / 1) London is the capital of England.");
  });

  it("Lookup with no page says no more results", async () => {
    const env = await freshEnvironment();
    expect(await observe(env, "Lookup", "Paris")).toBe("No more results.");
  });

  it("reset forgets the page", async () => {
    const env = await freshEnvironment();
    await observe(env, "Search", "Paris");
    await env.reset(TASK);
    expect(await observe(env, "Lookup", "Paris")).toBe("No more results.");
  });

  it("Finish ends the episode with the EM reward and all scores", async () => {
    const right = await freshEnvironment();
    expect(await right.step({ name: "Finish", argument: "gustave eiffel." })).toEqual({
      observation: "Episode finished.",
      done: true,
      reward: 1,
      info: { valid: true, answer: "gustave eiffel.", scores: { em: 1, f1: 1, fuzzy: 1 } },
    });
    const wrong = await freshEnvironment();
    expect(await wrong.step({ name: "finish", argument: "Eiffel" })).toEqual({
      observation: "Episode finished.",
      done: true,
      reward: 0,
      info: { valid: true, answer: "Eiffel", scores: { em: 0, f1: 2 / 3, fuzzy: 0 } },
    });
  });

  it("anything else is an invalid action that does not end the episode", async () => {
    const env = await freshEnvironment();
    expect(await env.step({ name: "Dance", argument: "now" })).toEqual({
      observation: "Invalid action: Dance[now]",
      done: false,
      reward: 0,
      info: { valid: false },
    });
  });

  it("calls extra tools by name, case-insensitively, and lists them with Search and Lookup", async () => {
    const calculator = defineTool({
      name: "Calculator",
      description: "Calculator[a+b]: adds two integers.",
      schema: z.string(),
      call: (expression) => {
        const [a, b] = expression.split("+").map(Number);
        return String(a! + b!);
      },
    });
    const env = await freshEnvironment([calculator]);
    expect(env.tools.map((t) => t.name)).toEqual(["Search", "Lookup", "Calculator"]);
    expect(await env.step({ name: "calculator", argument: "2+40" })).toEqual({
      observation: "42",
      done: false,
      reward: 0,
      info: { valid: true },
    });
  });

  it("refuses an extra tool whose name clashes with an action", () => {
    const clash = defineTool({ name: "search", description: "", schema: z.string(), call: () => "" });
    expect(() => new WikiEnvironment(new Docstore(PARAGRAPHS), [clash])).toThrow(/duplicate tool name/);
  });

  it("its Search and Lookup tools share the episode's page with step", async () => {
    const env = await freshEnvironment();
    const search = env.tools.find((t) => t.name === "Search")!;
    const lookup = env.tools.find((t) => t.name === "Lookup")!;
    expect(await search.call("Gustave Eiffel")).toBe("Gustave Eiffel was a French civil engineer. His company built the Eiffel Tower.");
    expect(await observe(env, "Lookup", "company")).toBe("(Result 1 / 1) His company built the Eiffel Tower.");
    expect(await lookup.call("company")).toBe("No more results.");
  });
});

describe("Docstore over the HotpotQA dev sample", () => {
  it("builds from all 2,116 questions and finds similar titles", async () => {
    const tasks = await loadDataset(sharedData("hotpotqa/hotpotqa-dev-distractor-2116.jsonl"));
    const docstore = Docstore.fromTasks(tasks);
    expect(docstore.size).toBeGreaterThan(15_000);
    expect(docstore.get("northwestern university")?.title).toBe("Northwestern University");
    const similar = docstore.similar("Johns Hopkins");
    expect(similar).toHaveLength(5);
    expect(similar.slice(0, 2)).toContain("Johns Hopkins University");
  });
});
