import { isBaseMessage } from "@langchain/core/messages";
import { tool as langChainTool, type StructuredTool } from "@langchain/core/tools";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { z } from "zod";
import { parseOptions } from "../src/options.ts";
import { callInTime, checkToolName, defineTool, type Tool } from "./tool.ts";

/**
 * A LangChain tool as far as the adapter needs one. Read by shape, not class,
 * so tools made by another copy of @langchain/core (a user's own) fit too.
 */
export interface LangChainToolLike {
  name: string;
  description: string;
  /** zod 3, zod 4 or JSON Schema. */
  schema: unknown;
  invoke(input: never, config?: { signal?: AbortSignal }): Promise<unknown>;
}

/** Whether `value` has a LangChain tool's shape: name, description, schema and `invoke`. */
function isLangChainToolLike(value: unknown): value is LangChainToolLike {
  const tool = value as Partial<LangChainToolLike> | null;
  return (
    typeof tool === "object" &&
    tool !== null &&
    typeof tool.name === "string" &&
    typeof tool.description === "string" &&
    typeof tool.schema === "object" &&
    tool.schema !== null &&
    typeof tool.invoke === "function"
  );
}

/** LangChain tools may answer with a string, a message, or any value: the agent reads text. */
function observationText(output: unknown): string {
  if (typeof output === "string") return output;
  if (isBaseMessage(output)) return output.text;
  return JSON.stringify(output);
}

/**
 * A LangChain string tool (a `Tool` subclass such as `Calculator`, or a
 * `DynamicTool`) takes one optional string named `input`: such tools get the
 * text itself, and are invoked with `{ input }`, which any tool of that shape accepts.
 */
function isStringInput(schema: z.core.JSONSchema.JSONSchema): boolean {
  const properties = typeof schema.properties === "object" ? Object.entries(schema.properties) : [];
  return schema.type === "object" && properties.length === 1 && properties[0]![0] === "input" && (properties[0]![1] as { type?: unknown }).type === "string";
}

const AdapterOptionsSchema = z.object({ name: z.string().min(1).optional(), timeoutMs: z.number().optional() });

/**
 * Makes any LangChain tool callable by the agent (`Name[argument]`); `name`
 * renames it, e.g. `calculator` to `Calculator`, and `timeoutMs` sets its calls'
 * time (`Tool.timeoutMs`). Its input schema (zod 3, zod 4
 * or JSON Schema) goes through JSON Schema, which reads all three and keeps the
 * input side of any transform, which the LangChain tool applies itself.
 */
export function fromLangChainTool(tool: LangChainToolLike, options: z.input<typeof AdapterOptionsSchema> = {}): Tool {
  if (!isLangChainToolLike(tool)) {
    throw new TypeError("fromLangChainTool needs a LangChain tool: an object with a name, a description, a schema and invoke().");
  }
  const { name = tool.name, timeoutMs } = parseOptions("fromLangChainTool", AdapterOptionsSchema, options);
  checkToolName(name, "fromLangChainTool", name === tool.name ? " (rename it: fromLangChainTool(tool, { name }))" : "");
  const schema = toJsonSchema(tool.schema as never) as z.core.JSONSchema.JSONSchema;
  const takesText = isStringInput(schema);
  return defineTool({
    name,
    description: tool.description,
    schema: takesText ? z.string() : z.fromJSONSchema(schema),
    // The input has passed our schema, which mirrors the tool's own.
    call: async (input, ctx) => observationText(await tool.invoke((takesText ? { input } : input) as never, { signal: ctx?.signal })),
    timeoutMs,
  });
}

/** Makes one of our tools usable by LangChain agents and chains; past its `timeoutMs` a call throws. */
export function toLangChainTool(tool: Tool): StructuredTool {
  return langChainTool((input: unknown, config) => callInTime(tool, input, { signal: config.signal }), {
    name: tool.name,
    description: tool.description,
    schema: tool.schema,
  });
}
