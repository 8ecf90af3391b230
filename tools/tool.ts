import { z } from "zod";
import { checkDeadline, deadlineSignal, untilAborted } from "../src/deadline.ts";
import { UserError } from "../src/errors.ts";
import { argumentForm, argumentNotes, inputShape, readArgument } from "./arguments.ts";

/** What a tool call needs besides its input: cancellation, for tools that can take long. */
export interface ToolContext {
  signal?: AbortSignal;
}

/** How long a call may take before the agent reads that the tool gave no answer; a tool may set its own `timeoutMs`. */
export const DEFAULT_TOOL_TIMEOUT_MS = 60_000;

/**
 * A tool the agent can call. Text actions `Name[argument]` reach it with the
 * argument as a string when its schema takes a string; object schemas also
 * take `Name[2, 3]` or `Name[a=2, b=3]`; any schema takes JSON.
 */
export interface Tool<Input = unknown> {
  name: string;
  /** What the tool does, for the agent's prompt: a sentence or two. */
  description: string;
  /** The input; `.describe()` on a string schema names its argument in the prompt (`Search[entity]`). */
  schema: z.ZodType<Input>;
  call(input: Input, ctx?: ToolContext): Promise<string>;
  /**
   * How long a call may take, default `DEFAULT_TOOL_TIMEOUT_MS`; `Infinity` for a tool that
   * bounds its own calls. Past it the call's signal is aborted and the agent reads an error.
   */
  timeoutMs?: number;
}

/** A name an action can call (`Name[...]`), as a regular expression's source: an ASCII letter, then ASCII letters, digits, `_` or `-`. */
export const ACTION_NAME = "[a-z][\\w-]*";
const TOOL_NAME = new RegExp(`^${ACTION_NAME}$`, "i");

/** Refuses a name the prompt would list but no action could call; `caller` and `hint` say where it came from. */
export function checkToolName(name: unknown, caller: string, hint = ""): void {
  if (typeof name !== "string" || !TOOL_NAME.test(name)) {
    throw new UserError(`${caller}: name ${JSON.stringify(name)} cannot be called as an action: an ASCII letter, then ASCII letters, digits, _ or -${hint}`);
  }
}

/** Builds a tool whose input type is derived from its schema. */
export function defineTool<Input>(tool: {
  name: string;
  description: string;
  schema: z.ZodType<Input>;
  call(input: Input, ctx?: ToolContext): Promise<string> | string;
  timeoutMs?: number;
}): Tool<Input> {
  // The tool's author's mistakes, said where the tool is made: the prompt would list a tool no action can call
  checkToolName(tool.name, "defineTool");
  // By shape: the user's project may hold its own copy of zod
  if (typeof (tool.schema as Partial<z.ZodType> | undefined)?.safeParse !== "function") throw new UserError(`defineTool: ${tool.name}'s schema is not a zod schema`);
  if (typeof tool.call !== "function") throw new UserError(`defineTool: ${tool.name}'s call is not a function`);
  if (tool.timeoutMs !== undefined) checkDeadline(tool.timeoutMs, `${tool.name}'s timeoutMs`);
  return { ...tool, call: async (input, ctx) => tool.call(input, ctx) };
}

/** How a prompt presents a tool: `Add[a, b]` and what it does. */
export interface ToolEntry {
  /** The action as written: `Search[entity]`, `Add[a, b]`. */
  form: string;
  description: string;
}

/** A tool's prompt entry, from its definition: name, schema and description. */
export function toolEntry(tool: Tool): ToolEntry {
  const shape = inputShape(tool.schema);
  const notes = argumentNotes(shape);
  return {
    form: `${tool.name}[${argumentForm(shape)}]`,
    description: notes ? `${tool.description} Arguments: ${notes}.` : tool.description,
  };
}

/**
 * Validates a text argument against a tool's schema and calls it. Bad input, and
 * the tool's own failure, become an observation for the agent to read, never an exception.
 */
export async function callWithText(tool: Tool, argument: string, ctx?: ToolContext): Promise<string> {
  const asString = tool.schema.safeParse(argument);
  if (asString.success) return answerOf(tool, asString.data, ctx);
  const shape = inputShape(tool.schema);
  const read = readArgument(shape, argument);
  const parsed = read.ok ? tool.schema.safeParse(read.input) : undefined;
  if (parsed?.success) return answerOf(tool, parsed.data, ctx);
  const reason = read.ok ? issueText(parsed!.error.issues[0]) : read.error;
  return `Invalid input for ${tool.name}: ${reason}. Write ${tool.name}[${argumentForm(shape)}]${shape.type === "object" ? " or a JSON object" : ""}.`;
}

/**
 * The tool's answer as text. A tool that throws (a flaky network, a bug of a tool from
 * JavaScript) or gives no answer in its time answers `Error in NAME: ...`, so that one
 * failing call ends no run; a call stopped by the caller's signal still throws.
 * A value other than text is shown as JSON; `undefined` (a JavaScript tool that
 * forgot its `return`), a function or a symbol as an error, not as a word.
 */
async function answerOf(tool: Tool, input: unknown, ctx?: ToolContext): Promise<string> {
  try {
    const answer: unknown = await callInTime(tool, input, ctx);
    // JSON has no undefined, function or symbol
    const text = typeof answer === "string" ? answer : (JSON.stringify(answer) as string | undefined);
    return text ?? `Error in ${tool.name}: the tool returned ${typeof answer}, not text.`;
  } catch (error) {
    ctx?.signal?.throwIfAborted();
    return `Error in ${tool.name}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Calls a tool within its `timeoutMs`: past it the call's signal is aborted and this throws
 * `no answer in N s.`; the caller's signal stops it at once, even when the tool does not read its signal.
 */
export async function callInTime(tool: Tool, input: unknown, ctx?: ToolContext): Promise<string> {
  const caller = ctx?.signal;
  caller?.throwIfAborted();
  const timeoutMs = tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const deadline = deadlineSignal(timeoutMs, caller);
  try {
    return await untilAborted(tool.call(input, { ...ctx, signal: deadline.signal }), deadline.signal);
  } catch (error) {
    caller?.throwIfAborted();
    throw deadline.signal.aborted ? new Error(`no answer in ${timeoutMs / 1000} s.`) : error;
  } finally {
    deadline.dispose();
  }
}

function issueText(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "bad input";
  return issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}
