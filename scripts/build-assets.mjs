// The second half of `npm run build`, after tsc: copies the files that compiled modules read
// beside themselves into dist/, then writes dist/.built, the list of the build's sources, by
// which bin/react-rl.mjs tells a current build from a stale one. (Prompts are not copied:
// the bundled ones are read from the package's own prompts/ folder.)
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const ASSETS = ["tools/code/python/sandbox.py", "src/lm/kernels/kernels.wasm"];

for (const source of ASSETS) {
  const target = join("dist", source);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
}
const { include } = JSON.parse(readFileSync("tsconfig.build.json", "utf8"));
const compiled = include.flatMap((folder) => readdirSync(folder, { recursive: true }).filter((file) => file.endsWith(".ts") && !file.endsWith(".as.ts")).map((file) => join(folder, file)));
writeFileSync("dist/.built", `${JSON.stringify([...compiled, ...ASSETS].sort(), null, 1)}\n`);
