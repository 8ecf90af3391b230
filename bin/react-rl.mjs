#!/usr/bin/env node
// Runs the compiled CLI in dist/. In a checkout whose sources changed since the last
// `npm run build`, or never built, it runs the TypeScript sources through tsx instead
// (slower to start), so that an edit never runs stale code.
import { existsSync, readFileSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);

/** Whether dist/ holds a build of the sources as they are: dist/.built lists them. */
function buildIsCurrent() {
  const stamp = new URL("dist/.built", root);
  if (!existsSync(stamp)) return false;
  // An installed package ships dist/ without the sources
  if (!existsSync(new URL("src/", root))) return true;
  const built = statSync(stamp).mtimeMs;
  const sources = JSON.parse(readFileSync(stamp, "utf8"));
  return sources.every((path) => (statSync(new URL(path, root), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) <= built);
}

async function loadCli() {
  if (buildIsCurrent()) return import("../dist/src/cli/main.js");
  const { register } = await import("tsx/esm/api");
  register();
  return import("../src/cli/main.ts");
}

const cli = await loadCli();
try {
  process.exitCode = await cli.main(process.argv.slice(2));
} catch (error) {
  // A bug, not a user mistake: say so briefly. (Node's default would print the
  // offending source line, which for the tfjs WASM glue is a whole minified file.)
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(`react-rl: unexpected error (please report it):\n${stack.split("\n").slice(0, 8).join("\n")}`);
  process.exitCode = 1;
}
// Dawn, once started, keeps Node running after the command is done
if (cli.dawnStarted()) process.exit();
