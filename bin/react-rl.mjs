#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx compiles on load, so `npm ci` is the only install step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A bug, not a user mistake: say so briefly. (Node's default would print the
  // offending source line, which for the tfjs WASM glue is a whole minified file.)
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(`react-rl: unexpected error (please report it):\n${stack.split("\n").slice(0, 8).join("\n")}`);
  process.exitCode = 1;
}
