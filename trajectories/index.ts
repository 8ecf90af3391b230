export * from "./schema.ts";
export * from "./store.ts";
export * from "./stats.ts";
export * from "./export/index.ts";
export * from "./transcript.ts";
