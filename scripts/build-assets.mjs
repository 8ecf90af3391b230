// The second half of `npm run build`, after tsc: copies the files that modules read next to
// themselves (prompt texts, the Python sandbox) beside their compiled modules in dist/, then
// stamps dist/.built, by which bin/react-rl.mjs tells a current build from a stale one.
// The .mjs files stay behind: they only load TypeScript workers through tsx.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";

const { include } = JSON.parse(readFileSync("tsconfig.build.json", "utf8"));
for (const folder of include) {
  for (const file of readdirSync(folder, { recursive: true })) {
    const source = join(folder, file);
    if ([".ts", ".mjs"].includes(extname(source)) || statSync(source).isDirectory()) continue;
    const target = join("dist", source);
    // An unchanged file is left alone: a CLI running from dist/ meanwhile never reads half a copy
    if (readFileSync(source).equals(readIfPresent(target))) continue;
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
  }
}
writeFileSync("dist/.built", `${new Date().toISOString()}\n`);

function readIfPresent(path) {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}
