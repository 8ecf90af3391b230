// A decoder's worker thread, run from the TypeScript sources: it registers tsx, then loads the
// worker (compiled into dist/, startWorker runs decoder-worker.js directly).
import { register } from "tsx/esm/api";

register();
await import("./decoder-worker.ts");
