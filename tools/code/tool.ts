import type { StructuredTool } from "@langchain/core/tools";
import { z } from "zod";
import { toLangChainTool } from "../langchain-tools.ts";
import { defineTool, type Tool } from "../tool.ts";
import { sharedInterpreter, type CodeInterpreter, type CodeSession } from "./interpreter.ts";
import type { CallLimits, PythonCallLimits } from "./limits.ts";
import { sharedPythonInterpreter, type PythonInterpreter } from "./python/interpreter.ts";
import type { CodeResult } from "./result.ts";

export interface CodeToolOptions {
  /** Where programs run; default the process-wide interpreter. */
  interpreter?: CodeInterpreter;
  /** Run every call in this session, so definitions carry over; default a fresh context per call. */
  session?: CodeSession;
  limits?: Partial<CallLimits>;
}

/** The interpreters stop a program at its limits' `timeoutMs` (up to 10 minutes), so the tools set no time of their own. */
const BOUNDED_BY_LIMITS = Number.POSITIVE_INFINITY;

const DESCRIPTION =
  "Runs a JavaScript program in a sandbox and returns what it printed with console.log and the value of its last expression. " +
  "The sandbox has the language's built-ins only: no files, network, modules or timers.";

/** `Code[program]`: the agent's calculator and scratchpad. */
export function codeTool(options: CodeToolOptions = {}): Tool<string> {
  const run = runner(options);
  return defineTool({
    name: "Code",
    description: DESCRIPTION,
    schema: z.string().describe("program"),
    call: async (program, ctx) => codeObservation(await run(program, ctx?.signal)),
    timeoutMs: BOUNDED_BY_LIMITS,
  });
}

/** The same tool for LangChain agents, whose tool calls take a JSON object: `{ "code": "..." }`. */
export function langChainCodeTool(options: CodeToolOptions = {}): StructuredTool {
  const run = runner(options);
  return toLangChainTool(
    defineTool({
      name: "code",
      description: `Code interpreter. ${DESCRIPTION}`,
      schema: z.object({ code: z.string().describe("the JavaScript program to run") }),
      call: async ({ code }, ctx) => codeObservation(await run(code, ctx?.signal)),
      timeoutMs: BOUNDED_BY_LIMITS,
    }),
  );
}

export interface PythonToolOptions {
  /** Where programs run; default the process-wide Python interpreter. */
  interpreter?: PythonInterpreter;
  limits?: Partial<PythonCallLimits>;
}

/** `Python[program]`: a separate tool, so prompts and environments opt in to Python. */
export function pythonTool({ interpreter, limits }: PythonToolOptions = {}): Tool<string> {
  return defineTool({
    name: "Python",
    description:
      "Runs a Python program (standard library only) and returns what it printed and the value of its last expression. " +
      "No files of the host, network or packages.",
    schema: z.string().describe("program"),
    call: async (program, ctx) => {
      const result = await (interpreter ?? sharedPythonInterpreter()).run(program, { limits, signal: ctx?.signal });
      return codeObservation(result, "None");
    },
    timeoutMs: BOUNDED_BY_LIMITS,
  });
}

/**
 * What the agent reads: `Output:` (when anything was printed), then `Result: ...` or `Error: ...`.
 * `emptyValue` is what a program ending in a statement gives: `undefined` in JavaScript, `None` in Python.
 */
export function codeObservation(result: CodeResult, emptyValue = "undefined"): string {
  const output = result.output.trimEnd();
  const printed = output === "" ? "" : `Output:\n${output}\n`;
  if (result.status !== "ok") return `${printed}Error: ${result.error}`;
  // A program that printed and ends in a statement (console.log, print) has nothing more to say.
  if (printed !== "" && result.value === emptyValue) return printed.trimEnd();
  return `${printed}Result: ${result.value}`;
}

function runner({ interpreter, session, limits }: CodeToolOptions) {
  return (program: string, signal?: AbortSignal) =>
    (session ?? interpreter ?? sharedInterpreter()).run(program, { limits, signal });
}
