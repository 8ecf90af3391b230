export * from "./tool.ts";
export * from "./environment.ts";
export * from "./langchain-tools.ts";
export * from "./wiki/index.ts";
export * from "./code/index.ts";
