// A training worker thread, run from the TypeScript sources: it registers tsx, then loads the
// worker (compiled into dist/, startWorker runs training-worker.js directly).
import { register } from "tsx/esm/api";

register();
await import("./training-worker.ts");
