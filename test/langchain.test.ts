import { cp, mkdir, mkdtemp, readdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Calculator } from "@langchain/community/tools/calculator";
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { StructuredTool, tool as langChainTool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { z as z3 } from "zod/v3";
import { fromLangChainTool, toLangChainTool } from "../tools/langchain-tools.ts";
import { hangingTool } from "./helpers/hanging-tool.ts";
import { callWithText, defineTool } from "../tools/tool.ts";
import { Docstore, WikiEnvironment } from "../tools/wiki/index.ts";

describe("fromLangChainTool", () => {
  it("adapts a string tool: LangChain's Calculator computes 2 + 3 * 4", async () => {
    const calculator = fromLangChainTool(new Calculator(), { name: "Calculator" });
    expect(calculator.name).toBe("Calculator");
    expect(calculator.description).toMatch(/math expression/);
    expect(await callWithText(calculator, "2 + 3 * 4")).toBe("14");

    // And as the agent reaches it: a text action in the wiki environment.
    const environment = new WikiEnvironment(new Docstore([]), [calculator]);
    const result = await environment.step({ name: "Calculator", argument: "2 + 3 * 4" });
    expect(result).toMatchObject({ observation: "14", done: false, info: { valid: true } });
  });

  it("adapts object-schema tools, zod 4 or zod 3, validating JSON arguments", async () => {
    const add4 = langChainTool(({ a, b }) => String(a + b), {
      name: "add",
      description: "Adds two numbers.",
      schema: z.object({ a: z.number(), b: z.number() }),
    });
    const add3 = langChainTool(({ a, b }: { a: number; b: number }) => String(a + b), {
      name: "add3",
      description: "Adds two numbers.",
      schema: z3.object({ a: z3.number(), b: z3.number() }),
    });
    for (const lcTool of [add4, add3]) {
      const adapted = fromLangChainTool(lcTool);
      expect(await callWithText(adapted, '{"a": 2, "b": 3}')).toBe("5");
      expect(await callWithText(adapted, '{"a": "two"}')).toMatch(new RegExp(`^Invalid input for ${lcTool.name}: `));
    }
  });

  it("adapts tools made by a second copy of @langchain/core, as in a user's own project", async () => {
    const second = await secondLangChainCore();
    class Reverse extends second.Tool {
      name = "reverse";
      description = "Reverses text.";
      async _call(text: string) {
        return [...text].reverse().join("");
      }
    }
    const add = second.tool(({ a, b }: { a: number; b: number }) => String(a + b), {
      name: "add",
      description: "Adds two numbers.",
      schema: z.object({ a: z.number(), b: z.number() }),
    });
    // Another copy: none of our classes recognise its tools.
    expect(new Reverse()).not.toBeInstanceOf(StructuredTool);
    expect(add).not.toBeInstanceOf(StructuredTool);

    const reverse = fromLangChainTool(new Reverse());
    // A string tool takes the text itself, as one from our own copy does.
    expect(reverse.schema.safeParse("stressed").success).toBe(true);
    expect(await callWithText(reverse, "stressed, desserts")).toBe("stressed ,desserts");
    expect(await callWithText(fromLangChainTool(add), "2, 3")).toBe("5");
    expect(await callWithText(fromLangChainTool(add), '{"a": 2, "b": 3}')).toBe("5");
  });

  it("refuses what is not a LangChain tool, in one line", () => {
    expect(() => fromLangChainTool({ name: "x" } as never)).toThrow(/^fromLangChainTool needs a LangChain tool: .*invoke\(\)\.$/);
    // A misspelt option was dropped, and the default time used
    expect(() => fromLangChainTool(new Calculator(), { timeout: 5000 } as never)).toThrow("fromLangChainTool: unknown option timeout (did you mean timeoutMs?)");
    expect(() => fromLangChainTool(new Calculator(), { timeoutMs: 0 })).toThrow("timeoutMs");
    const dotted = langChainTool(() => "", { name: "web.search", description: "Searches.", schema: z.object({ q: z.string() }) });
    expect(() => fromLangChainTool(dotted)).toThrow(/^fromLangChainTool: name "web\.search" cannot be called as an action: .* \(rename it: fromLangChainTool\(tool, \{ name \}\)\)$/);
    expect(fromLangChainTool(dotted, { name: "WebSearch" }).name).toBe("WebSearch");
  });

  it("reads a non-string result as JSON", async () => {
    const pair = langChainTool(() => ({ left: 1, right: 2 }) as unknown as string, {
      name: "pair",
      description: "Returns a pair.",
      schema: z.object({}),
    });
    expect(await callWithText(fromLangChainTool(pair), "{}")).toBe('{"left":1,"right":2}');
  });
});

describe("toLangChainTool", () => {
  it("runs our tools inside a LangChain agent", async () => {
    const calls: unknown[] = [];
    const capital = defineTool({
      name: "capital",
      description: "The capital of a country.",
      schema: z.object({ country: z.string() }),
      call: ({ country }) => {
        calls.push(country);
        return country === "France" ? "Paris" : "unknown";
      },
    });
    const shout = defineTool({
      name: "shout",
      description: "Upper-cases text.",
      schema: z.string(),
      call: (text) => {
        calls.push(text);
        return text.toUpperCase();
      },
    });
    const model = fakeModel()
      .respondWithTools([
        { name: "capital", args: { country: "France" }, id: "call_1" },
        { name: "shout", args: { input: "paris" }, id: "call_2" },
      ])
      .respond(new AIMessage("The capital of France is Paris."));
    const agent = createAgent({ model, tools: [toLangChainTool(capital), toLangChainTool(shout)] });

    const { messages } = await agent.invoke({ messages: [new HumanMessage("What is the capital of France?")] });

    expect(calls).toEqual(["France", "paris"]);
    const toolMessages = messages.filter((m) => ToolMessage.isInstance(m));
    expect(toolMessages.map((m) => [m.tool_call_id, m.content])).toEqual([
      ["call_1", "Paris"],
      ["call_2", "PARIS"],
    ]);
    expect(messages.at(-1)?.text).toBe("The capital of France is Paris.");
    // The model saw the tool results before answering.
    expect(model.calls[1]?.messages.filter((m) => ToolMessage.isInstance(m))).toHaveLength(2);
  });

  it("keeps our tool's time: a call past its timeoutMs throws, and the tool is told to stop", async () => {
    const hang = hangingTool("hang", 50);
    await expect(toLangChainTool(hang.tool).invoke({ input: "x" })).rejects.toThrow("no answer in 0.05 s.");
    expect(hang.signal()?.aborted).toBe(true);
  });

  it("lets LangChain reject input that does not fit our schema", async () => {
    const capital = defineTool({ name: "capital", description: "d", schema: z.object({ country: z.string() }), call: () => "x" });
    await expect(toLangChainTool(capital).invoke({ country: 3 })).rejects.toThrow(/did not match expected schema/);
  });
});

/**
 * A copy of our @langchain/core under another path, imported the way a user's
 * project would import its own (its other dependencies are ours, linked).
 */
async function secondLangChainCore(): Promise<typeof import("@langchain/core/tools")> {
  const project = await mkdtemp(join(tmpdir(), "react-rl-second-core-"));
  const ours = new URL("../node_modules/", import.meta.url).pathname;
  await mkdir(join(project, "node_modules", "@langchain"), { recursive: true });
  for (const name of await readdir(ours)) {
    if (name !== "@langchain" && !name.startsWith(".")) await symlink(join(ours, name), join(project, "node_modules", name));
  }
  // The ES modules and package.json are all an import needs (a fraction of its 14 MB).
  await cp(join(ours, "@langchain", "core"), join(project, "node_modules", "@langchain", "core"), {
    recursive: true,
    filter: (source) => !/\.(map|cjs|d\.ts|d\.cts|md)$/.test(source),
  });
  await writeFile(join(project, "tools.mjs"), 'export * from "@langchain/core/tools";\n');
  return import(pathToFileURL(join(project, "tools.mjs")).href);
}
