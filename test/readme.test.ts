import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;

describe("README", () => {
  it("its API example runs as written", async () => {
    const readme = await readFile(`${root}README.md`, "utf8");
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toContain('from "react-rl"');
    // Inside the package, so `import ... from "react-rl"` resolves as it does for a user (to the sources, by their condition).
    await mkdir(`${root}runs`, { recursive: true });
    const file = `${root}runs/readme-example.ts`;
    await writeFile(file, snippet!);
    const { stdout } = await run(process.execPath, ["--conditions=react-rl-source", "--import", "tsx", file], { cwd: root });
    expect(stdout).toMatch(/^Search\[.+\] -> /m);
    expect(stdout).toMatch(/"halted": false|halted: false/);
  });
});
