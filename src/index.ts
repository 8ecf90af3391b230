// The public API of react-rl: what `import ... from "react-rl"` offers.
export * from "./agent/index.ts";
export * from "./policies/index.ts";
export * from "./bench/index.ts";
export { UserError } from "./errors.ts";
export { defineTool, callWithText, type Tool, type ToolContext } from "../tools/tool.ts";
export { invalidAction, type Action, type AnswerScores, type Environment, type StepResult, type Task } from "../tools/environment.ts";
export { fromLangChainTool, toLangChainTool } from "../tools/langchain.ts";
export * from "../tools/wiki/index.ts";
export * from "../trajectories/index.ts";
export { loadPrompt, parsePromptFile, type PromptTemplate } from "../prompts/index.ts";
