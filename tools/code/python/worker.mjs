// The Python interpreter's worker thread. Like bin/react-rl.mjs it compiles TypeScript on load,
// so the worker works the same under the CLI, tests and scripts.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
