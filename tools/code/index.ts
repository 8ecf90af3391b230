export { CodeInterpreter, CodeSession, sharedInterpreter, type RunOptions } from "./interpreter.ts";
export {
  CodeLimitsSchema,
  PythonLimitsSchema,
  type CallLimits,
  type CodeLimits,
  type PythonCallLimits,
  type PythonLimits,
} from "./limits.ts";
export { PythonInterpreter, sharedPythonInterpreter, type PythonRunOptions } from "./python/interpreter.ts";
export type { CodeResult } from "./result.ts";
export { codeObservation, codeTool, langChainCodeTool, pythonTool, type CodeToolOptions, type PythonToolOptions } from "./tool.ts";
