import { z } from "zod";

/** What a tool call needs besides its input: cancellation, for tools that can take long. */
export interface ToolContext {
  signal?: AbortSignal;
}

/**
 * A tool the agent can call. Text actions `Name[argument]` reach it with the
 * argument as a string when its schema takes a string, else parsed as JSON.
 */
export interface Tool<Input = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<Input>;
  call(input: Input, ctx?: ToolContext): Promise<string>;
}

/** Builds a tool whose input type is derived from its schema. */
export function defineTool<Input>(tool: {
  name: string;
  description: string;
  schema: z.ZodType<Input>;
  call(input: Input, ctx?: ToolContext): Promise<string> | string;
}): Tool<Input> {
  return { ...tool, call: async (input, ctx) => tool.call(input, ctx) };
}

/**
 * Validates a text argument against a tool's schema and calls it. Bad input
 * becomes an observation for the agent to read, never an exception.
 */
export async function callWithText(tool: Tool, argument: string, ctx?: ToolContext): Promise<string> {
  const asString = tool.schema.safeParse(argument);
  if (asString.success) return tool.call(asString.data, ctx);
  let json: unknown;
  try {
    json = JSON.parse(argument);
  } catch {
    return `Invalid input for ${tool.name}: ${asString.error.issues[0]?.message ?? "expected JSON"}`;
  }
  const parsed = tool.schema.safeParse(json);
  if (!parsed.success) return `Invalid input for ${tool.name}: ${parsed.error.issues[0]?.message ?? "bad input"}`;
  return tool.call(parsed.data, ctx);
}
