// The public API of react-rl: what `import ... from "react-rl"` offers.
export * from "./agent/index.ts";
export * from "./policies/index.ts";
export * from "./planner/index.ts";
export * from "./bench/index.ts";
export * from "./suites/index.ts";
export * from "./world/index.ts";
export * from "./train/index.ts";
export * from "./lm/index.ts";
export { PolicyError, UserError } from "./errors.ts";
export * from "../tools/index.ts";
export * from "../memory/index.ts";
export * from "../trajectories/index.ts";
export * from "../prompts/index.ts";
export * from "./serve/index.ts";
export * from "./report/index.ts";
