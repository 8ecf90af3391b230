// The Python interpreter's worker thread, run from the TypeScript sources: it registers tsx, then loads the
// worker (compiled into dist/, startWorker runs worker.js directly).
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
