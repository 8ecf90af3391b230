import { isBaseMessage } from "@langchain/core/messages";
import {
  Tool as LangChainStringTool,
  tool as langChainTool,
  type StructuredTool,
  type StructuredToolInterface,
} from "@langchain/core/tools";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { z } from "zod";
import { defineTool, type Tool } from "./tool.ts";

/** LangChain tools may answer with a string, a message, or any value: the agent reads text. */
function observationText(output: unknown): string {
  if (typeof output === "string") return output;
  if (isBaseMessage(output)) return output.text;
  return JSON.stringify(output);
}

/**
 * Our schema for a LangChain tool's input. String tools (`Tool` subclasses such
 * as `Calculator`) take the text itself. Others describe their input with zod 3,
 * zod 4 or JSON Schema; going through JSON Schema reads all three, and keeps
 * the input side of any transform, which the LangChain tool applies itself.
 */
function inputSchema(tool: StructuredToolInterface): z.ZodType {
  return tool instanceof LangChainStringTool ? z.string() : z.fromJSONSchema(toJsonSchema(tool.schema) as z.core.JSONSchema.JSONSchema);
}

/** Makes any LangChain tool callable by the agent (`Name[argument]`); `name` renames it, e.g. `calculator` to `Calculator`. */
export function fromLangChainTool(tool: StructuredToolInterface, options: { name?: string } = {}): Tool {
  return defineTool({
    name: options.name ?? tool.name,
    description: tool.description,
    schema: inputSchema(tool),
    // The input has passed our schema, which mirrors the tool's own.
    call: async (input, ctx) => observationText(await tool.invoke(input as never, { signal: ctx?.signal })),
  });
}

/** Makes one of our tools usable by LangChain agents and chains. */
export function toLangChainTool(tool: Tool): StructuredTool {
  return langChainTool((input: unknown, config) => tool.call(input, { signal: config.signal }), {
    name: tool.name,
    description: tool.description,
    schema: tool.schema,
  });
}
