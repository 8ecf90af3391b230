// A worker sealed as the Python interpreter's is, reporting what code inside it can still reach.
import { register } from "tsx/esm/api";

register();
const { createRequire } = await import("node:module");
const { parentPort } = await import("node:worker_threads");
const { sealWorker } = await import("../../tools/code/python/seal.ts");
// Taken before the seal, as Pyodide's glue takes its own.
const require = createRequire(import.meta.url);
sealWorker();
const attempt = (name, reach) => {
  try {
    return `${name}: reached ${typeof reach()}`;
  } catch (error) {
    return `${name}: refused (${error.message})`;
  }
};
parentPort.postMessage([
  `process: ${typeof globalThis.process}`,
  attempt("eval", () => eval("process")),
  attempt("indirect eval", () => (0, eval)("1")),
  attempt("require child_process", () => require("node:child_process")),
  attempt("require fs", () => require("fs")),
  attempt("function constructor", () => (() => {}).constructor("return 1")),
  attempt("async function constructor", () => (async () => {}).constructor("return 1")),
]);
