#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx compiles on load, so `npm ci` is the only install step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
