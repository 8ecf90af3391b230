import { z } from "zod";
import { defineTool, type Tool } from "../../tools/tool.ts";

/** A tool that never answers, and keeps the signal its last call was given, to see it aborted. */
export function hangingTool(name: string, timeoutMs: number): { tool: Tool<string>; signal: () => AbortSignal | undefined } {
  let given: AbortSignal | undefined;
  const tool = defineTool({ name, description: "Never answers.", schema: z.string(), timeoutMs, call: (_text, ctx) => ((given = ctx?.signal), new Promise<string>(() => {})) });
  return { tool, signal: () => given };
}
