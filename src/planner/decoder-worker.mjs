// A decoder's worker thread. Like bin/react-rl.mjs it compiles TypeScript on load.
import { register } from "tsx/esm/api";

register();
await import("./decoder-worker.ts");
