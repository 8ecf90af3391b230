import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { testedBlocks } from "./helpers/doc-blocks.ts";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
const files = ["README.md", ...(await readdir(`${root}docs`)).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
const blocks = (
  await Promise.all(files.map(async (file) => testedBlocks(await readFile(`${root}${file}`, "utf8"), file).map((block) => ({ file, ...block }))))
).flat();

describe("docs: each ```ts tested block prints the ```text block after it", () => {
  it("finds the tested blocks", () => {
    expect(blocks.map((block) => block.file)).toEqual(expect.arrayContaining(["docs/tools.md", "docs/trajectories.md", "docs/memory.md"]));
  });

  it.each(blocks)("$file:$line", async ({ file, line, code, output }) => {
    // Inside the package, so `import ... from "react-rl"` resolves as it does for a user.
    await mkdir(`${root}runs`, { recursive: true });
    const script = `${root}runs/${file.replace(/\W/g, "-")}-${line}.ts`;
    await writeFile(script, code);
    const { stdout } = await run(process.execPath, ["--import", "tsx", script], { cwd: root });
    expect(stdout.trim()).toBe(output);
  });
});
