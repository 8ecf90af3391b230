export { CodeInterpreter, CodeSession, sharedInterpreter, type RunOptions } from "./interpreter.ts";
export { CodeLimitsSchema, type CallLimits, type CodeLimits } from "./limits.ts";
export type { CodeResult } from "./sandbox.ts";
export { codeObservation, codeTool, langChainCodeTool, type CodeToolOptions } from "./tool.ts";
